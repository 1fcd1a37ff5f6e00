//! Redis only: a line left in a broken state repairs itself, the tick reaches every line even when
//! some fail, and the registry of lines forgets the empty ones.

use std::time::Duration;

use encore::queue::redis::link::{Conn, Link};
use redis::AsyncCommands;
use uuid::Uuid;

use crate::common::*;

/// A connection to the suite's Redis, one server or a cluster, as encore makes it.
async fn redis() -> Conn {
    Link::open(&redis_url(), Duration::from_secs(1))
        .await
        .unwrap()
        .shared()
        .await
        .unwrap()
}

fn key(app: &TestApp, concert: &str, part: &str) -> String {
    format!("{}:q:{{{concert}}}:{part}", app.db.redis_prefix)
}

fn registry(app: &TestApp) -> String {
    format!("{}:lines", app.db.redis_prefix)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_line_whose_owner_entries_vanished_frees_its_slots() {
    let app = spawn_scaled_with(|s| {
        s.queue_active_limit = 2;
        s.queue_active_ttl = Duration::from_secs(1);
    })
    .await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    app.admitted(&app.user().await, &concert).await;
    let late = app.user().await;
    let late_token = app.join(&late, &concert).await.str("token");
    // As an eviction or a script cut short would leave it: tickets without owners.
    let _: () = redis()
        .await
        .del(key(&app, &concert, "owners"))
        .await
        .unwrap();

    // The two ACTIVE tickets lapse; their slots come back, so a newcomer gets in.
    let newcomer = app.user().await;
    let in_again = eventually(Duration::from_secs(15), || async {
        app.join(&newcomer, &concert).await.body["status"] == "ACTIVE"
    })
    .await;
    assert!(in_again, "the cap recovered from tickets without owners");

    // A ticket nobody owns opens nothing (410, not a 500), and its fan can join again.
    let gated = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&late),
            Some(&late_token),
        )
        .await;
    assert_eq!(
        (gated.status, gated.code()),
        (410, "QUEUE_TOKEN_EXPIRED"),
        "{}",
        gated.body
    );
    let rejoined = app.join(&late, &concert).await;
    assert_eq!(rejoined.status, 201, "{}", rejoined.body);
    assert_ne!(rejoined.str("token"), late_token);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn the_tick_maintains_every_line_even_when_others_fail() {
    let app = spawn_scaled_with(|s| {
        s.queue_active_limit = 1;
        s.queue_active_ttl = Duration::from_secs(1);
    })
    .await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    app.join(&app.user().await, &concert).await;
    // Lines whose keys hold the wrong type: every tick of them fails.
    let mut r = redis().await;
    let now = chrono::Utc::now().timestamp_millis();
    for _ in 0..20 {
        let broken = Uuid::now_v7().to_string();
        let _: () = r.set(key(&app, &broken, "active"), "x").await.unwrap();
        let _: () = r.zadd(registry(&app), &broken, now).await.unwrap();
    }
    // Nobody calls: only the tick can expire the first fan and let the second in.
    let admitted = eventually(Duration::from_secs(15), || {
        let mut r = r.clone();
        let (waiting, active) = (
            key(&app, &concert, "waiting"),
            key(&app, &concert, "active"),
        );
        async move {
            let w: u64 = r.zcard(waiting).await.unwrap();
            let a: u64 = r.zcard(active).await.unwrap();
            (w, a) == (0, 1)
        }
    })
    .await;
    assert!(admitted, "the tick reached the healthy line");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn the_registry_forgets_lines_that_stayed_empty() {
    let app = spawn_scaled_with(|_| {}).await;
    let (empty, busy) = (app.concert().await, app.concert().await);
    let fan = app.user().await;
    let token = app.admitted(&fan, &empty).await;
    let left = app
        .send(with(
            app.req(reqwest::Method::DELETE, "queue"),
            None,
            Some(&token),
        ))
        .await;
    assert_eq!(left.status, 204);
    app.admitted(&app.user().await, &busy).await;
    // As if both were last registered long ago.
    let mut r = redis().await;
    let _: () = r.zadd(registry(&app), &empty, 1).await.unwrap();
    let _: () = r.zadd(registry(&app), &busy, 1).await.unwrap();
    let forgotten = eventually(Duration::from_secs(10), || {
        let mut r = r.clone();
        let (reg, empty) = (registry(&app), empty.clone());
        async move {
            let at: Option<f64> = r.zscore(reg, empty).await.unwrap();
            at.is_none()
        }
    })
    .await;
    assert!(forgotten, "an empty line left the registry");
    // Several ticks later, the line with a fan in it is still there.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let at: Option<f64> = r.zscore(registry(&app), &busy).await.unwrap();
    assert!(at.is_some(), "a line in use stays registered");
}
