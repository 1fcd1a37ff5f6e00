//! Webhooks: registration and its checks, every event type delivered and signed, retries past
//! failures, and an instance killed mid-delivery losing nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::common::*;
use crate::restart;

/// A local endpoint: answers 500 to its first `fail_first` requests (or holds the first one
/// for a minute when `hang_first`), then 200, and keeps every request it got.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    hang_first: bool,
}

impl Receiver {
    async fn start(fail_first: usize, hang_first: bool) -> (Receiver, String) {
        let r = Receiver {
            fail_first,
            hang_first,
            ..Receiver::default()
        };
        let state = r.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let state = state.clone();
                async move {
                    let n = state.calls.fetch_add(1, Ordering::SeqCst);
                    if state.hang_first && n == 0 {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                    }
                    if n < state.fail_first {
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    state.got.lock().push((headers, body));
                    StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (r, url)
    }

    /// The events received, each checked against its signature; at least once each, so
    /// repeats are kept.
    fn events(&self, secret: &str) -> Vec<Value> {
        self.got
            .lock()
            .iter()
            .map(|(headers, body)| {
                let sig = headers["encore-signature"].to_str().unwrap();
                let (t, v1) = sig
                    .strip_prefix("t=")
                    .and_then(|s| s.split_once(",v1="))
                    .expect("t=…,v1=…");
                let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
                mac.update(format!("{t}.{body}").as_bytes());
                let want: String = mac
                    .finalize()
                    .into_bytes()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                assert_eq!(v1, want, "the signature verifies");
                let event: Value = serde_json::from_str(body).unwrap();
                assert_eq!(headers["encore-event"], event["type"].as_str().unwrap());
                assert_eq!(headers["encore-delivery"], event["id"].as_str().unwrap());
                event
            })
            .collect()
    }

    fn types(&self, secret: &str) -> Vec<String> {
        self.events(secret)
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_owned())
            .collect()
    }
}

const ALL: [&str; 5] = [
    "reservation.confirmed",
    "reservation.refunded",
    "schedule.cancelled",
    "ticket.checked_in",
    "concert.sold_out",
];

async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let r = app
        .admin_post("admin/webhooks", json!({"url": url, "events": events}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (r.str("id"), r.str("secret"))
}

fn quick(s: &mut encore::config::Settings) {
    s.webhook_allow_private = true;
    s.webhook_retry_base = Duration::from_millis(100);
}

#[tokio::test]
async fn a_webhook_is_checked_listed_without_its_secret_and_deleted() {
    let app = spawn().await;
    for (body, why) in [
        (
            json!({"url": "http://127.0.0.1:9/hook", "events": ["concert.sold_out"]}),
            "loopback",
        ),
        (
            json!({"url": "http://169.254.169.254/", "events": ["concert.sold_out"]}),
            "link-local",
        ),
        (
            json!({"url": "http://localhost/", "events": ["concert.sold_out"]}),
            "localhost",
        ),
        (
            json!({"url": "ftp://example.com/", "events": ["concert.sold_out"]}),
            "scheme",
        ),
        (
            json!({"url": "https://example.com/", "events": []}),
            "no events",
        ),
        (
            json!({"url": "https://example.com/", "events": ["seat.sneezed"]}),
            "unknown event",
        ),
        (
            json!({"url": "https://example.com/", "events": ["concert.sold_out", "concert.sold_out"]}),
            "repeat",
        ),
        (json!({"url": "https://example.com/"}), "events missing"),
    ] {
        let r = app.admin_post("admin/webhooks", body).await;
        assert_eq!(r.status, 422, "{why}: {}", r.body);
    }
    assert_eq!(
        app.admin_get("admin/webhooks").await.body["items"],
        json!([]),
        "a refused webhook is not stored"
    );
    let fan = app.user().await;
    let r = app
        .post(
            "admin/webhooks",
            Some(&fan),
            None,
            json!({"url": "https://example.com/", "events": ["concert.sold_out"]}),
        )
        .await;
    assert_eq!(r.status, 403);

    let (id, secret) = register(&app, "https://example.com/hooks", &ALL).await;
    assert!(
        secret.starts_with("whsec_") && secret.len() > 30,
        "{secret}"
    );
    let list = app.admin_get("admin/webhooks").await;
    let item = &list.body["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert_eq!(item["events"], json!(ALL));
    assert!(
        item.get("secret").is_none(),
        "the secret is shown once: {item}"
    );
    let log = app
        .admin_get(&format!("admin/webhooks/{id}/deliveries"))
        .await;
    assert_eq!(log.status, 200);
    assert_eq!(log.body["items"], json!([]));
    for bad in ["limit=0", "limit=null", "limit=201", "cursor=%%%"] {
        let r = app
            .admin_get(&format!("admin/webhooks/{id}/deliveries?{bad}"))
            .await;
        assert_eq!(r.status, 422, "{bad}: {}", r.body);
    }

    let gone = app
        .delete(&format!("admin/webhooks/{id}"), None, None)
        .await;
    assert_eq!(gone.status, 401);
    let gone = app
        .send(
            app.req(reqwest::Method::DELETE, &format!("admin/webhooks/{id}"))
                .bearer_auth(ADMIN),
        )
        .await;
    assert_eq!(gone.status, 204);
    let again = app
        .send(
            app.req(reqwest::Method::DELETE, &format!("admin/webhooks/{id}"))
                .bearer_auth(ADMIN),
        )
        .await;
    assert_eq!(again.status, 404);
    assert_eq!(again.code(), "WEBHOOK_NOT_FOUND");
    assert_eq!(
        app.admin_get(&format!("admin/webhooks/{id}/deliveries"))
            .await
            .status,
        404
    );
}

#[tokio::test]
async fn every_event_type_arrives_signed_though_the_first_three_attempts_fail() {
    let app = spawn_with(quick).await;
    let (receiver, url) = Receiver::start(3, false).await;
    let (hook, secret) = register(&app, &url, &ALL).await;
    // Only the events a webhook asked for reach it.
    let (picky, picky_url) = Receiver::start(0, false).await;
    let (_, picky_secret) = register(&app, &picky_url, &["ticket.checked_in"]).await;

    let concert = app.concert().await;
    let kept = app.schedule(&concert, 2, 1_000).await;
    let fan = app.user().await;
    app.charge(&fan, 10_000).await;
    let first = app.bought(&fan, &concert, &kept, 1).await;
    let second = app.bought(&fan, &concert, &kept, 2).await;
    // Both places sold: the concert is sold out (seen within a second by a read of it).
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.get(&format!("concerts/{concert}"), None, None)
                .await
                .body["soldOut"]
                == true
        })
        .await
    );
    let code = app.tickets(&fan, &first).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = app.scan(ADMIN, &code).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let refunded = app
        .post(
            &format!("reservations/{second}/refund"),
            Some(&fan),
            None,
            json!({}),
        )
        .await;
    assert_eq!(refunded.status, 200, "{}", refunded.body);
    let cancelled = app
        .admin_post(&format!("admin/schedules/{kept}/cancel"), json!({}))
        .await;
    assert_eq!(cancelled.status, 202);

    // confirmed ×2, sold out, checked in, refunded (the fan's), cancelled, refunded (the job's).
    let arrived = eventually(Duration::from_secs(30), || async {
        let mut seen = receiver.types(&secret);
        seen.sort();
        seen.dedup();
        seen.len() == 5 && receiver.events(&secret).len() >= 7
    })
    .await;
    assert!(
        arrived,
        "every event arrived: {:?}",
        receiver.types(&secret)
    );
    let events = receiver.events(&secret);
    let of = |t: &str| {
        events
            .iter()
            .filter(|e| e["type"] == t)
            .cloned()
            .collect::<Vec<_>>()
    };
    let confirmed = of("reservation.confirmed");
    assert_eq!(confirmed.len(), 2, "{confirmed:?}");
    assert_eq!(confirmed[0]["data"]["scheduleId"], kept.as_str());
    assert!(
        confirmed
            .iter()
            .any(|e| e["data"]["reservationId"] == first.as_str())
    );
    assert_eq!(
        of("concert.sold_out")[0]["data"]["concertId"],
        concert.as_str()
    );
    assert_eq!(
        of("ticket.checked_in")[0]["data"]["reservationId"],
        first.as_str()
    );
    let refunds = of("reservation.refunded");
    assert_eq!(refunds.len(), 2, "{refunds:?}");
    assert!(
        refunds
            .iter()
            .any(|e| e["data"]["reservationId"] == second.as_str()
                && e["data"]["reason"] == "REFUND")
    );
    assert!(
        refunds
            .iter()
            .any(|e| e["data"]["reservationId"] == first.as_str()
                && e["data"]["reason"] == "SCHEDULE_CANCELLED")
    );
    assert_eq!(
        of("schedule.cancelled")[0]["data"]["scheduleId"],
        kept.as_str()
    );
    for e in &events {
        assert!(e["createdAt"].is_string() && e["id"].is_string(), "{e}");
    }
    assert_eq!(picky.types(&picky_secret), ["ticket.checked_in"]);

    // The log: the failed attempts were counted and everything ends DELIVERED.
    let delivered = eventually(Duration::from_secs(10), || async {
        let log = app
            .admin_get(&format!("admin/webhooks/{hook}/deliveries"))
            .await;
        log.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["status"] == "DELIVERED")
    })
    .await;
    assert!(delivered);
    let log = app
        .admin_get(&format!("admin/webhooks/{hook}/deliveries"))
        .await;
    let items = log.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 7, "{}", log.body);
    let attempts: i64 = items.iter().map(|d| d["attempts"].as_i64().unwrap()).sum();
    assert_eq!(attempts, 7 + 3, "three attempts failed: {}", log.body);
    assert!(items.iter().any(|d| d["lastStatusCode"] == 200));
}

#[tokio::test]
async fn a_delivery_past_24_hours_of_failures_is_marked_failed() {
    let app = spawn_with(quick).await;
    let (_receiver, url) = Receiver::start(usize::MAX, false).await;
    let (hook, _) = register(&app, &url, &["reservation.confirmed"]).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 2, 1_000).await;
    let fan = app.user().await;
    app.charge(&fan, 10_000).await;
    app.bought(&fan, &concert, &schedule, 1).await;
    let path = format!("admin/webhooks/{hook}/deliveries");
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.admin_get(&path).await.body["items"][0]["attempts"].as_i64() >= Some(2)
        })
        .await
    );
    let pending = app.admin_get(&path).await;
    assert_eq!(pending.body["items"][0]["status"], "PENDING");
    assert_eq!(pending.body["items"][0]["lastStatusCode"], 500);
    // The event is a day old: the next failure is the last.
    app.db_exec("UPDATE webhook_deliveries SET created_at = created_at - 86400000")
        .await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            app.admin_get(&path).await.body["items"][0]["status"] == "FAILED"
        })
        .await
    );
    let failed = app.admin_get(&path).await;
    assert!(failed.body["items"][0]["nextAttemptAt"].is_null());
}

#[tokio::test]
async fn an_instance_killed_mid_delivery_loses_no_event() {
    let (receiver, url) = Receiver::start(0, true).await;
    let env = [
        ("ENCORE_WEBHOOK_ALLOW_PRIVATE", "on"),
        ("ENCORE_WEBHOOK_RETRY_BASE", "100ms"),
        ("ENCORE_WEBHOOK_TIMEOUT", "1s"),
    ];
    let victim = restart::start(TestDb::new().await, &env).await;
    let app = &victim.app;
    let (_, secret) = register(app, &url, &["reservation.confirmed"]).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 2, 1_000).await;
    let fan = app.user().await;
    app.charge(&fan, 10_000).await;
    let rid = app.bought(&fan, &concert, &schedule, 1).await;
    // The first attempt is under way (the receiver holds it): kill the instance now.
    assert!(
        eventually(Duration::from_secs(10), || async {
            receiver.calls.load(Ordering::SeqCst) >= 1
        })
        .await
    );
    let db = victim.stop("-KILL");
    let survivor = restart::start(db, &env).await;
    let arrived = eventually(Duration::from_secs(20), || async {
        !receiver.events(&secret).is_empty()
    })
    .await;
    assert!(arrived, "the event was delivered after the kill");
    let events = receiver.events(&secret);
    assert!(
        events
            .iter()
            .all(|e| e["data"]["reservationId"] == rid.as_str())
    );
    drop(survivor.stop("-TERM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn three_instances_deliver_each_event_once_between_them() {
    let apps = spawn_cluster(3, quick).await;
    let app = &apps[0];
    let (receiver, url) = Receiver::start(0, false).await;
    let (_, secret) = register(app, &url, &["reservation.confirmed"]).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 60, 100).await;
    let fans = app.admitted_fans(&concert, 30).await;
    let schedule = &schedule;
    let sold = futures_util::future::join_all(fans.iter().enumerate().map(|(i, (fan, token))| {
        let app = &apps[i % 3];
        async move {
            app.charge(fan, 1_000).await;
            let hold = app.hold(fan, token, schedule, i as i64 + 1).await;
            assert_eq!(hold.status, 201, "{}", hold.body);
            let rid = hold.str("id");
            assert_eq!(app.pay(fan, &rid, None).await.status, 201);
            rid
        }
    }))
    .await;
    let all = eventually(Duration::from_secs(20), || async {
        receiver.events(&secret).len() >= sold.len()
    })
    .await;
    assert!(
        all,
        "{} of {} arrived",
        receiver.events(&secret).len(),
        sold.len()
    );
    // Let any duplicate claim show itself.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut got: Vec<String> = receiver
        .events(&secret)
        .iter()
        .map(|e| e["data"]["reservationId"].as_str().unwrap().to_owned())
        .collect();
    got.sort();
    let mut want = sold.clone();
    want.sort();
    assert_eq!(
        got, want,
        "each event once, by whichever instance claimed it"
    );
}
