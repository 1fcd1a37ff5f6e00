//! The on-sale queue: the pre-queue and its draw, admission by the places left, sold out, and
//! the promoter's live controls.

use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::common::*;

impl TestApp {
    /// A concert whose sale opens `in_ms` from now.
    pub async fn concert_on_sale_in(&self, in_ms: i64) -> String {
        let at = chrono::Utc::now() + chrono::Duration::milliseconds(in_ms);
        let r = self
            .admin_post(
                "admin/concerts",
                json!({"title": "Hot show", "performer": "Band", "onSaleAt": at.to_rfc3339()}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.str("id")
    }

    pub async fn poll(&self, token: &str) -> Resp {
        self.get("queue", None, Some(token)).await
    }
}

fn hmac_hex(seed: &[u8], msg: &str) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(seed).unwrap();
    m.update(msg.as_bytes());
    m.finalize().into_bytes().to_vec()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pre_queue_is_drawn_at_the_on_sale_time_in_an_order_anyone_can_check() {
    let app = spawn().await;
    let concert = app.concert_on_sale_in(1500).await;
    app.schedule(&concert, 50, 1000).await;
    let r = app
        .admin_patch(
            &format!("admin/concerts/{concert}/queue"),
            json!({"activeLimit": 2}),
        )
        .await;
    assert_eq!(
        (r.status, &r.body["activeLimit"]),
        (200, &json!(2)),
        "{}",
        r.body
    );
    let mut tokens = Vec::new();
    for _ in 0..8 {
        let fan = app.user().await;
        let t = app.join(&fan, &concert).await;
        assert_eq!(t.status, 201, "{}", t.body);
        assert_eq!(t.body["status"], "PRE_QUEUE");
        assert_eq!(t.body["position"], Value::Null);
        assert!(t.body["onSaleAt"].is_string());
        tokens.push((t.str("token"), t.str("ticketId")));
    }
    let before = app
        .get(&format!("concerts/{concert}/queue/draw"), None, None)
        .await;
    assert_eq!(
        before.body["seed"],
        Value::Null,
        "secret until the sale opens"
    );
    assert_eq!(before.body["drawn"], false);
    let commitment = before.str("commitment");
    assert_eq!(app.poll(&tokens[0].0).await.body["status"], "PRE_QUEUE");

    tokio::time::sleep(Duration::from_millis(1600)).await;
    let late = app.user().await;
    let late = app.join(&late, &concert).await;
    assert_eq!(
        late.body["status"], "WAITING",
        "a join after the sale opens: behind the draw"
    );
    assert_eq!(late.body["position"], 7, "{}", late.body);

    let draw = app
        .get(&format!("concerts/{concert}/queue/draw"), None, None)
        .await;
    assert_eq!(draw.body["drawn"], true);
    let seed = unhex(&draw.str("seed"));
    assert_eq!(
        hex(&Sha256::digest(&seed)),
        commitment,
        "the seed matches its commitment"
    );
    let drawn: Vec<String> = serde_json::from_value(draw.body["ticketIds"].clone()).unwrap();
    let mut recomputed: Vec<String> = tokens.iter().map(|(_, id)| id.clone()).collect();
    recomputed.sort_by_key(|id| hmac_hex(&seed, id));
    assert_eq!(drawn, recomputed, "the published order is the HMAC order");
    // The line follows the draw: the first two are in, the rest wait in drawn order.
    for (i, id) in drawn.iter().enumerate() {
        let token = &tokens.iter().find(|(_, t)| t == id).unwrap().0;
        let t = app.poll(token).await;
        if i < 2 {
            assert_eq!(t.body["status"], "ACTIVE", "drawn {i}");
        } else {
            assert_eq!(t.body["position"], (i - 1) as u64, "drawn {i}");
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_admits_no_more_fans_than_there_are_places_and_says_when_it_is_sold_out() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 2, 1000).await;
    let mut fans = Vec::new();
    for _ in 0..5 {
        let fan = app.user().await;
        let t = app.join(&fan, &concert).await;
        fans.push((fan, t.str("token"), t.body.clone()));
    }
    let statuses: Vec<&Value> = fans.iter().map(|f| &f.2["status"]).collect();
    assert_eq!(
        statuses,
        ["ACTIVE", "ACTIVE", "WAITING", "WAITING", "WAITING"]
    );
    assert_eq!(fans[4].2["seatsLeft"], 2);
    // Both places sold: the waiters learn it, and joins are refused.
    for (i, (fan, token, _)) in fans.iter().take(2).enumerate() {
        app.charge(fan, 10_000).await;
        let r = app.hold(fan, token, &schedule, i as i64 + 1).await;
        assert_eq!(app.pay(fan, &r.str("id"), None).await.status, 201);
    }
    let sold_out = eventually(Duration::from_secs(3), || async {
        app.poll(&fans[2].1).await.body["status"] == "SOLD_OUT"
    })
    .await;
    assert!(sold_out, "a waiter sees SOLD_OUT");
    // SOLD_OUT is final for every ticket not ACTIVE: one that is gone (its fan bought) too.
    let bought = app.poll(&fans[0].1).await;
    assert_eq!(
        (bought.status, &bought.body["status"]),
        (200, &json!("SOLD_OUT"))
    );
    let r = app.join(&app.user().await, &concert).await;
    assert_eq!((r.status, r.code()), (409, "SOLD_OUT"));
    let c = app.get(&format!("concerts/{concert}"), None, None).await;
    assert_eq!(c.body["soldOut"], true);
}

/// A fan admitted before the sell-out keeps their ACTIVE time; the waiter behind reads SOLD_OUT.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_active_fan_stays_active_when_the_show_sells_out_around_them() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 2, 1000).await;
    let mut fans = Vec::new();
    for _ in 0..3 {
        let fan = app.user().await;
        let t = app.join(&fan, &concert).await;
        fans.push((fan, t.str("token")));
    }
    let (buyer, token) = &fans[0];
    app.charge(buyer, 10_000).await;
    let both = json!({"scheduleId": schedule, "grade": "GENERAL", "quantity": 2});
    let r = app
        .post("reservations", Some(buyer), Some(token), both)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(app.pay(buyer, &r.str("id"), None).await.status, 201);
    let sold_out = eventually(Duration::from_secs(3), || async {
        app.poll(&fans[2].1).await.body["status"] == "SOLD_OUT"
    })
    .await;
    assert!(sold_out, "the waiter sees SOLD_OUT");
    let t = app.poll(&fans[1].1).await;
    assert_eq!(t.body["status"], "ACTIVE", "{}", t.body);
    assert!(t.body["activeUntil"].is_string());
}

/// The statuses a ticket's event stream has sent, each change once, and whether the server
/// closed it.
#[derive(Default)]
struct Statuses {
    seen: Vec<String>,
    ended: bool,
}

impl Statuses {
    /// Reads on until the stream sends one of `until`, ends, or 10 s pass.
    async fn read_until(
        &mut self,
        stream: &mut (impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin),
        until: &[&str],
    ) {
        use futures_util::StreamExt;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let chunk = match tokio::time::timeout_at(deadline, stream.next()).await {
                Ok(Some(Ok(chunk))) => chunk,
                Ok(None) => {
                    self.ended = true;
                    return;
                }
                _ => return,
            };
            for line in String::from_utf8_lossy(&chunk).lines() {
                let Some(data) = line.strip_prefix("data:") else {
                    continue;
                };
                let t: Value = serde_json::from_str(data.trim()).unwrap();
                let status = t["status"].as_str().unwrap().to_owned();
                if self.seen.last() != Some(&status) {
                    self.seen.push(status);
                }
            }
            if self
                .seen
                .last()
                .is_some_and(|s| until.contains(&s.as_str()))
            {
                return;
            }
        }
    }
}

/// The event stream of a ticket.
async fn events(
    app: &TestApp,
    token: &str,
) -> impl futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Unpin + use<> {
    app.client
        .get(format!("{}/api/v1/queue/events?token={token}", app.base))
        .send()
        .await
        .unwrap()
        .bytes_stream()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_streams_pre_queue_then_waiting_then_active() {
    let app = spawn().await;
    let concert = app.concert_on_sale_in(800).await;
    app.schedule(&concert, 10, 1000).await;
    let path = format!("admin/concerts/{concert}/queue");
    app.admin_patch(&path, json!({"paused": true})).await;
    let fan = app.user().await;
    let token = app.join(&fan, &concert).await.str("token");
    let mut stream = events(&app, &token).await;
    let mut statuses = Statuses::default();
    statuses.read_until(&mut stream, &["WAITING"]).await;
    // The sale opened with the queue paused; open the gate.
    app.admin_patch(&path, json!({"paused": false})).await;
    statuses.read_until(&mut stream, &["ACTIVE"]).await;
    assert_eq!(statuses.seen, ["PRE_QUEUE", "WAITING", "ACTIVE"]);
}

/// A waiter's stream says SOLD_OUT when the fan ahead buys the last place, and ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_streams_sold_out_when_the_last_place_sells() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 1, 1000).await;
    let buyer = app.user().await;
    let token = app.admitted(&buyer, &concert).await;
    let waiter = app.user().await;
    let t = app.join(&waiter, &concert).await;
    assert_eq!(t.body["status"], "WAITING");
    let mut stream = events(&app, &t.str("token")).await;
    let mut statuses = Statuses::default();
    statuses.read_until(&mut stream, &["WAITING"]).await;
    app.charge(&buyer, 10_000).await;
    let r = app.hold(&buyer, &token, &schedule, 1).await;
    assert_eq!(app.pay(&buyer, &r.str("id"), None).await.status, 201);
    statuses.read_until(&mut stream, &[]).await;
    assert_eq!(statuses.seen, ["WAITING", "SOLD_OUT"]);
    assert!(statuses.ended, "the stream ends on SOLD_OUT");
}

#[tokio::test]
async fn a_paused_queue_admits_nobody_and_waiters_keep_their_places() {
    let app = spawn().await;
    let concert = app.concert().await;
    app.schedule(&concert, 10, 1000).await;
    let path = format!("admin/concerts/{concert}/queue");
    let r = app.admin_patch(&path, json!({"paused": true})).await;
    assert_eq!(
        (r.status, &r.body["paused"]),
        (200, &json!(true)),
        "{}",
        r.body
    );
    let fan = app.user().await;
    let t = app.join(&fan, &concert).await;
    assert_eq!(
        (t.body["status"].as_str(), &t.body["position"]),
        (Some("WAITING"), &json!(1))
    );
    let view = app.admin_get(&path).await;
    assert_eq!(view.body["waiting"], 1);
    assert_eq!(view.body["active"], 0);
    assert_eq!(view.body["freePlaces"], 10);
    app.admin_patch(&path, json!({"paused": false})).await;
    let admitted = eventually(Duration::from_secs(3), || async {
        app.poll(&t.str("token")).await.body["status"] == "ACTIVE"
    })
    .await;
    assert!(admitted, "unpaused, the waiter is let in");
    for bad in [
        json!({"activeLimit": -1}),
        json!({"admitPerMinute": -5}),
        json!({"activeLimit": 2_000_000}),
        json!({"paused": "yes"}),
        json!({"speed": 3}),
    ] {
        let r = app.admin_patch(&path, bad.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{bad}");
    }
    let r = app.admin_patch(&path, json!({"admitPerMinute": 30})).await;
    assert_eq!(r.body["admitPerMinute"], 30);
    let r = app
        .admin_patch(&path, json!({"admitPerMinute": null}))
        .await;
    assert_eq!(r.body["admitPerMinute"], Value::Null);
}

#[tokio::test]
async fn admissions_per_minute_cap_how_many_are_let_in() {
    let app = spawn().await;
    let concert = app.concert().await;
    app.schedule(&concert, 50, 1000).await;
    app.admin_patch(
        &format!("admin/concerts/{concert}/queue"),
        json!({"admitPerMinute": 3}),
    )
    .await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let t = app.join(&app.user().await, &concert).await;
        statuses.push(t.body["status"].as_str().unwrap().to_owned());
    }
    assert_eq!(
        statuses,
        ["ACTIVE", "ACTIVE", "ACTIVE", "WAITING", "WAITING"]
    );
}

/// A young queue does not promise seconds off one admission: until enough admissions are seen,
/// the range reaches the time an admitted fan may keep their slot.
#[tokio::test]
async fn a_young_queue_shows_a_wait_range_up_to_the_active_time() {
    let app = spawn_with(|s| {
        s.queue_active_limit = 1;
        s.queue_active_ttl = Duration::from_secs(600);
        s.hold_ttl = Duration::from_secs(300);
    })
    .await;
    let concert = app.concert().await;
    app.schedule(&concert, 10, 1000).await;
    app.join(&app.user().await, &concert).await;
    app.join(&app.user().await, &concert).await;
    let third = app.join(&app.user().await, &concert).await;
    assert_eq!(third.body["position"], 2);
    let range = &third.body["estimatedWait"];
    assert!(
        range["high"].as_u64().unwrap() >= 1200,
        "two turns of up to 10 minutes: {range}"
    );
    assert!(range["low"].as_u64().unwrap() <= range["high"].as_u64().unwrap());
    let mid = third.body["estimatedWaitSeconds"].as_u64().unwrap();
    assert!(mid > 60, "not a few seconds: {mid}");
}

/// Once the sale has opened the seed is public: the on-sale time cannot move.
#[tokio::test]
async fn the_on_sale_time_is_fixed_once_the_sale_has_opened() {
    let app = spawn().await;
    let concert = app.concert_on_sale_in(3_600_000).await;
    let later = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
    let r = app
        .admin_patch(
            &format!("admin/concerts/{concert}"),
            json!({"onSaleAt": later}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(300)).to_rfc3339();
    app.admin_patch(
        &format!("admin/concerts/{concert}"),
        json!({"onSaleAt": soon}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = app
        .admin_patch(
            &format!("admin/concerts/{concert}"),
            json!({"onSaleAt": later}),
        )
        .await;
    assert_eq!(
        (r.status, r.code()),
        (422, "VALIDATION_FAILED"),
        "{}",
        r.body
    );
    let draw = app
        .get(&format!("concerts/{concert}/queue/draw"), None, None)
        .await;
    assert!(
        draw.body["seed"].is_string(),
        "revealed at the on-sale time"
    );
}
