//! The wallet: charges, the cap, idempotency, and balance == ledger under concurrency.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn ledger(app: &TestApp, user: &User) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("wallet/transactions?limit=200&cursor={c}"),
            None => "wallet/transactions?limit=200".into(),
        };
        let r = app.get(&path, Some(user), None).await;
        assert_eq!(r.status, 200);
        items.extend(r.body["items"].as_array().unwrap().iter().cloned());
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
}

#[tokio::test]
async fn charges_add_to_the_balance_and_the_ledger() {
    let app = spawn().await;
    let user = app.user().await;
    let w = app.get("wallet", Some(&user), None).await;
    assert_eq!(w.body["balance"], 0);
    assert!(w.body["updatedAt"].is_string());
    let r = app.charge(&user, 30_000).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["balance"], 30_000);
    assert_eq!(r.body["transaction"]["kind"], "CHARGE");
    assert_eq!(r.body["transaction"]["amount"], 30_000);
    assert_eq!(r.body["transaction"]["balanceAfter"], 30_000);
    assert_eq!(r.body["transaction"]["reservationId"], json!(null));
    app.charge(&user, 5).await;
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        30_005
    );
    let lines = ledger(&app, &user).await;
    assert_eq!(
        lines
            .iter()
            .map(|l| l["amount"].clone())
            .collect::<Vec<_>>(),
        vec![json!(5), json!(30_000)]
    );
}

#[tokio::test]
async fn the_balance_cap_and_the_charge_limit_hold() {
    let app = spawn_with(|s| s.max_charge = 600_000_000_000).await;
    let user = app.user().await;
    assert_eq!(app.charge(&user, 600_000_000_000).await.status, 200);
    let r = app.charge(&user, 500_000_000_000).await;
    assert_eq!((r.status, r.code()), (422, "BALANCE_LIMIT"));
    let r = app.charge(&user, 600_000_000_001).await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    assert_eq!(
        app.charge(&user, 400_000_000_000).await.body["balance"],
        1_000_000_000_000i64
    );
    assert_eq!(ledger(&app, &user).await.len(), 2);
}

#[tokio::test]
async fn a_repeated_idempotency_key_charges_once() {
    let app = spawn().await;
    let user = app.user().await;
    let charge = |amount: i64, key: &str| {
        with(app.req(Method::POST, "wallet/charges"), Some(&user), None)
            .header("Idempotency-Key", key)
            .json(&json!({"amount": amount}))
    };
    let first = app.send(charge(1000, "k-1")).await;
    let again = app.send(charge(1000, "k-1")).await;
    assert_eq!((first.status, again.status), (200, 200));
    assert_eq!(first.body, again.body, "the first answer, replayed");
    let reused = app.send(charge(2000, "k-1")).await;
    assert_eq!(
        (reused.status, reused.code()),
        (422, "IDEMPOTENCY_KEY_REUSED")
    );
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        1000
    );
    // Keys are per user: another user's same key is a new charge.
    let other = app.user().await;
    let r = app
        .send(
            with(app.req(Method::POST, "wallet/charges"), Some(&other), None)
                .header("Idempotency-Key", "k-1")
                .json(&json!({"amount": 1000})),
        )
        .await;
    assert_eq!(r.body["balance"], 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_charges_keep_balance_equal_to_ledger() {
    let app = spawn().await;
    let user = app.user().await;
    let results = futures_util::future::join_all((1..=100).map(|i| app.charge(&user, i))).await;
    assert!(results.iter().all(|r| r.status == 200));
    let expected: i64 = (1..=100).sum();
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        expected
    );
    let lines = ledger(&app, &user).await;
    assert_eq!(lines.len(), 100);
    assert_eq!(
        lines
            .iter()
            .map(|l| l["amount"].as_i64().unwrap())
            .sum::<i64>(),
        expected
    );
    let mut after: Vec<i64> = lines
        .iter()
        .map(|l| l["balanceAfter"].as_i64().unwrap())
        .collect();
    after.sort();
    after.dedup();
    assert_eq!(after.len(), 100, "every charge saw its own balance");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_repeats_of_one_key_charge_once() {
    let app = spawn().await;
    let user = app.user().await;
    let results = futures_util::future::join_all((0..20).map(|_| {
        app.send(
            with(app.req(Method::POST, "wallet/charges"), Some(&user), None)
                .header("Idempotency-Key", "double-click")
                .json(&json!({"amount": 700})),
        )
    }))
    .await;
    assert!(
        results
            .iter()
            .all(|r| r.status == 200 && r.body == results[0].body)
    );
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        700
    );
}

#[tokio::test]
async fn idempotency_keys_older_than_a_day_are_forgotten_through_an_index() {
    let app = spawn().await;
    let user = app.user().await;
    let rb = with(app.req(Method::POST, "wallet/charges"), Some(&user), None)
        .header("Idempotency-Key", "old-key")
        .json(&json!({"amount": 1000}));
    assert_eq!(app.send(rb).await.status, 200);
    let count = "SELECT CAST(COUNT(*) AS TEXT) FROM idempotency_keys";
    assert_eq!(app.db_text(count).await, "1");
    app.db_exec("UPDATE idempotency_keys SET created_at = 1")
        .await;
    let gone = eventually(Duration::from_secs(10), || async {
        app.db_text(count).await == "0"
    })
    .await;
    assert!(gone, "a key older than a day was forgotten");
    let forget = encore::store::sql::FORGET_IDEMPOTENCY_KEYS
        .replace("$1", "0")
        .replace("$2", "1000");
    let plan = app.db_plan(&forget).await;
    assert!(plan.contains("idempotency_keys_created_at"), "{plan}");
}
