//! Refunds: the fee of each policy tier, closed after the last, once only, idempotent, and the
//! balance always equal to the ledger.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

/// A schedule starting `hours` from now whose booking is open now.
async fn schedule_in(app: &TestApp, concert: &str, hours: i64, price: i64) -> String {
    let now = chrono::Utc::now();
    let at = |s: i64| (now + chrono::Duration::seconds(s)).to_rfc3339();
    let r = app
        .admin_post(
            &format!("admin/concerts/{concert}/schedules"),
            json!({"startsAt": at(hours * 3600), "bookingOpensAt": at(-3600),
                   "bookingClosesAt": at(hours * 3600 - 60), "seatCount": 10, "price": price}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.str("id")
}

async fn concert_with(app: &TestApp, policy: Value) -> String {
    let mut body = json!({"title": "Show", "performer": "Band"});
    if !policy.is_null() {
        body["refundPolicy"] = policy;
    }
    let r = app.admin_post("admin/concerts", body).await;
    assert_eq!(r.status, 201, "{}", r.body);
    r.str("id")
}

/// Joins the queue, holds and pays seat 1 of `schedule` for `user` (paying ends the queue
/// ticket); returns the reservation id.
async fn bought(app: &TestApp, user: &User, concert: &str, schedule: &str) -> String {
    let token = app.admitted(user, concert).await;
    let hold = app.hold(user, &token, schedule, 1).await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let rid = hold.str("id");
    let paid = app.pay(user, &rid, None).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    rid
}

/// A fan with 50,000 in the wallet who bought one seat at 7,000, of a date 100 hours ahead of
/// a concert without a refund policy: (the fan, the concert, the schedule, the reservation).
async fn one_bought(app: &TestApp) -> (User, String, String, String) {
    let concert = concert_with(app, Value::Null).await;
    let schedule = schedule_in(app, &concert, 100, 7_000).await;
    let user = app.user().await;
    app.charge(&user, 50_000).await;
    let rid = bought(app, &user, &concert, &schedule).await;
    (user, concert, schedule, rid)
}

async fn refund(app: &TestApp, user: &User, rid: &str, key: Option<&str>) -> Resp {
    let mut rb = with(
        app.req(Method::POST, &format!("reservations/{rid}/refund")),
        Some(user),
        None,
    );
    if let Some(k) = key {
        rb = rb.header("Idempotency-Key", k);
    }
    app.send(rb).await
}

/// The wallet's balance and the sum of its ledger.
async fn balance_and_ledger(app: &TestApp, user: &User) -> (i64, i64) {
    let balance = app.get("wallet", Some(user), None).await.body["balance"]
        .as_i64()
        .unwrap();
    let ledger = app
        .get("wallet/transactions?limit=100", Some(user), None)
        .await;
    let sum = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["amount"].as_i64().unwrap())
        .sum();
    (balance, sum)
}

#[tokio::test]
async fn each_tier_sets_the_fee_and_the_last_one_closes() {
    let app = spawn().await;
    let policy = json!([{"untilHoursBefore": 240, "feePercent": 0},
                        {"untilHoursBefore": 72, "feePercent": 10},
                        {"untilHoursBefore": 24, "feePercent": 33}]);
    let concert = concert_with(&app, policy.clone()).await;
    let shown = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(shown.body["refundPolicy"], policy);
    let user = app.user().await;
    app.charge(&user, 1_000_000).await;
    // (hours before the start, fee) for a price of 10,001 won: fees round down to the won.
    for (hours, fee) in [(300, 0), (100, 1_000), (30, 3_300)] {
        let schedule = schedule_in(&app, &concert, hours, 10_001).await;
        let rid = bought(&app, &user, &concert, &schedule).await;
        let r = refund(&app, &user, &rid, None).await;
        assert_eq!(r.status, 200, "{hours} h: {}", r.body);
        assert_eq!(r.body["status"], "REFUNDED");
        assert_eq!(
            r.body["refund"],
            json!({"amount": 10_001 - fee, "fee": fee}),
            "{hours} h"
        );
        let ledger = app.get("wallet/transactions", Some(&user), None).await;
        assert_eq!(ledger.body["items"][0]["kind"], "REFUND");
        assert_eq!(ledger.body["items"][0]["amount"], 10_001 - fee);
        assert_eq!(ledger.body["items"][0]["reservationId"], json!(rid));
    }
    let schedule = schedule_in(&app, &concert, 10, 10_001).await;
    let rid = bought(&app, &user, &concert, &schedule).await;
    let r = refund(&app, &user, &rid, None).await;
    assert_eq!((r.status, r.code()), (409, "REFUND_CLOSED"));
    let r = app
        .get(&format!("reservations/{rid}"), Some(&user), None)
        .await;
    assert_eq!(r.body["status"], "CONFIRMED");
    let (balance, ledger) = balance_and_ledger(&app, &user).await;
    assert_eq!(balance, ledger);
    assert_eq!(balance, 1_000_000 - 1_000 - 3_300 - 10_001);
}

#[tokio::test]
async fn without_a_policy_a_refund_is_free_until_a_day_before() {
    let app = spawn().await;
    let concert = concert_with(&app, Value::Null).await;
    let shown = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(shown.body["refundPolicy"], Value::Null);
    let user = app.user().await;
    app.charge(&user, 100_000).await;
    let early = schedule_in(&app, &concert, 25, 5_000).await;
    let rid = bought(&app, &user, &concert, &early).await;
    let r = refund(&app, &user, &rid, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refund"], json!({"amount": 5_000, "fee": 0}));
    let late = schedule_in(&app, &concert, 23, 5_000).await;
    let rid = bought(&app, &user, &concert, &late).await;
    let r = refund(&app, &user, &rid, None).await;
    assert_eq!((r.status, r.code()), (409, "REFUND_CLOSED"));
}

#[tokio::test]
async fn a_refund_frees_the_seat_once_and_replays_with_its_key() {
    let app = spawn().await;
    let (user, concert, schedule, rid) = one_bought(&app).await;

    let stranger = app.user().await;
    let r = refund(&app, &stranger, &rid, None).await;
    assert_eq!((r.status, r.code()), (404, "RESERVATION_NOT_FOUND"));

    let first = refund(&app, &user, &rid, Some("refund-1")).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = refund(&app, &user, &rid, Some("refund-1")).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body, first.body);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    let r = refund(&app, &user, &rid, None).await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_CONFIRMED"));
    let r = refund(&app, &user, &rid, Some("refund-2")).await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_CONFIRMED"));
    assert_eq!(balance_and_ledger(&app, &user).await, (50_000, 50_000));

    // The seat is on sale again; a live hold cannot be refunded.
    let token = app.admitted(&user, &concert).await;
    assert_eq!(
        app.seat_status(&user, &token, &schedule, 1).await,
        "AVAILABLE"
    );
    let hold = app.hold(&user, &token, &schedule, 1).await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let r = refund(&app, &user, &hold.str("id"), None).await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_CONFIRMED"));
}

#[tokio::test]
async fn concurrent_refunds_of_one_reservation_credit_once() {
    let app = spawn().await;
    let (user, _, _, rid) = one_bought(&app).await;
    let answers =
        futures_util::future::join_all((0..20).map(|_| refund(&app, &user, &rid, None))).await;
    let ok = answers.iter().filter(|r| r.status == 200).count();
    assert_eq!(ok, 1);
    assert!(
        answers
            .iter()
            .all(|r| r.status == 200 || r.code() == "RESERVATION_NOT_CONFIRMED")
    );
    assert_eq!(balance_and_ledger(&app, &user).await, (50_000, 50_000));
}

#[tokio::test]
async fn refund_policies_are_checked_and_can_be_changed() {
    let app = spawn().await;
    for (policy, field) in [
        (json!([]), "refundPolicy"),
        (
            json!([{"untilHoursBefore": -1, "feePercent": 0}]),
            "refundPolicy[0].untilHoursBefore",
        ),
        (
            json!([{"untilHoursBefore": 1, "feePercent": 0}, {"untilHoursBefore": 1, "feePercent": 101}]),
            "refundPolicy[1].feePercent",
        ),
        (
            json!(
                (0..11)
                    .map(|h| json!({"untilHoursBefore": h, "feePercent": 0}))
                    .collect::<Vec<_>>()
            ),
            "refundPolicy",
        ),
    ] {
        let r = app
            .admin_post(
                "admin/concerts",
                json!({"title": "T", "performer": "P", "refundPolicy": policy}),
            )
            .await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{policy}");
        assert!(r.str("detail").contains(field), "{}", r.body);
    }
    let concert = concert_with(&app, Value::Null).await;
    let patch = |body: Value| {
        app.send(
            app.req(Method::PATCH, &format!("admin/concerts/{concert}"))
                .bearer_auth(ADMIN)
                .json(&body),
        )
    };
    let policy = json!([{"untilHoursBefore": 48, "feePercent": 5}]);
    let r = patch(json!({"refundPolicy": policy})).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refundPolicy"], policy);
    let r = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(r.body["refundPolicy"], policy);
    let r = patch(json!({"refundPolicy": [{"untilHoursBefore": 1, "feePercent": 200}]})).await;
    assert_eq!(r.status, 422);
    assert!(r.str("detail").contains("refundPolicy[0].feePercent"));
    let r = patch(json!({"refundPolicy": null})).await;
    assert_eq!(r.body["refundPolicy"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refunded_place_goes_to_the_waiting_list_first() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 1, 5_000).await;
    let buyer = app.user().await;
    app.charge(&buyer, 5_000).await;
    let rid = bought(&app, &buyer, &concert, &schedule).await;
    let waiter = app.user().await;
    let entry = app
        .wait_for_place(&waiter, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!(entry.status, 201, "{}", entry.body);
    let r = refund(&app, &buyer, &rid, None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refund"], json!({"amount": 5_000, "fee": 0}));
    // A fan from the queue cannot take the place while the entry waits for it.
    let (other, token) = app.admitted_fans(&concert, 1).await.remove(0);
    let r = app.hold(&other, &token, &schedule, 1).await;
    assert_eq!((r.status, r.code()), (409, "SEAT_UNAVAILABLE"));
    let offered = app.entry_when(&waiter, &entry.str("id"), "OFFERED").await;
    assert_eq!(offered["status"], "OFFERED", "{offered}");
    assert_eq!(offered["offer"]["seats"][0]["number"], 1);
}

#[tokio::test]
async fn a_reservation_with_a_ticket_let_in_is_not_refunded() {
    let app = spawn().await;
    let (user, _, _, rid) = one_bought(&app).await;
    let code = app.tickets(&user, &rid).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.scan(ADMIN, &code).await.status, 200);

    let quote = app
        .get(&format!("reservations/{rid}/refund"), Some(&user), None)
        .await;
    assert_eq!((quote.status, quote.code()), (409, "ALREADY_CHECKED_IN"));
    let r = refund(&app, &user, &rid, Some("after-the-gate")).await;
    assert_eq!((r.status, r.code()), (409, "ALREADY_CHECKED_IN"));
    let shown = app
        .get(&format!("reservations/{rid}"), Some(&user), None)
        .await;
    assert_eq!(shown.body["status"], "CONFIRMED");
    assert_eq!(balance_and_ledger(&app, &user).await, (43_000, 43_000));
}

#[tokio::test]
async fn a_refund_and_a_scan_at_once_never_both_go_through() {
    let app = spawn_with(|s| s.max_tickets_per_user = 100).await;
    let concert = concert_with(&app, Value::Null).await;
    let schedule = schedule_in(&app, &concert, 100, 1_000).await;
    let user = app.user().await;
    app.charge(&user, 50_000).await;
    for seat in 1..=10 {
        // A payment ends the fan's turn in the queue: each purchase is a new one.
        let token = app.admitted(&user, &concert).await;
        let hold = app.hold(&user, &token, &schedule, seat).await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let rid = hold.str("id");
        assert_eq!(app.pay(&user, &rid, None).await.status, 201);
        let code = app.tickets(&user, &rid).await[0]["code"]
            .as_str()
            .unwrap()
            .to_owned();
        let (scan, refunded) =
            tokio::join!(app.scan(ADMIN, &code), refund(&app, &user, &rid, None));
        match (scan.status, refunded.status) {
            (200, 409) => assert_eq!(refunded.code(), "ALREADY_CHECKED_IN"),
            (409, 200) => assert_eq!(scan.code(), "TICKET_VOID"),
            other => panic!(
                "scan and refund answered {other:?}: {} / {}",
                scan.body, refunded.body
            ),
        }
    }
    let (balance, ledger) = balance_and_ledger(&app, &user).await;
    assert_eq!(balance, ledger);
}
