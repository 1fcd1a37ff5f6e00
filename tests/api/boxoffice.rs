//! The box office's API: every concert and schedule listed, texts and times edited (and shown
//! on reservations at once), the sales per schedule and grade, and what a reservation shows.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_reservation_shows_title_venue_start_and_booking_reference() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 1_000).await;
    let fan = app.user().await;
    app.charge(&fan, 10_000).await;
    let rid = app.bought(&fan, &concert, &schedule, 2).await;
    let starts = app
        .admin_get(&format!("admin/schedules/{schedule}"))
        .await
        .body["startsAt"]
        .clone();
    assert!(starts.is_string());
    for r in [
        app.get(&format!("reservations/{rid}"), Some(&fan), None)
            .await
            .body,
        app.get("reservations", Some(&fan), None).await.body["items"][0].clone(),
    ] {
        assert_eq!(r["title"], "Show", "{r}");
        assert_eq!(r["venue"], "Hall", "{r}");
        assert_eq!(r["startsAt"], starts, "{r}");
        let reference = r["bookingRef"].as_str().unwrap();
        assert!(
            reference.len() == 13
                && reference.starts_with("ENC-")
                && reference.as_bytes()[8] == b'-'
                && reference[4..]
                    .chars()
                    .all(|c| c == '-' || c.is_ascii_digit() || c.is_ascii_uppercase()),
            "{reference}"
        );
    }
    // A concert's new title shows on its reservations.
    let edited = app
        .admin_patch(
            &format!("admin/concerts/{concert}"),
            json!({"title": "Show (extra date)", "venue": null}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);
    assert_eq!(edited.body["title"], "Show (extra date)");
    assert_eq!(edited.body["performer"], "Band");
    let r = app
        .get(&format!("reservations/{rid}"), Some(&fan), None)
        .await;
    assert_eq!(r.body["title"], "Show (extra date)");
    assert!(r.body["venue"].is_null(), "{}", r.body);
}

#[tokio::test]
async fn bad_concert_edits_change_nothing() {
    let app = spawn().await;
    let concert = app.concert().await;
    for body in [
        json!({"title": " "}),
        json!({"performer": "x".repeat(201)}),
        json!({"title": "Fine", "venue": "bad\u{7}"}),
        json!({"title": "Fine", "unknown": 1}),
    ] {
        let r = app
            .admin_patch(&format!("admin/concerts/{concert}"), body.clone())
            .await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    let c = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(c.body["title"], "Show");
    assert_eq!(c.body["venue"], "Hall");
}

#[tokio::test]
async fn every_concert_and_schedule_is_listed_for_the_box_office() {
    let app = spawn().await;
    let first = app.concert().await;
    let second = app.concert().await;
    let list = app.admin_get("admin/concerts").await;
    assert_eq!(list.status, 200);
    let ids: Vec<_> = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, [second.clone(), first.clone()], "newest first");
    let fan = app.user().await;
    assert_eq!(
        app.get("admin/concerts", Some(&fan), None).await.status,
        403
    );

    let kept = app.schedule(&first, 3, 100).await;
    let called_off = app.schedule(&first, 3, 100).await;
    let r = app
        .admin_post(&format!("admin/schedules/{called_off}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 202);
    let all = app
        .admin_get(&format!("admin/concerts/{first}/schedules"))
        .await;
    assert_eq!(all.status, 200, "{}", all.body);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let status = |id: &str| {
        items.iter().find(|s| s["id"] == id).unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(status(&kept), "SCHEDULED");
    assert_eq!(status(&called_off), "CANCELLED");
    assert_eq!(items[0]["refunds"]["total"], 0);
}

#[tokio::test]
async fn a_schedule_moves_within_the_rules_of_creation() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 3, 100).await;
    let path = format!("admin/schedules/{schedule}");
    let before = app.admin_get(&path).await.body;
    let later = (chrono::Utc::now() + chrono::Duration::days(30)).to_rfc3339();
    let moved = app.admin_patch(&path, json!({"startsAt": later})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    let fan = app.user().await;
    let token = app.admitted(&fan, &concert).await;
    let shown = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&fan),
            Some(&token),
        )
        .await;
    assert_eq!(
        shown.body["items"][0]["startsAt"], moved.body["startsAt"],
        "the public list shows the new start"
    );

    let past = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339();
    for body in [
        json!({"startsAt": past}),
        json!({"bookingOpensAt": later}),
        json!({"startsAt": "tomorrow"}),
        json!({"startsAt": later, "seatCount": 4}),
    ] {
        let r = app.admin_patch(&path, body.clone()).await;
        assert_eq!(r.status, 422, "{body}: {}", r.body);
    }
    assert_eq!(
        app.admin_get(&path).await.body["startsAt"],
        moved.body["startsAt"]
    );

    app.admin_post(&format!("{path}/cancel"), json!({})).await;
    let r = app.admin_patch(&path, json!({"startsAt": later})).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.code(), "SCHEDULE_CANCELLED");
    assert_ne!(before["startsAt"], moved.body["startsAt"]);
    let missing = app
        .admin_patch(
            "admin/schedules/01000000-0000-7000-8000-000000000000",
            json!({"startsAt": later}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn sales_count_sold_and_held_places_revenue_and_check_ins_per_grade() {
    let app = spawn().await;
    let concert = app.concert().await;
    let plan = json!({
        "grades": [{"code": "R", "name": "R", "price": 3000}, {"code": "S", "name": "S", "price": 1000}],
        "sections": [
            {"code": "A", "name": "A", "grade": "R", "rows": [{"row": "1", "seats": 4}]},
            {"code": "B", "name": "B", "grade": "S", "rows": [{"row": "1", "seats": 6}]}
        ]
    });
    let mut body = schedule_body(1, 1, -3600, 86_400);
    body.as_object_mut().unwrap().remove("seatCount");
    body.as_object_mut().unwrap().remove("price");
    body["plan"] = plan;
    let r = app
        .admin_post(&format!("admin/concerts/{concert}/schedules"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let schedule = r.str("id");

    let buyer = app.user().await;
    app.charge(&buyer, 100_000).await;
    let rid = app.bought(&buyer, &concert, &schedule, 1).await;
    app.bought(&buyer, &concert, &schedule, 5).await;
    let holder = app.user().await;
    let token = app.admitted(&holder, &concert).await;
    assert_eq!(app.hold(&holder, &token, &schedule, 6).await.status, 201);

    let code = app.tickets(&buyer, &rid).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.scan(ADMIN, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let sales = app
        .admin_get(&format!("admin/concerts/{concert}/sales"))
        .await;
    assert_eq!(sales.status, 200, "{}", sales.body);
    let s = &sales.body["schedules"][0];
    assert_eq!(sales.body["sold"], 2, "{}", sales.body);
    assert_eq!(sales.body["revenue"], 4000);
    assert_eq!(s["places"], 10);
    assert_eq!(s["sold"], 2);
    assert_eq!(s["held"], 1);
    assert_eq!(s["available"], 7);
    assert_eq!(s["revenue"], 4000);
    assert_eq!(s["checkedIn"], 1);
    assert_eq!(s["grades"][0]["code"], "R");
    assert_eq!(s["grades"][0]["sold"], 1);
    assert_eq!(s["grades"][0]["places"], 4);
    assert_eq!(s["grades"][0]["revenue"], 3000);
    assert_eq!(s["grades"][1]["sold"], 1);
    assert_eq!(s["grades"][1]["held"], 1);
    assert_eq!(s["grades"][1]["revenue"], 1000);
}

#[tokio::test]
async fn a_refund_quote_is_what_the_refund_then_gives() {
    let app = spawn().await;
    let r = app
        .admin_post(
            "admin/concerts",
            json!({"title": "Show", "performer": "Band",
                   "refundPolicy": [{"untilHoursBefore": 1, "feePercent": 15}]}),
        )
        .await;
    let concert = r.str("id");
    let schedule = app.schedule(&concert, 3, 999).await;
    let fan = app.user().await;
    app.charge(&fan, 10_000).await;
    let path = |rid: &str| format!("reservations/{rid}/refund");
    let token = app.admitted(&fan, &concert).await;
    let hold = app.hold(&fan, &token, &schedule, 1).await;
    let rid = hold.str("id");
    let early = app.get(&path(&rid), Some(&fan), None).await;
    assert_eq!(early.status, 409);
    assert_eq!(early.code(), "RESERVATION_NOT_CONFIRMED");
    assert_eq!(app.pay(&fan, &rid, None).await.status, 201);
    let quote = app.get(&path(&rid), Some(&fan), None).await;
    assert_eq!(quote.status, 200, "{}", quote.body);
    assert_eq!(quote.body["price"], 999);
    assert_eq!(quote.body["fee"], 149);
    assert_eq!(quote.body["amount"], 850);
    assert_eq!(quote.body["feePercent"], 15);
    let other = app.user().await;
    assert_eq!(app.get(&path(&rid), Some(&other), None).await.status, 404);
    let refunded = app.post(&path(&rid), Some(&fan), None, json!({})).await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    assert_eq!(refunded.body["refund"]["fee"], quote.body["fee"]);
    assert_eq!(refunded.body["refund"]["amount"], quote.body["amount"]);
    assert_eq!(app.get(&path(&rid), Some(&fan), None).await.status, 409);
}
