//! The waiting queue: FIFO admission under a cap, refill the moment a slot frees, idle drop,
//! rejoin, tokens, Server-Sent Events, and places kept across a graceful restart.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn poll(app: &TestApp, token: &str) -> Resp {
    app.get("queue", None, Some(token)).await
}

#[tokio::test]
async fn waiters_are_admitted_in_join_order_as_slots_free() {
    let app = spawn_with(|s| s.queue_active_limit = 2).await;
    let concert = app.concert().await;
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let user = app.user().await;
        let r = app.join(&user, &concert).await;
        assert_eq!(r.status, 201);
        tokens.push(r.str("token"));
    }
    let statuses: Vec<Value> = futures_util::future::join_all(tokens.iter().map(|t| poll(&app, t)))
        .await
        .into_iter()
        .map(|r| json!([r.body["status"], r.body["position"]]))
        .collect();
    assert_eq!(
        statuses,
        vec![
            json!(["ACTIVE", null]),
            json!(["ACTIVE", null]),
            json!(["WAITING", 1]),
            json!(["WAITING", 2]),
            json!(["WAITING", 3]),
        ]
    );
    let active = poll(&app, &tokens[0]).await;
    assert!(active.body["activeUntil"].is_string());

    // The first admitted leaves: the next in line is ACTIVE at once, everyone else moves up.
    let r = app
        .send(
            app.req(Method::DELETE, "queue")
                .header("X-Queue-Token", &tokens[0]),
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(poll(&app, &tokens[2]).await.body["status"], "ACTIVE");
    assert_eq!(poll(&app, &tokens[3]).await.body["position"], 1);
    assert_eq!(poll(&app, &tokens[4]).await.body["position"], 2);
    let gone = poll(&app, &tokens[0]).await;
    assert_eq!((gone.status, gone.code()), (410, "QUEUE_TOKEN_EXPIRED"));

    // A waiter who leaves lets those behind move up without admitting anyone.
    app.send(
        app.req(Method::DELETE, "queue")
            .header("X-Queue-Token", &tokens[3]),
    )
    .await;
    assert_eq!(poll(&app, &tokens[4]).await.body["position"], 1);
}

#[tokio::test]
async fn joining_twice_returns_the_same_ticket() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let user = app.user().await;
    let first = app.join(&user, &concert).await;
    assert_eq!(
        (first.status, first.body["position"].clone()),
        (201, json!(1))
    );
    let later = app.user().await;
    app.join(&later, &concert).await;
    let again = app.join(&user, &concert).await;
    assert_eq!(again.status, 200);
    assert_eq!(again.body["token"], first.body["token"]);
    assert_eq!(again.body["position"], 1, "no place lost or gained");
}

#[tokio::test]
async fn a_burst_of_joins_gets_one_ticket_per_fan_and_distinct_places() {
    // Concurrent joins are answered in batches on Redis: a fan who double-clicks inside one
    // batch still gets one ticket, and fans in one batch still get distinct places in line.
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let clicker = app.user().await;
    let clicks =
        futures_util::future::join_all((0..20).map(|_| app.join(&clicker, &concert))).await;
    assert_eq!(clicks.iter().filter(|r| r.status == 201).count(), 1);
    assert!(clicks.iter().all(|r| r.status == 200 || r.status == 201));
    assert!(
        clicks
            .iter()
            .all(|r| r.body["token"] == clicks[0].body["token"])
    );
    assert!(clicks.iter().all(|r| r.body["position"] == 1));

    let mut fans = Vec::new();
    for _ in 0..30 {
        fans.push(app.user().await);
    }
    let joins = futures_util::future::join_all(fans.iter().map(|f| app.join(f, &concert))).await;
    assert!(joins.iter().all(|r| r.status == 201));
    let mut places: Vec<u64> = joins
        .iter()
        .map(|r| r.body["position"].as_u64().expect("a WAITING position"))
        .collect();
    places.sort_unstable();
    assert_eq!(places, (2..=31).collect::<Vec<u64>>());
    // The place a join answers is the place the line keeps.
    for j in &joins {
        assert_eq!(
            poll(&app, &j.str("token")).await.body["position"],
            j.body["position"]
        );
    }
}

#[tokio::test]
async fn an_active_ticket_expires_after_its_ttl_and_admits_the_next() {
    let app = spawn_with(|s| {
        s.queue_active_limit = 1;
        s.queue_active_ttl = Duration::from_millis(800);
    })
    .await;
    let concert = app.concert().await;
    let first = app.admitted(&app.user().await, &concert).await;
    let second = app.join(&app.user().await, &concert).await.str("token");
    assert_eq!(poll(&app, &second).await.body["status"], "WAITING");
    let admitted = eventually(Duration::from_secs(5), || async {
        poll(&app, &second).await.body["status"] == "ACTIVE"
    })
    .await;
    assert!(
        admitted,
        "the waiter was admitted when the active ticket's TTL ran out"
    );
    assert_eq!(poll(&app, &first).await.status, 410);
}

#[tokio::test]
async fn idle_waiters_are_dropped_and_free_their_place() {
    let app = spawn_with(|s| {
        s.queue_active_limit = 1;
        s.queue_idle_timeout = Duration::from_millis(700);
    })
    .await;
    let concert = app.concert().await;
    let active = app.admitted(&app.user().await, &concert).await;
    let idle = app.join(&app.user().await, &concert).await.str("token");
    let polling = app.join(&app.user().await, &concert).await.str("token");
    assert_eq!(poll(&app, &polling).await.body["position"], 2);
    let moved_up = eventually(Duration::from_secs(5), || async {
        poll(&app, &polling).await.body["position"] == 1
    })
    .await;
    assert!(moved_up, "the idle waiter ahead was dropped");
    let r = poll(&app, &idle).await;
    assert_eq!((r.status, r.code()), (410, "QUEUE_TOKEN_EXPIRED"));
    // ACTIVE tickets are governed by their TTL, not the idle timeout.
    assert_eq!(poll(&app, &active).await.body["status"], "ACTIVE");
}

#[tokio::test]
async fn tokens_are_checked() {
    let app = spawn().await;
    let r = app.get("queue", None, None).await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_REQUIRED"));
    let r = poll(&app, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_INVALID"));
    let r = app
        .send(
            app.req(Method::DELETE, "queue")
                .header("X-Queue-Token", "nope"),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_INVALID"));
    let user = app.user().await;
    let r = app.join(&user, &uuid::Uuid::now_v7().to_string()).await;
    assert_eq!((r.status, r.code()), (404, "CONCERT_NOT_FOUND"));
    let concert = app.concert().await;
    let r = app
        .post(&format!("concerts/{concert}/queue"), None, None, json!({}))
        .await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    // Another instance's secret (another database) does not validate this one's tokens.
    let other = spawn().await;
    let token = app.admitted(&user, &concert).await;
    let r = poll(&other, &token).await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_INVALID"));
}

#[tokio::test]
async fn waiting_tickets_carry_an_estimate_from_observed_admissions() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let waiting = app.join(&app.user().await, &concert).await;
    assert_eq!(waiting.body["status"], "WAITING");
    assert!(
        waiting.body["estimatedWaitSeconds"].as_u64().is_some(),
        "{}",
        waiting.body
    );
    assert_eq!(waiting.body["activeUntil"], json!(null));
}

#[tokio::test]
async fn server_sent_events_push_waiting_then_active() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    let first = app.admitted(&app.user().await, &concert).await;
    let token = app.join(&app.user().await, &concert).await.str("token");

    let r = app.get("queue/events?token=forged", None, None).await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_INVALID"));

    let res = app
        .req(Method::GET, &format!("queue/events?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let mut stream = res.bytes_stream();
    let mut buf = String::new();
    let mut events: Vec<Value> = Vec::new();
    let mut left = false;
    let done = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let frame: String = buf.drain(..end + 2).collect();
                if frame.contains("event: ticket") {
                    let data = frame
                        .lines()
                        .find_map(|l| l.strip_prefix("data: "))
                        .unwrap();
                    events.push(serde_json::from_str(data).unwrap());
                }
            }
            if events.len() == 1 && !left {
                left = true;
                app.send(
                    app.req(Method::DELETE, "queue")
                        .header("X-Queue-Token", &first),
                )
                .await;
            }
        }
    })
    .await;
    assert!(done.is_ok(), "the stream ended by itself after ACTIVE");
    let seen: Vec<Value> = events
        .iter()
        .map(|e| json!([e["status"], e["position"]]))
        .collect();
    assert_eq!(seen, vec![json!(["WAITING", 1]), json!(["ACTIVE", null])]);
}

#[tokio::test]
async fn rejoining_after_leaving_goes_to_the_back() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let user = app.user().await;
    let first = app.join(&user, &concert).await.str("token");
    app.join(&app.user().await, &concert).await;
    app.send(
        app.req(Method::DELETE, "queue")
            .header("X-Queue-Token", &first),
    )
    .await;
    let again = app.join(&user, &concert).await;
    assert_eq!(again.status, 201, "a new ticket");
    assert_ne!(again.str("token"), first);
    assert_eq!(again.body["position"], 2);
}

#[tokio::test]
async fn a_streaming_waiter_outlives_the_idle_timeout_and_leaving_ends_the_stream() {
    let app = spawn_with(|s| {
        s.queue_active_limit = 1;
        s.queue_idle_timeout = Duration::from_millis(900);
    })
    .await;
    let concert = app.concert().await;
    let active = app.admitted(&app.user().await, &concert).await;
    let token = app.join(&app.user().await, &concert).await.str("token");
    let res = app
        .req(Method::GET, &format!("queue/events?token={token}"))
        .send()
        .await
        .unwrap();
    let mut stream = res.bytes_stream();
    let read = async {
        let mut text = String::new();
        while let Some(chunk) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
        }
        text
    };
    // Three idle timeouts later the streaming waiter is still in line; then it leaves.
    let leave = async {
        tokio::time::sleep(Duration::from_millis(2700)).await;
        let position = app.get("queue", None, Some(&token)).await.body["position"].clone();
        app.send(
            app.req(Method::DELETE, "queue")
                .header("X-Queue-Token", &token),
        )
        .await;
        position
    };
    let ended =
        tokio::time::timeout(Duration::from_secs(10), async { tokio::join!(read, leave) }).await;
    let (text, position) = ended.expect("the stream ended after the fan left");
    assert_eq!(position, 1);
    assert!(
        text.contains("\"EXPIRED\""),
        "the last event says EXPIRED: {text}"
    );
    assert_eq!(
        app.get("queue", None, Some(&active)).await.body["status"],
        "ACTIVE"
    );
}
