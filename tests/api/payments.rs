//! Payments: one transaction, exactly once under races and retries, and the queue moves on.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_booking_flow_end_to_end() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 55_000).await;
    let user = app.user().await;
    app.charge(&user, 100_000).await;
    let token = app.admitted(&user, &concert).await;
    let list = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!(list.body["items"][0]["bookable"], true);
    let hold = app.hold(&user, &token, &schedule, 4).await;
    assert_eq!(hold.status, 201);
    let rid = hold.str("id");
    let paid = app.pay(&user, &rid, None).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    assert_eq!(paid.body["amount"], 55_000);
    assert_eq!(paid.body["balanceAfter"], 45_000);
    assert_eq!(paid.body["reservationId"], json!(rid));
    let pid = paid.str("id");
    assert_eq!(
        app.get(&format!("payments/{pid}"), Some(&user), None)
            .await
            .body,
        paid.body
    );
    let stranger = app.user().await;
    let r = app
        .get(&format!("payments/{pid}"), Some(&stranger), None)
        .await;
    assert_eq!(r.status, 404);

    let r = app
        .get(&format!("reservations/{rid}"), Some(&user), None)
        .await;
    assert_eq!(r.body["status"], "CONFIRMED");
    assert!(r.body["confirmedAt"].is_string());
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        45_000
    );
    let ledger = app.get("wallet/transactions", Some(&user), None).await;
    assert_eq!(ledger.body["items"][0]["kind"], "PAYMENT");
    assert_eq!(ledger.body["items"][0]["amount"], -55_000);
    assert_eq!(ledger.body["items"][0]["reservationId"], json!(rid));

    // Paying ended the ticket; the seat is SOLD for the next fan.
    let r = app.get("queue", None, Some(&token)).await;
    assert_eq!((r.status, r.code()), (410, "QUEUE_TOKEN_EXPIRED"));
    let next = app.user().await;
    let next_token = app.admitted(&next, &concert).await;
    assert_eq!(
        app.seat_status(&next, &next_token, &schedule, 4).await,
        "SOLD"
    );
    let r = app.hold(&next, &next_token, &schedule, 4).await;
    assert_eq!((r.status, r.code()), (409, "SEAT_UNAVAILABLE"));
    let r = app.pay(&user, &rid, None).await;
    assert_eq!((r.status, r.code()), (409, "ALREADY_PAID"));
}

#[tokio::test]
async fn payment_admits_the_next_waiter_at_once() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 100).await;
    let payer = app.user().await;
    app.charge(&payer, 100).await;
    let token = app.admitted(&payer, &concert).await;
    let waiter = app.user().await;
    let waiting = app.join(&waiter, &concert).await.str("token");
    let rid = app.hold(&payer, &token, &schedule, 1).await.str("id");
    assert_eq!(app.pay(&payer, &rid, None).await.status, 201);
    assert_eq!(
        app.get("queue", None, Some(&waiting)).await.body["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn payment_errors_change_nothing() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 5000).await;
    let user = app.user().await;
    app.charge(&user, 4999).await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let r = app.pay(&user, &rid, None).await;
    assert_eq!((r.status, r.code()), (402, "INSUFFICIENT_BALANCE"));
    assert_eq!(
        app.get(&format!("reservations/{rid}"), Some(&user), None)
            .await
            .body["status"],
        "HELD"
    );
    assert_eq!(app.seat_status(&user, &token, &schedule, 1).await, "HELD");
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        4999
    );
    let r = app
        .pay(&user, &uuid::Uuid::now_v7().to_string(), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "RESERVATION_NOT_FOUND"));
    let stranger = app.user().await;
    app.charge(&stranger, 10_000).await;
    let r = app.pay(&stranger, &rid, None).await;
    assert_eq!(
        (r.status, r.code()),
        (404, "RESERVATION_NOT_FOUND"),
        "another user's reservation"
    );
    let r = app
        .post("payments", Some(&user), None, json!({"reservationId": 5}))
        .await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    // Topped up, the same hold can be paid.
    app.charge(&user, 1).await;
    assert_eq!(app.pay(&user, &rid, None).await.status, 201);
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_payments_debit_once() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 1000).await;
    let user = app.user().await;
    app.charge(&user, 50_000).await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let results = futures_util::future::join_all((0..20).map(|_| app.pay(&user, &rid, None))).await;
    let paid = results.iter().filter(|r| r.status == 201).count();
    let dup = results
        .iter()
        .filter(|r| r.code() == "ALREADY_PAID")
        .count();
    assert_eq!((paid, dup), (1, 19));
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        49_000
    );
    let ledger = app.get("wallet/transactions", Some(&user), None).await;
    assert_eq!(
        ledger.body["items"].as_array().unwrap().len(),
        2,
        "one CHARGE, one PAYMENT"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_clicked_pay_button_with_one_key_pays_once() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 1000).await;
    let user = app.user().await;
    app.charge(&user, 5000).await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let results =
        futures_util::future::join_all((0..10).map(|_| app.pay(&user, &rid, Some("pay-once"))))
            .await;
    assert!(
        results.iter().all(|r| r.status == 201),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    assert!(
        results.iter().all(|r| r.body == results[0].body),
        "every repeat gets the first answer"
    );
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        4000
    );
    let r = app
        .post(
            "payments",
            Some(&user),
            None,
            json!({"reservationId": uuid::Uuid::now_v7()}),
        )
        .await;
    assert_eq!(r.status, 404);
    let other_body = app
        .pay(&user, &uuid::Uuid::now_v7().to_string(), Some("pay-once"))
        .await;
    assert_eq!(
        (other_body.status, other_body.code()),
        (422, "IDEMPOTENCY_KEY_REUSED")
    );
}

#[tokio::test]
async fn a_failed_first_answer_is_replayed_under_its_key() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let first = app.pay(&user, &rid, Some("k")).await;
    assert_eq!(first.code(), "INSUFFICIENT_BALANCE");
    app.charge(&user, 1000).await;
    let again = app.pay(&user, &rid, Some("k")).await;
    assert_eq!(
        (again.status, again.body.clone()),
        (402, first.body),
        "same key, same answer"
    );
    assert_eq!(
        app.pay(&user, &rid, Some("k2")).await.status,
        201,
        "a new key is a new attempt"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_payments_of_different_holds_never_overdraw() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 6000).await;
    let user = app.user().await;
    app.charge(&user, 10_000).await;
    let token = app.admitted(&user, &concert).await;
    let a = app.hold(&user, &token, &schedule, 1).await.str("id");
    let b = app.hold(&user, &token, &schedule, 2).await.str("id");
    let (ra, rb) = tokio::join!(app.pay(&user, &a, None), app.pay(&user, &b, None));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [201, 402],
        "one paid, the other found the balance short"
    );
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        4000
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paying_and_cancelling_at_once_has_one_winner() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 1000).await;
    let user = app.user().await;
    app.charge(&user, 1000).await;
    let token = app.admitted(&user, &concert).await;
    let rid = app.hold(&user, &token, &schedule, 1).await.str("id");
    let path = format!("reservations/{rid}");
    let (paid, cancelled) = tokio::join!(
        app.pay(&user, &rid, None),
        app.delete(&path, Some(&user), None)
    );
    let final_status = app
        .get(&format!("reservations/{rid}"), Some(&user), None)
        .await
        .body["status"]
        .clone();
    let balance = app.get("wallet", Some(&user), None).await.body["balance"].clone();
    match (paid.status, cancelled.status) {
        (201, 409) => assert_eq!((final_status, balance), (json!("CONFIRMED"), json!(0))),
        (409, 200) => assert_eq!((final_status, balance), (json!("CANCELLED"), json!(1000))),
        other => panic!("exactly one of pay and cancel wins, got {other:?}"),
    }
    // A confirmed or cancelled reservation cannot be cancelled again.
    let r = app
        .delete(&format!("reservations/{rid}"), Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_HELD"));
}

/// Payments made at once — on SQLite they commit in one group — each get the answer they would
/// have had alone: a short balance, a lapsed hold or a reused key refuses that payment only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payments_at_once_each_get_their_own_answer() {
    let app = spawn().await;
    let concert = app.concert().await;
    let open = app.schedule(&concert, 40, 5000).await;
    let lapsing = app.schedule(&concert, 10, 3000).await;
    let fans = app.admitted_fans(&concert, 32).await;
    let mut payments = Vec::new();
    for (i, (fan, token)) in fans.iter().enumerate() {
        let (schedule, seat) = match i / 8 {
            2 => (&lapsing, i as i64 - 15),
            _ => (&open, i as i64 + 1),
        };
        let short = i / 8 == 0;
        app.charge(fan, if short { 4999 } else { 10_000 }).await;
        let rid = app.hold(fan, token, schedule, seat).await.str("id");
        let key = match i / 8 {
            3 => {
                // The key's first use was for another body.
                let other = uuid::Uuid::now_v7().to_string();
                assert_eq!(app.pay(fan, &other, Some("k")).await.status, 404);
                Some("k")
            }
            _ => None,
        };
        payments.push((fan, rid, key));
    }
    app.db_exec(
        "UPDATE seats SET held_until = 1 WHERE reservation_id IN
           (SELECT id FROM reservations WHERE price = 3000)",
    )
    .await;
    app.db_exec("UPDATE reservations SET held_until = 1 WHERE price = 3000")
        .await;
    let answers = futures_util::future::join_all(
        payments
            .iter()
            .map(|(fan, rid, key)| app.pay(fan, rid, *key)),
    )
    .await;
    for (i, ((fan, rid, _), r)) in payments.iter().zip(&answers).enumerate() {
        let (want, balance, status) = match i / 8 {
            0 => ((402, "INSUFFICIENT_BALANCE"), 4999, "HELD"),
            1 => ((201, ""), 5000, "CONFIRMED"),
            2 => ((410, "HOLD_EXPIRED"), 10_000, ""),
            _ => ((422, "IDEMPOTENCY_KEY_REUSED"), 10_000, "HELD"),
        };
        assert_eq!((r.status, r.code()), want, "fan {i}: {}", r.body);
        let wallet = app.get("wallet", Some(fan), None).await;
        assert_eq!(wallet.body["balance"], balance, "fan {i}");
        if !status.is_empty() {
            let res = app
                .get(&format!("reservations/{rid}"), Some(fan), None)
                .await;
            assert_eq!(res.body["status"], status, "fan {i}");
        }
    }
    // A refused payment leaves no payment row or ledger line behind.
    for rows in [
        "seats WHERE state = 'SOLD'",
        "payments",
        "wallet_transactions WHERE kind = 'PAYMENT'",
        "reservations WHERE status = 'CONFIRMED'",
    ] {
        let n = app
            .db_text(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM {rows}"))
            .await;
        assert_eq!(n, "8", "{rows}");
    }
}
