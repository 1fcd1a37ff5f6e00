//! The waiting list: open once a schedule is full, offers of places that come back, lapsed
//! offers passing on, and one place to one entry under concurrency.

use std::time::Duration;

use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::common::*;

impl TestApp {
    pub async fn wait_for_place(&self, user: &User, schedule: &str, body: Value) -> Resp {
        self.post(
            &format!("schedules/{schedule}/waitlist"),
            Some(user),
            None,
            body,
        )
        .await
    }

    /// The entry as its fan sees it, once its status is `status` (or the last seen after 10 s).
    pub async fn entry_when(&self, user: &User, id: &str, status: &str) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let r = self.get("waitlist", Some(user), None).await;
            let entry = r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|e| e["id"] == id)
                .cloned()
                .unwrap_or(Value::Null);
            if entry["status"] == status || tokio::time::Instant::now() >= deadline {
                return entry;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_place_that_comes_back_is_offered_to_the_first_entry_and_paid_without_the_queue() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 1, 5000).await;
    let fans = app.admitted_fans(&concert, 1).await;
    let (holder, token) = &fans[0];
    let (waiter, late) = (app.user().await, app.user().await);
    // Free places: no waiting list yet.
    let r = app
        .wait_for_place(&waiter, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!((r.status, r.code()), (409, "WAITLIST_CLOSED"));
    let hold = app.hold(holder, token, &schedule, 1).await;
    assert_eq!(hold.status, 201);
    for bad in [
        json!({"quantity": 0}),
        json!({"quantity": 5}),
        json!({"quantity": 1, "grade": "NOPE"}),
    ] {
        let r = app.wait_for_place(&waiter, &schedule, bad.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{bad}");
    }
    let entry = app
        .wait_for_place(&waiter, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!(entry.status, 201, "{}", entry.body);
    assert_eq!(
        (entry.body["status"].as_str(), &entry.body["position"]),
        (Some("WAITING"), &json!(1))
    );
    let again = app
        .wait_for_place(&waiter, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!((again.status, again.str("id")), (200, entry.str("id")));
    let second = app
        .wait_for_place(&late, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!(second.body["position"], 2);

    // The holder cancels: the place goes to the first entry, not back on sale.
    app.delete(
        &format!("reservations/{}", hold.str("id")),
        Some(holder),
        None,
    )
    .await;
    let offered = app.entry_when(&waiter, &entry.str("id"), "OFFERED").await;
    assert_eq!(offered["status"], "OFFERED", "{offered}");
    assert_eq!(offered["offer"]["status"], "HELD");
    assert_eq!(offered["offer"]["seats"][0]["label"], "MAIN-1-1");
    let retry = app.hold(holder, token, &schedule, 1).await;
    assert_eq!((retry.status, retry.code()), (409, "SEAT_UNAVAILABLE"));
    // Paying the offer needs no queue token.
    app.charge(&waiter, 5000).await;
    let paid = app
        .pay(&waiter, offered["offer"]["id"].as_str().unwrap(), None)
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let done = app.entry_when(&waiter, &entry.str("id"), "FULFILLED").await;
    assert_eq!(done["status"], "FULFILLED");
    let still = app.entry_when(&late, &second.str("id"), "WAITING").await;
    assert_eq!(still["position"], 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unpaid_offer_lapses_and_the_place_passes_on() {
    // Long enough that a loaded machine still reads the second offer before it lapses.
    let app = spawn_with(|s| {
        s.hold_ttl = Duration::from_secs(2);
        s.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 1, 5000).await;
    let (holder, token) = app.admitted_fans(&concert, 1).await.remove(0);
    assert_eq!(app.hold(&holder, &token, &schedule, 1).await.status, 201);
    let (first, second) = (app.user().await, app.user().await);
    let e1 = app
        .wait_for_place(&first, &schedule, json!({"quantity": 1}))
        .await
        .str("id");
    let e2 = app
        .wait_for_place(&second, &schedule, json!({"quantity": 1}))
        .await
        .str("id");
    // The holder's hold lapses: offered to the first entry, which lapses too, then the second.
    let e1_end = app.entry_when(&first, &e1, "EXPIRED").await;
    assert_eq!(e1_end["status"], "EXPIRED", "{e1_end}");
    let offered = app.entry_when(&second, &e2, "OFFERED").await;
    assert_eq!(offered["status"], "OFFERED", "{offered}");
    // Leaving the list gives the offer back.
    let left = app
        .delete(&format!("waitlist/{e2}"), Some(&second), None)
        .await;
    assert_eq!(left.body["status"], "CANCELLED");
    let r = app
        .delete(&format!("waitlist/{e2}"), Some(&second), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "WAITLIST_ENTRY_NOT_FOUND"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_returned_places_go_one_to_each_of_fifty_entries() {
    let app = spawn_with(|s| s.queue_active_limit = 200).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 50, 1000).await;
    let holders = app.admitted_fans(&concert, 50).await;
    let mut holds = Vec::new();
    for (i, (fan, token)) in holders.iter().enumerate() {
        let r = app.hold(fan, token, &schedule, i as i64 + 1).await;
        assert_eq!(r.status, 201);
        holds.push(r.str("id"));
    }
    let mut waiters = Vec::new();
    for _ in 0..50 {
        let fan = app.user().await;
        let e = app
            .wait_for_place(&fan, &schedule, json!({"quantity": 1}))
            .await;
        assert_eq!(e.status, 201, "{}", e.body);
        waiters.push((fan, e.str("id")));
    }
    let paths: Vec<String> = holds
        .iter()
        .map(|id| format!("reservations/{id}"))
        .collect();
    join_all(
        holders
            .iter()
            .zip(&paths)
            .map(|((fan, _), path)| app.delete(path, Some(fan), None)),
    )
    .await;
    let mut labels = Vec::new();
    for (fan, id) in &waiters {
        let e = app.entry_when(fan, id, "OFFERED").await;
        assert_eq!(e["status"], "OFFERED", "{e}");
        labels.push(e["offer"]["seats"][0]["label"].as_str().unwrap().to_owned());
    }
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 50, "every place went to exactly one entry");
}
