//! A schedule called off: not bookable, live holds ended, every paid reservation refunded in
//! full exactly once by the background job, progress readable.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

impl TestApp {
    /// Waits for the schedule's refunds to be done; returns the last admin view.
    async fn refunds_done(&self, schedule: &str) -> Resp {
        let path = format!("admin/schedules/{schedule}");
        let mut last = self.admin_get(&path).await;
        for _ in 0..200 {
            if last.body["refunds"]["done"] == last.body["refunds"]["total"] {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            last = self.admin_get(&path).await;
        }
        last
    }
}

/// Every ledger line of a fan, and whether the balance equals their sum.
async fn ledger(app: &TestApp, user: &User) -> (Vec<serde_json::Value>, bool) {
    let balance = app.get("wallet", Some(user), None).await.body["balance"]
        .as_i64()
        .unwrap();
    let r = app
        .get("wallet/transactions?limit=200", Some(user), None)
        .await;
    let items = r.body["items"].as_array().unwrap().clone();
    let sum: i64 = items.iter().map(|t| t["amount"].as_i64().unwrap()).sum();
    (items, sum == balance)
}

#[tokio::test]
async fn a_cancelled_schedule_refunds_every_paid_reservation_once() {
    let app = spawn_with(|s| s.sweep_interval = Duration::from_millis(100)).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 20_000).await;
    let other = app.schedule(&concert, 10, 20_000).await;
    let mut buyers = Vec::new();
    for seat in 1..=3 {
        let user = app.user().await;
        app.charge(&user, 50_000).await;
        let token = app.admitted(&user, &concert).await;
        let hold = app.hold(&user, &token, &schedule, seat).await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let paid = app.pay(&user, &hold.str("id"), None).await;
        assert_eq!(paid.status, 201, "{}", paid.body);
        buyers.push((user, hold.str("id")));
    }
    let (holder, token) = app.admitted_fans(&concert, 1).await.remove(0);
    app.charge(&holder, 50_000).await;
    let held = app.hold(&holder, &token, &schedule, 5).await;
    assert_eq!(held.status, 201);

    let r = app
        .admin_post(&format!("admin/schedules/{schedule}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["status"], "CANCELLED");
    assert_eq!(r.body["bookable"], false);
    assert_eq!(r.body["refunds"]["total"], 3);
    let done = app.refunds_done(&schedule).await;
    assert_eq!(
        done.body["refunds"],
        json!({"total": 3, "done": 3}),
        "{}",
        done.body
    );

    for (user, rid) in &buyers {
        let r = app
            .get(&format!("reservations/{rid}"), Some(user), None)
            .await;
        assert_eq!(r.body["status"], "REFUNDED");
        assert_eq!(r.body["refund"], json!({"amount": 20_000, "fee": 0}));
        let (items, balanced) = ledger(&app, user).await;
        assert!(balanced);
        let refunds = items.iter().filter(|t| t["kind"] == "REFUND").count();
        assert_eq!(refunds, 1);
        assert_eq!(
            app.get("wallet", Some(user), None).await.body["balance"],
            50_000
        );
    }
    // The live hold ended and cannot be paid; no place can be held again.
    let r = app.pay(&holder, &held.str("id"), None).await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_HELD"));
    let r = app.hold(&holder, &token, &schedule, 7).await;
    assert_eq!((r.status, r.code()), (409, "SEAT_UNAVAILABLE"));
    // Again: nothing changes; the other date is untouched.
    let r = app
        .admin_post(&format!("admin/schedules/{schedule}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["refunds"], json!({"total": 3, "done": 3}));
    let r = app.admin_get(&format!("admin/schedules/{other}")).await;
    assert_eq!(
        (r.body["status"].as_str(), r.body["bookable"].as_bool()),
        (Some("SCHEDULED"), Some(true))
    );
    let r = app.hold(&holder, &token, &other, 1).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = app
        .admin_post(
            &format!("admin/schedules/{}/cancel", uuid::Uuid::now_v7()),
            json!({}),
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "SCHEDULE_NOT_FOUND"));
}
