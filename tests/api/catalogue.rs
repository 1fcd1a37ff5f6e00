//! Admin catalogue, public concert list, and the gated schedule list and seat map.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn admin_calls_need_the_admin_token() {
    let app = spawn().await;
    let body = json!({"title": "T", "performer": "P"});
    let r = app.post("admin/concerts", None, None, body.clone()).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    let user = app.user().await;
    let r = app
        .post("admin/concerts", Some(&user), None, body.clone())
        .await;
    assert_eq!((r.status, r.code()), (403, "FORBIDDEN"));
    assert_eq!(
        app.get("concerts", None, None).await.body["items"],
        json!([]),
        "nothing was created"
    );
}

#[tokio::test]
async fn concerts_are_created_listed_and_shown() {
    let app = spawn().await;
    let r = app
        .admin_post(
            "admin/concerts",
            json!({"title": "Winter", "performer": "Aurora"}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["venue"], json!(null));
    let id = r.str("id");
    let list = app.get("concerts", None, None).await;
    assert_eq!(list.body["items"][0]["id"], json!(id));
    let one = app.get(&format!("concerts/{id}"), None, None).await;
    assert_eq!(one.body["title"], "Winter");
    assert!(one.body["createdAt"].as_str().unwrap().ends_with('Z'));
    let r = app
        .get(&format!("concerts/{}", uuid::Uuid::now_v7()), None, None)
        .await;
    assert_eq!((r.status, r.code()), (404, "CONCERT_NOT_FOUND"));
    for bad in [
        json!({"title": "", "performer": "p"}),
        json!({"title": "t"}),
        json!({"title": "t", "performer": "p", "venue": 3}),
    ] {
        let r = app.admin_post("admin/concerts", bad.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{bad}");
    }
}

#[tokio::test]
async fn schedules_are_validated_and_create_their_seats() {
    let app = spawn().await;
    let concert = app.concert().await;
    let path = format!("admin/concerts/{concert}/schedules");
    for bad in [
        schedule_body(10, 0, -10, 100),    // price 0
        schedule_body(10, -5, -10, 100),   // negative price
        schedule_body(0, 10, -10, 100),    // no seats
        schedule_body(2001, 10, -10, 100), // too many seats
        schedule_body(10, 10, 100, -10),   // opens after it closes
    ] {
        let r = app.admin_post(&path, bad.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{bad}");
    }
    let mut after_start = schedule_body(10, 10, -10, 100);
    after_start["startsAt"] = json!(chrono::Utc::now().to_rfc3339());
    assert_eq!(app.admin_post(&path, after_start).await.status, 422);
    let r = app
        .admin_post(
            &format!("admin/concerts/{}/schedules", uuid::Uuid::now_v7()),
            schedule_body(10, 10, -10, 100),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "CONCERT_NOT_FOUND"));

    let mut default_seats = schedule_body(1, 15_000, -10, 100);
    default_seats.as_object_mut().unwrap().remove("seatCount");
    let r = app.admin_post(&path, default_seats).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(
        (
            r.body["seatCount"].clone(),
            r.body["availableSeats"].clone()
        ),
        (json!(50), json!(50))
    );
    assert_eq!(r.body["bookable"], true);

    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let seats = app
        .get(
            &format!("schedules/{}/seats", r.str("id")),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!(seats.status, 200);
    let seats = seats.body["seats"].as_array().unwrap().clone();
    assert_eq!(seats.len(), 50);
    assert_eq!(
        seats[0],
        json!({"number": 1, "label": "MAIN-1-1", "price": 15_000, "status": "AVAILABLE"})
    );
    assert_eq!(seats[49]["number"], 50);
}

#[tokio::test]
async fn schedule_list_is_gated_sorted_and_shows_bookability() {
    let app = spawn().await;
    let concert = app.concert().await;
    let path = format!("admin/concerts/{concert}/schedules");
    let later = app
        .admin_post(&path, schedule_body(5, 100, -10, 7200))
        .await
        .str("id");
    let closed = app
        .admin_post(&path, schedule_body(5, 100, 600, 3600))
        .await
        .str("id");
    let user = app.user().await;
    let list_path = format!("concerts/{concert}/schedules");

    let r = app.get(&list_path, Some(&user), None).await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_REQUIRED"));
    let r = app.get(&list_path, Some(&user), Some("forged-token")).await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_INVALID"));

    let token = app.admitted(&user, &concert).await;
    let r = app.get(&list_path, None, Some(&token)).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    let r = app.get(&list_path, Some(&user), Some(&token)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], json!(closed), "sorted by startsAt");
    assert_eq!(items[0]["bookable"], false, "window not open yet");
    assert_eq!(items[1]["id"], json!(later));
    assert_eq!(items[1]["bookable"], true);
    assert_eq!(items[1]["availableSeats"], 5);

    // The same token is refused for another concert and for another user.
    let other = app.concert().await;
    let r = app
        .get(
            &format!("concerts/{other}/schedules"),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_TOKEN_MISMATCH"));
    let stranger = app.user().await;
    let r = app.get(&list_path, Some(&stranger), Some(&token)).await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_TOKEN_MISMATCH"));
    let r = app
        .get(
            &format!("concerts/{}/schedules", uuid::Uuid::now_v7()),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "CONCERT_NOT_FOUND"));
    let r = app
        .get(
            &format!("schedules/{}/seats", uuid::Uuid::now_v7()),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "SCHEDULE_NOT_FOUND"));
}

#[tokio::test]
async fn a_waiting_ticket_does_not_open_the_gate() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 100).await;
    let first = app.user().await;
    app.admitted(&first, &concert).await;
    let second = app.user().await;
    let waiting = app.join(&second, &concert).await;
    assert_eq!(waiting.body["status"], "WAITING");
    let token = waiting.str("token");
    let r = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&second),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_NOT_ACTIVE"));
    let r = app
        .get(
            &format!("schedules/{schedule}/seats"),
            Some(&second),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_NOT_ACTIVE"));
    let r = app.hold(&second, &token, &schedule, 1).await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_NOT_ACTIVE"));
}

#[tokio::test]
async fn a_sold_out_schedule_is_not_bookable_and_started_ones_are_hidden() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 1, 100).await;
    let mut started = schedule_body(5, 100, -7200, -3600);
    started["startsAt"] = json!((chrono::Utc::now() - chrono::Duration::seconds(60)).to_rfc3339());
    assert_eq!(
        app.admin_post(&format!("admin/concerts/{concert}/schedules"), started)
            .await
            .status,
        201
    );
    let user = app.user().await;
    app.charge(&user, 100).await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let list = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&user),
            Some(&token),
        )
        .await;
    let items = list.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 1, "a schedule that has started is not listed");
    assert_eq!(
        (
            items[0]["availableSeats"].clone(),
            items[0]["bookable"].clone()
        ),
        (json!(0), json!(false))
    );
    assert_eq!(app.pay(&user, &rid, None).await.status, 201);
}

#[tokio::test]
async fn control_characters_are_refused_not_stored() {
    let app = spawn().await;
    let r = app
        .post("users", None, None, json!({"name": "a\u{0}b"}))
        .await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    let r = app
        .admin_post(
            "admin/concerts",
            json!({"title": "x\u{0}", "performer": "p"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    assert_eq!(
        app.get("concerts", None, None).await.body["items"],
        json!([])
    );
}

#[tokio::test]
async fn another_users_key_cannot_use_a_ticket_for_holds_or_seats() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 100).await;
    let owner = app.user().await;
    let token = app.admitted(&owner, &concert).await;
    let thief = app.user().await;
    let r = app.hold(&thief, &token, &schedule, 1).await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_TOKEN_MISMATCH"));
    let r = app
        .get(
            &format!("schedules/{schedule}/seats"),
            Some(&thief),
            Some(&token),
        )
        .await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_TOKEN_MISMATCH"));
}
