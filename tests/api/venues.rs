//! Venues: seating plans, the seat map, orders of several places and the per-fan cap.

use std::io::Read;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::common::*;

/// A small arena: two seated sections of two grades and a standing floor.
fn arena(standing: u32) -> Value {
    json!({
        "grades": [{"code": "VIP", "name": "VIP석", "price": 198000},
                   {"code": "R", "name": "R석", "price": 154000}],
        "sections": [
            {"code": "A", "name": "Floor A", "grade": "VIP",
             "rows": [{"row": "1", "seats": 4}, {"row": "2", "seats": 6}]},
            {"code": "GA", "name": "Standing", "grade": "R", "standing": standing},
            {"code": "B", "name": "Tier B", "grade": "R",
             "rows": [{"row": "1", "seats": 10}]}]
    })
}

impl TestApp {
    /// A schedule of `plan` whose booking window is open now.
    pub async fn plan_schedule(&self, concert: &str, plan: Value) -> Resp {
        let mut body = schedule_body(1, 1, -3600, 86_400);
        let b = body.as_object_mut().unwrap();
        b.remove("seatCount");
        b.remove("price");
        b.insert("plan".into(), plan);
        self.admin_post(&format!("admin/concerts/{concert}/schedules"), body)
            .await
    }

    /// `POST /reservations` of the order `body` (seats, or a section or grade and a quantity)
    /// on `schedule`.
    pub async fn order(&self, user: &User, token: &str, schedule: &str, mut body: Value) -> Resp {
        body["scheduleId"] = json!(schedule);
        self.post("reservations", Some(user), Some(token), body)
            .await
    }

    pub async fn seatmap(&self, user: &User, token: &str, schedule: &str) -> Resp {
        self.get(
            &format!("schedules/{schedule}/seatmap"),
            Some(user),
            Some(token),
        )
        .await
    }
}

fn labels(r: &Resp) -> Vec<String> {
    r.body["seats"]
        .as_array()
        .unwrap_or_else(|| panic!("no seats in {}", r.body))
        .iter()
        .map(|s| s["label"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_plan_makes_a_schedule_of_grades_sections_and_standing_places() {
    let app = spawn().await;
    let concert = app.concert().await;
    let r = app.plan_schedule(&concert, arena(100)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["seatCount"], 120);
    assert_eq!(r.body["availableSeats"], 120);
    assert_eq!(r.body["price"], 154000, "the lowest grade price");
    assert_eq!(
        r.body["grades"],
        json!([{"code": "VIP", "name": "VIP석", "price": 198000, "available": 10},
               {"code": "R", "name": "R석", "price": 154000, "available": 110}])
    );
    let schedule = r.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let seats = app
        .get(
            &format!("schedules/{schedule}/seats"),
            Some(&fan),
            Some(&token),
        )
        .await;
    let seats = seats.body["seats"].as_array().unwrap().clone();
    assert_eq!(seats.len(), 20, "standing places are not seats");
    assert_eq!(seats[4]["label"], "A-2-1");
    assert_eq!(seats[19]["label"], "B-1-10");
    assert_eq!(seats[19]["price"], 154000);
    // A part-1 schedule is one grade and one section, of up to 2,000 seats in its one row.
    app.schedule(&concert, 2000, 5000).await;
    let simple = app.schedule(&concert, 3, 5000).await;
    let list = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&fan),
            Some(&token),
        )
        .await;
    let simple = list.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == simple.as_str())
        .unwrap()
        .clone();
    assert_eq!(
        simple["grades"],
        json!([{"code": "GENERAL", "name": "General", "price": 5000, "available": 3}])
    );
}

#[tokio::test]
async fn bad_plans_are_422s_that_name_the_field() {
    let app = spawn().await;
    let concert = app.concert().await;
    let both = json!({"code": "GA", "name": "x", "grade": "R", "standing": 1,
                      "rows": [{"row": "1", "seats": 1}]});
    for (at, value, field) in [
        ("/sections/2/grade", json!("S"), "plan.sections[2].grade"),
        ("/grades/1/code", json!("VIP"), "plan.grades[1].code"),
        ("/grades/0/price", json!(0), "plan.grades[0].price"),
        ("/sections/0/code", json!("A A"), "plan.sections[0].code"),
        ("/sections/1/standing", json!(70_000), "plan.sections"),
        ("/sections/1", both, "plan.sections[1]"),
        (
            "/sections/0/rows/0/seats",
            json!(0),
            "plan.sections[0].rows[0].seats",
        ),
    ] {
        let mut plan = arena(100);
        *plan.pointer_mut(at).unwrap() = value;
        let r = app.plan_schedule(&concert, plan).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{field}");
        assert!(r.str("detail").starts_with(field), "{field}: {}", r.body);
    }
    // A plan and a price at once, and a malformed plan.
    let mut both = schedule_body(10, 1000, -3600, 86_400);
    both["plan"] = arena(10);
    let r = app
        .admin_post(&format!("admin/concerts/{concert}/schedules"), both)
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let r = app.plan_schedule(&concert, json!({"grades": "VIP"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
}

#[tokio::test]
async fn a_stadium_of_seventy_thousand_places_fits_in_its_compressed_map() {
    let app = spawn().await;
    let concert = app.concert().await;
    let rows: Vec<Value> = (1..=67)
        .map(|r| json!({"row": r.to_string(), "seats": 1000}))
        .collect();
    let mut plan = json!({
        "grades": [{"code": "R", "name": "R", "price": 99000}],
        "sections": [{"code": "S", "name": "Stands", "grade": "R", "rows": rows},
                     {"code": "GA", "name": "Floor", "grade": "R", "standing": 3000}]
    });
    let r = app.plan_schedule(&concert, plan.clone()).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["seatCount"], 70_000);
    plan["sections"][1]["standing"] = json!(3001);
    let r = app.plan_schedule(&concert, plan).await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));

    let schedule = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(schedule.status, 200);
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let list = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&fan),
            Some(&token),
        )
        .await;
    let id = list.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = with(
        app.req(reqwest::Method::GET, &format!("schedules/{id}/seatmap")),
        Some(&fan),
        Some(&token),
    )
    .header("accept-encoding", "gzip")
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz = r.bytes().await.unwrap();
    assert!(gz.len() <= 150_000, "{} bytes on the wire", gz.len());
    let mut json = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut json)
        .unwrap();
    let map: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(map["places"], 70_000);
    assert_eq!(map["sections"][0]["status"].as_str().unwrap().len(), 67_000);
    assert_eq!(map["sections"][1]["available"], 3000);
}

#[tokio::test]
async fn the_seat_map_shows_holds_and_answers_304_while_nothing_changed() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(5)).await.str("id");
    let fans = app.admitted_fans(&concert, 2).await;
    let (fan, token) = &fans[0];
    let map = app.seatmap(fan, token, &schedule).await;
    assert_eq!(map.status, 200, "{}", map.body);
    assert_eq!(map.body["sections"][0]["status"], "AAAAAAAAAA");
    assert_eq!(
        map.body["sections"][0]["rows"][1],
        json!({"row": "2", "seats": 6, "first": 5})
    );
    assert_eq!(
        map.body["sections"][1],
        json!({"code": "GA", "name": "Standing", "grade": "R", "available": 5, "standing": 5})
    );
    let etag = map.headers["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", map.str("version")));
    let again = with(
        app.req(
            reqwest::Method::GET,
            &format!("schedules/{schedule}/seatmap"),
        ),
        Some(fan),
        Some(token),
    )
    .header("if-none-match", &etag);
    assert_eq!(app.send(again).await.status, 304);

    let (other, other_token) = &fans[1];
    let r = app
        .order(
            other,
            other_token,
            &schedule,
            json!({"seats": ["A-1-2", "A-2-1"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let map = app.seatmap(fan, token, &schedule).await;
    assert_ne!(
        map.headers["etag"].to_str().unwrap(),
        etag,
        "the version changed"
    );
    assert_eq!(map.body["sections"][0]["status"], "AHAAHAAAAA");
    assert_eq!(map.body["grades"][0]["available"], 8);
}

#[tokio::test]
async fn an_order_of_named_seats_is_held_paid_and_freed_as_one() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(5)).await.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let r = app
        .order(
            &fan,
            &token,
            &schedule,
            json!({"seats": ["B-1-2", "A-1-4"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(labels(&r), ["A-1-4", "B-1-2"]);
    assert_eq!(r.body["seatNumber"], 4);
    assert_eq!(r.body["price"], 198000 + 154000);
    assert_eq!(
        r.body["seats"][1],
        json!({"label": "B-1-2", "number": 12, "section": "B", "row": "1", "grade": "R", "price": 154000})
    );
    // The same order again is the same reservation; an overlapping one is refused whole.
    let again = app
        .order(
            &fan,
            &token,
            &schedule,
            json!({"seats": ["A-1-4", "B-1-2"]}),
        )
        .await;
    assert_eq!((again.status, again.str("id")), (200, r.str("id")));
    let overlap = app
        .order(
            &fan,
            &token,
            &schedule,
            json!({"seats": ["A-1-3", "A-1-4"]}),
        )
        .await;
    assert_eq!((overlap.status, overlap.code()), (409, "SEAT_UNAVAILABLE"));
    assert_eq!(
        app.seat_status(&fan, &token, &schedule, 3).await,
        "AVAILABLE"
    );

    // Cancel frees both; a new order takes them and pays its total.
    let cancelled = app
        .delete(&format!("reservations/{}", r.str("id")), Some(&fan), None)
        .await;
    assert_eq!(cancelled.body["status"], "CANCELLED");
    assert_eq!(
        app.seat_status(&fan, &token, &schedule, 4).await,
        "AVAILABLE"
    );
    assert_eq!(
        app.seat_status(&fan, &token, &schedule, 12).await,
        "AVAILABLE"
    );
    let r = app
        .order(
            &fan,
            &token,
            &schedule,
            json!({"seats": ["B-1-2", "A-1-4"]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    app.charge(&fan, 400_000).await;
    let paid = app.pay(&fan, &r.str("id"), None).await;
    assert_eq!((paid.status, &paid.body["amount"]), (201, &json!(352000)));
    let token = app.admitted(&fan, &concert).await;
    assert_eq!(app.seat_status(&fan, &token, &schedule, 12).await, "SOLD");
    let mine = app
        .get(&format!("reservations/{}", r.str("id")), Some(&fan), None)
        .await;
    assert_eq!(mine.body["status"], "CONFIRMED");
    assert_eq!(labels(&mine), ["A-1-4", "B-1-2"]);
    let tx = app.get("wallet/transactions", Some(&fan), None).await;
    assert_eq!(
        tx.body["items"][0]["amount"], -352000,
        "one ledger line for the order"
    );
}

#[tokio::test]
async fn bad_orders_change_nothing() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(5)).await.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    for (body, status, code) in [
        (json!({"seats": ["A-1-9"]}), 404, "SEAT_NOT_FOUND"),
        (json!({"seats": ["Z-1-1"]}), 404, "SEAT_NOT_FOUND"),
        (json!({"seatNumber": 21}), 404, "SEAT_NOT_FOUND"),
        (
            json!({"seats": ["A-1-1", "A-1-1"]}),
            422,
            "VALIDATION_FAILED",
        ),
        (json!({"seats": []}), 422, "VALIDATION_FAILED"),
        (
            json!({"seats": ["A-1-1", "A-1-2", "A-1-3", "A-1-4", "A-2-1"]}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            json!({"section": "A", "quantity": 0}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            json!({"grade": "VIP", "quantity": 5}),
            422,
            "VALIDATION_FAILED",
        ),
        (json!({"section": "A"}), 422, "VALIDATION_FAILED"),
        (
            json!({"section": "NOPE", "quantity": 1}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            json!({"seatNumber": 1, "seats": ["A-1-2"]}),
            422,
            "VALIDATION_FAILED",
        ),
        (
            json!({"section": "GA", "quantity": 6}),
            422,
            "VALIDATION_FAILED",
        ),
    ] {
        let r = app.order(&fan, &token, &schedule, body.clone()).await;
        assert_eq!((r.status, r.code()), (status, code), "{body}");
    }
    let map = app.seatmap(&fan, &token, &schedule).await;
    assert_eq!(map.body["available"], 25, "nothing was held");
}

#[tokio::test]
async fn best_available_takes_adjacent_seats_front_rows_first_and_standing_by_count() {
    let app = spawn_with(|s| s.max_tickets_per_user = 20).await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(5)).await.str("id");
    let fans = app.admitted_fans(&concert, 3).await;
    let (fan, token) = &fans[0];
    // Row 1 of A has seats 1-4: seat 2 taken leaves no block of three there.
    let r = app
        .order(fan, token, &schedule, json!({"seats": ["A-1-2"]}))
        .await;
    assert_eq!(r.status, 201);
    let r = app
        .order(
            fan,
            token,
            &schedule,
            json!({"section": "A", "quantity": 3}),
        )
        .await;
    assert_eq!(labels(&r), ["A-2-1", "A-2-2", "A-2-3"]);
    let r = app
        .order(
            fan,
            token,
            &schedule,
            json!({"grade": "VIP", "quantity": 2}),
        )
        .await;
    assert_eq!(labels(&r), ["A-1-3", "A-1-4"], "front row first");
    // A standing section is sold by count.
    let (fan, token) = &fans[1];
    let r = app
        .order(
            fan,
            token,
            &schedule,
            json!({"section": "GA", "quantity": 3}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["seatNumber"], Value::Null);
    assert_eq!(r.body["price"], 3 * 154000);
    assert_eq!(
        r.body["seats"][0],
        json!({"label": "GA", "number": null, "section": "GA", "row": null, "grade": "R", "price": 154000})
    );
    let r = app
        .order(
            fan,
            token,
            &schedule,
            json!({"section": "GA", "quantity": 3}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (409, "SEAT_UNAVAILABLE"),
        "two places left"
    );
    // Grade R prefers a block of B's row, before the standing floor.
    let (fan, token) = &fans[2];
    let r = app
        .order(fan, token, &schedule, json!({"grade": "R", "quantity": 2}))
        .await;
    assert_eq!(labels(&r), ["B-1-1", "B-1-2"]);
}

#[tokio::test]
async fn the_cap_counts_holds_and_paid_places_over_every_schedule_of_the_concert() {
    let app = spawn().await;
    let concert = app.concert().await;
    let one = app.plan_schedule(&concert, arena(10)).await.str("id");
    let two = app.plan_schedule(&concert, arena(10)).await.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    app.charge(&fan, 1_000_000).await;
    let r = app
        .order(&fan, &token, &one, json!({"seats": ["B-1-1", "B-1-2"]}))
        .await;
    assert_eq!(app.pay(&fan, &r.str("id"), None).await.status, 201);
    // Paying ended the queue ticket: a new round of the queue does not reset the count.
    let token = app.admitted(&fan, &concert).await;
    let r = app
        .order(&fan, &token, &two, json!({"section": "GA", "quantity": 2}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .order(&fan, &token, &two, json!({"seats": ["A-1-1"]}))
        .await;
    assert_eq!((r.status, r.code()), (409, "TICKET_LIMIT_REACHED"));
    let other = app.concert().await;
    let elsewhere = app.plan_schedule(&other, arena(10)).await.str("id");
    let token = app.admitted(&fan, &other).await;
    let r = app
        .order(&fan, &token, &elsewhere, json!({"seats": ["A-1-1"]}))
        .await;
    assert_eq!(r.status, 201, "another concert has its own count");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_orders_sharing_one_seat_make_one_winner_and_hold_nothing_else() {
    let app = spawn_with(|s| s.queue_active_limit = 200).await;
    let concert = app.concert().await;
    let rows: Vec<Value> = (1..=11)
        .map(|r| json!({"row": r.to_string(), "seats": 10}))
        .collect();
    let plan = json!({"grades": [{"code": "R", "name": "R", "price": 1000}],
                      "sections": [{"code": "S", "name": "S", "grade": "R", "rows": rows}]});
    let schedule = app.plan_schedule(&concert, plan).await.str("id");
    let fans = app.admitted_fans(&concert, 100).await;
    let answers = join_all(fans.iter().enumerate().map(|(i, (fan, token))| {
        let own = format!("S-{}-{}", i / 10 + 1, i % 10 + 1);
        app.order(fan, token, &schedule, json!({"seats": [own, "S-11-1"]}))
    }))
    .await;
    let won: Vec<&Resp> = answers.iter().filter(|r| r.status == 201).collect();
    assert_eq!(won.len(), 1, "one order wins");
    assert!(
        answers
            .iter()
            .all(|r| r.status == 201 || (r.status, r.code()) == (409, "SEAT_UNAVAILABLE")),
        "every other order lost the race"
    );
    let (fan, token) = &fans[0];
    let map = app.seatmap(fan, token, &schedule).await;
    assert_eq!(
        map.body["available"], 108,
        "only the winner's two seats are taken"
    );
    let held = app
        .db_text("SELECT CAST(COUNT(*) AS TEXT) FROM seats WHERE state <> 'AVAILABLE'")
        .await;
    assert_eq!(held, "2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_orders_of_one_fan_never_pass_the_cap() {
    let app = spawn_with(|s| s.max_holds_per_user = 20).await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(100)).await.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let answers = join_all((0..20).map(|i| {
        let body = if i % 2 == 0 {
            json!({"section": "GA", "quantity": 1})
        } else {
            json!({"seats": [format!("B-1-{}", i / 2 + 1)]})
        };
        app.order(&fan, &token, &schedule, body)
    }))
    .await;
    let held = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(held, 4, "the cap is 4 places");
    assert!(
        answers
            .iter()
            .all(|r| r.status == 201 || r.code() == "TICKET_LIMIT_REACHED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_standing_section_of_a_hundred_sells_exactly_a_hundred_to_five_hundred_fans() {
    let app = spawn_with(|s| s.queue_active_limit = 600).await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(100)).await.str("id");
    // The queue admits no more fans than could find a place: another date makes room for all.
    app.schedule(&concert, 400, 1000).await;
    let fans = app.admitted_fans(&concert, 500).await;
    let answers = join_all(fans.iter().map(|(fan, token)| {
        app.order(
            fan,
            token,
            &schedule,
            json!({"section": "GA", "quantity": 1}),
        )
    }))
    .await;
    let held = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(held, 100);
    assert!(
        answers
            .iter()
            .all(|r| r.status == 201 || (r.status, r.code()) == (409, "SEAT_UNAVAILABLE"))
    );
    let in_db = app
        .db_text(
            "SELECT CAST(COUNT(*) AS TEXT) FROM seats
              WHERE schedule_id = (SELECT schedule_id FROM reservations LIMIT 1)
                AND number > 20 AND state = 'HELD'",
        )
        .await;
    assert_eq!(in_db, "100");
}

#[tokio::test]
async fn every_place_of_a_lapsed_order_comes_free() {
    let app = spawn_with(|s| {
        s.hold_ttl = std::time::Duration::from_secs(1);
        s.sweep_interval = std::time::Duration::from_millis(100);
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.plan_schedule(&concert, arena(5)).await.str("id");
    let (fan, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let r = app
        .order(
            &fan,
            &token,
            &schedule,
            json!({"grade": "R", "quantity": 4}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let id = r.str("id");
    let swept = eventually(std::time::Duration::from_secs(10), || async {
        let status = app.db_text("SELECT status FROM reservations").await;
        let held = app
            .db_text("SELECT CAST(COUNT(*) AS TEXT) FROM seats WHERE state = 'HELD'")
            .await;
        (status.as_str(), held.as_str()) == ("EXPIRED", "0")
    })
    .await;
    assert!(swept, "the sweeper freed every place and ended the hold");
    let mine = app
        .get(&format!("reservations/{id}"), Some(&fan), None)
        .await;
    assert_eq!(mine.body["status"], "EXPIRED");
    assert_eq!(app.pay(&fan, &id, None).await.code(), "HOLD_EXPIRED");
}
