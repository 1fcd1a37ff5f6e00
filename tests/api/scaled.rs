//! PostgreSQL + Redis only: several instances on one database and one queue, and what happens
//! when Redis or PostgreSQL goes away and comes back.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use crate::proxy::Proxy;
use crate::restart;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn the_active_cap_and_fifo_order_hold_across_instances() {
    let apps = spawn_cluster(3, |s| s.queue_active_limit = 3).await;
    let concert = apps[0].concert().await;
    let mut tokens = Vec::new();
    for i in 0..9 {
        let app = &apps[i % 3];
        tokens.push(app.join(&app.user().await, &concert).await.str("token"));
    }
    for (i, t) in tokens.iter().enumerate() {
        let r = apps[(i + 1) % 3].get("queue", None, Some(t)).await;
        if i < 3 {
            assert_eq!(r.body["status"], "ACTIVE", "joiner {i}");
        } else {
            assert_eq!(
                r.body["position"],
                json!(i - 2),
                "joiner {i} keeps join order on every instance"
            );
        }
    }
    // A burst of joins over all instances never admits past the cap.
    let mut users = Vec::new();
    for i in 0..30 {
        users.push((i % 3, apps[i % 3].user().await));
    }
    let joined =
        futures_util::future::join_all(users.iter().map(|(i, u)| apps[*i].join(u, &concert))).await;
    assert!(
        joined
            .iter()
            .all(|r| r.status == 201 && r.body["status"] == "WAITING")
    );
    // One leaves on instance 2: the 4th joiner is in at once, as seen from instance 0.
    apps[2]
        .send(
            apps[2]
                .req(Method::DELETE, "queue")
                .header("X-Queue-Token", &tokens[0]),
        )
        .await;
    assert_eq!(
        apps[0].get("queue", None, Some(&tokens[3])).await.body["status"],
        "ACTIVE"
    );
    assert_eq!(
        apps[1].get("queue", None, Some(&tokens[4])).await.body["position"],
        1
    );
    let metrics = apps[0]
        .client
        .get(format!("{}/metrics", apps[0].base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!(
            "encore_queue_active{{concert_id=\"{concert}\"}} 3"
        )),
        "{metrics}"
    );
    assert!(
        metrics.contains(&format!(
            "encore_queue_waiting{{concert_id=\"{concert}\"}} 35"
        )),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_hundred_racers_over_three_instances_make_one_winner() {
    let apps = spawn_cluster(3, |_| {}).await;
    let concert = apps[0].concert().await;
    let schedule = apps[0].schedule(&concert, 100, 100).await;
    let mut racers = Vec::new();
    for i in 0..100 {
        let app = &apps[i % 3];
        let user = app.user().await;
        let token = app.admitted(&user, &concert).await;
        racers.push((i % 3, user, token));
    }
    let results = futures_util::future::join_all(
        racers
            .iter()
            .map(|(i, u, t)| apps[*i].hold(u, t, &schedule, 1)),
    )
    .await;
    let won = results.iter().filter(|r| r.status == 201).count();
    let lost = results
        .iter()
        .filter(|r| r.code() == "SEAT_UNAVAILABLE")
        .count();
    assert_eq!((won, lost), (1, 99));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_hold_made_on_one_instance_is_paid_on_another_once() {
    let apps = spawn_cluster(3, |s| s.queue_active_limit = 1).await;
    let concert = apps[0].concert().await;
    let schedule = apps[0].schedule(&concert, 5, 1000).await;
    let user = apps[0].user().await;
    apps[1].charge(&user, 10_000).await;
    let token = apps[0].admitted(&user, &concert).await;
    let waiter = apps[2].user().await;
    let waiting = apps[2].join(&waiter, &concert).await.str("token");
    let rid = apps[0].hold(&user, &token, &schedule, 2).await.str("id");
    // Twenty concurrent payments spread over the instances: one debit.
    let results =
        futures_util::future::join_all((0..20).map(|i| apps[i % 3].pay(&user, &rid, None))).await;
    assert_eq!(results.iter().filter(|r| r.status == 201).count(), 1);
    assert_eq!(
        results
            .iter()
            .filter(|r| r.code() == "ALREADY_PAID")
            .count(),
        19
    );
    assert_eq!(
        apps[2].get("wallet", Some(&user), None).await.body["balance"],
        9000
    );
    // The payer's ticket ended on every instance and the waiter is in.
    assert_eq!(apps[1].get("queue", None, Some(&token)).await.status, 410);
    assert_eq!(
        apps[0].get("queue", None, Some(&waiting)).await.body["status"],
        "ACTIVE"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn an_event_stream_on_one_instance_sees_an_admission_made_by_another() {
    let apps = spawn_cluster(2, |s| s.queue_active_limit = 1).await;
    let concert = apps[0].concert().await;
    let first = apps[1].admitted(&apps[1].user().await, &concert).await;
    let token = apps[0]
        .join(&apps[0].user().await, &concert)
        .await
        .str("token");
    let res = apps[0]
        .req(Method::GET, &format!("queue/events?token={token}"))
        .send()
        .await
        .unwrap();
    let mut stream = res.bytes_stream();
    let mut text = String::new();
    let mut left = false;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = stream.next().await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if !left && text.contains("\"WAITING\"") {
                left = true;
                apps[1]
                    .send(
                        apps[1]
                            .req(Method::DELETE, "queue")
                            .header("X-Queue-Token", &first),
                    )
                    .await;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "stream ended after ACTIVE: {text}");
    assert!(text.contains("\"ACTIVE\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn an_instance_killed_mid_traffic_loses_nothing_acknowledged() {
    let victim = restart::start(TestDb::scaled().await, &[]).await;
    let survivor = restart::start(victim.app.db.clone(), &[]).await;
    let user = victim.app.user().await;
    let app = &victim.app;
    // The kill waits for the first acknowledgements, not for a fixed time, so it lands
    // mid-traffic however slow the machine is.
    let acknowledged = std::sync::atomic::AtomicUsize::new(0);
    let charges = futures_util::future::join_all((0..300).map(|i| {
        let rb = with(app.req(Method::POST, "wallet/charges"), Some(&user), None)
            .timeout(Duration::from_secs(5))
            .json(&json!({"amount": 1}));
        let acknowledged = &acknowledged;
        async move {
            tokio::time::sleep(Duration::from_millis(2 * i)).await;
            let res = rb.send().await.ok();
            if res.as_ref().is_some_and(|r| r.status() == 200) {
                acknowledged.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            res
        }
    }));
    let killer = async {
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while acknowledged.load(std::sync::atomic::Ordering::Relaxed) < 10
            && std::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        victim.stop("-KILL")
    };
    let (results, _) = tokio::join!(charges, killer);
    let mut acked = Vec::new();
    for res in results.into_iter().flatten() {
        if res.status() == 200
            && let Ok(body) = res.json::<Value>().await
        {
            acked.push(body["transaction"]["id"].as_str().unwrap().to_owned());
        }
    }
    assert!(
        !acked.is_empty() && acked.len() < 300,
        "the kill landed mid-traffic ({} acknowledged)",
        acked.len()
    );
    let app = &survivor.app;
    let balance = app.get("wallet", Some(&user), None).await.body["balance"]
        .as_i64()
        .unwrap();
    let ledger = app
        .get("wallet/transactions?limit=200", Some(&user), None)
        .await;
    let mut ids: Vec<String> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect();
    let mut cursor = ledger.body["nextCursor"].as_str().map(str::to_owned);
    while let Some(c) = cursor {
        let page = app
            .get(
                &format!("wallet/transactions?limit=200&cursor={c}"),
                Some(&user),
                None,
            )
            .await;
        ids.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["id"].as_str().unwrap().to_owned()),
        );
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(balance, ids.len() as i64, "balance equals the ledger");
    for id in &acked {
        assert!(
            ids.contains(id),
            "acknowledged charge {id} is in the ledger"
        );
    }
    drop(survivor.stop("-TERM"));
}

fn target(url: &str) -> std::net::SocketAddr {
    let hostport = url.split("://").nth(1).unwrap().split('/').next().unwrap();
    let hostport = hostport.rsplit('@').next().unwrap();
    hostport.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn redis_away_fails_closed_and_recovers_by_itself() {
    let proxy = Proxy::start(target(&single_redis_url())).await;
    let app = spawn_scaled_with(|s| s.redis_url = Some(format!("redis://{}", proxy.addr))).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 100).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;

    proxy.block();
    let r = app.get("queue", None, Some(&token)).await;
    assert_eq!((r.status, r.code()), (503, "QUEUE_UNAVAILABLE"));
    let r = app.hold(&user, &token, &schedule, 1).await;
    assert_eq!(
        (r.status, r.code()),
        (503, "QUEUE_UNAVAILABLE"),
        "nobody is let in unchecked"
    );
    let r = app.join(&app.user().await, &concert).await;
    assert_eq!((r.status, r.code()), (503, "QUEUE_UNAVAILABLE"));
    let r = app.get("/ready", None, None).await;
    assert_eq!((r.status, r.code()), (503, "QUEUE_UNAVAILABLE"));
    assert_eq!(
        app.get("concerts", None, None).await.status,
        200,
        "the catalogue does not need Redis"
    );

    proxy.unblock();
    let back = eventually(Duration::from_secs(15), || async {
        app.get("queue", None, Some(&token)).await.status == 200
    })
    .await;
    assert!(back, "encore reconnected to Redis without a restart");
    assert_eq!(app.get("/ready", None, None).await.status, 200);
    assert_eq!(app.hold(&user, &token, &schedule, 1).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn postgres_away_fails_closed_and_recovers_by_itself() {
    let db = TestDb::scaled().await;
    let proxy = Proxy::start(target(&pg_base_url())).await;
    let name = db.database_url.rsplit('/').next().unwrap().to_owned();
    let mut settings = db.settings();
    settings.database_url = format!("postgres://postgres@{}/{name}", proxy.addr);
    let app = spawn_on(db, settings).await;
    let user = app.user().await;

    proxy.block();
    let r = app.post("users", None, None, json!({"name": "late"})).await;
    assert_eq!((r.status, r.code()), (503, "DATABASE_UNAVAILABLE"));
    let r = app.get("/ready", None, None).await;
    assert_eq!((r.status, r.code()), (503, "DATABASE_UNAVAILABLE"));

    proxy.unblock();
    let back = eventually(Duration::from_secs(20), || async {
        app.post("users", None, None, json!({"name": "back"}))
            .await
            .status
            == 201
    })
    .await;
    assert!(back, "encore reconnected to PostgreSQL without a restart");
    assert_eq!(app.get("wallet", Some(&user), None).await.status, 200);
}

/// Twenty orders of one fan, spread over three instances at once, never pass the cap of places
/// per fan: it is counted under the fan's lock inside the hold's own transaction.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn one_fans_orders_over_three_instances_never_pass_the_cap() {
    let apps = spawn_cluster(3, |s| s.max_holds_per_user = 20).await;
    let concert = apps[0].concert().await;
    let schedule = apps[0].schedule(&concert, 40, 1000).await;
    let fan = apps[0].user().await;
    let token = apps[0].admitted(&fan, &concert).await;
    let answers = futures_util::future::join_all((0..20).map(|i| {
        apps[i % 3].post(
            "reservations",
            Some(&fan),
            Some(&token),
            json!({"scheduleId": schedule, "seats": [format!("MAIN-1-{}", i + 1), format!("MAIN-1-{}", i + 21)]}),
        )
    }))
    .await;
    let held = answers.iter().filter(|r| r.status == 201).count();
    assert_eq!(held, 2, "two orders of two places reach the cap of four");
    assert!(
        answers
            .iter()
            .all(|r| r.status == 201 || r.code() == "TICKET_LIMIT_REACHED")
    );
}

/// With three instances reaching the on-sale time together, the pre-queue is drawn once, and
/// every instance admits in the drawn order; a pause set through one instance stops admissions
/// on the others within a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn three_instances_draw_once_and_admit_in_the_drawn_order() {
    let apps = spawn_cluster(3, |_| {}).await;
    let at = chrono::Utc::now() + chrono::Duration::milliseconds(1500);
    let concert = apps[0]
        .admin_post(
            "admin/concerts",
            json!({"title": "Hot", "performer": "Band", "onSaleAt": at.to_rfc3339()}),
        )
        .await
        .str("id");
    apps[0].schedule(&concert, 50, 1000).await;
    apps[0]
        .admin_patch(
            &format!("admin/concerts/{concert}/queue"),
            json!({"activeLimit": 3}),
        )
        .await;
    let mut tickets = Vec::new();
    for i in 0..12 {
        let app = &apps[i % 3];
        let t = app.join(&app.user().await, &concert).await;
        assert_eq!(t.body["status"], "PRE_QUEUE", "{}", t.body);
        tickets.push((t.str("token"), t.str("ticketId")));
    }
    tokio::time::sleep(Duration::from_millis(1600)).await;
    // Every instance polls at once: the draw happens once, whoever gets there first.
    let polls = futures_util::future::join_all(
        tickets
            .iter()
            .enumerate()
            .map(|(i, (token, _))| apps[i % 3].get("queue", None, Some(token))),
    )
    .await;
    assert!(polls.iter().all(|p| p.status == 200));
    let draw = apps[1]
        .get(&format!("concerts/{concert}/queue/draw"), None, None)
        .await;
    let drawn: Vec<String> = serde_json::from_value(draw.body["ticketIds"].clone()).unwrap();
    assert_eq!(drawn.len(), 12, "drawn once, every ticket in it");
    for (i, id) in drawn.iter().enumerate() {
        let (k, (token, _)) = tickets
            .iter()
            .enumerate()
            .find(|(_, t)| &t.1 == id)
            .unwrap();
        let t = apps[(k + 1) % 3].get("queue", None, Some(token)).await;
        if i < 3 {
            assert_eq!(t.body["status"], "ACTIVE", "drawn {i}");
        } else {
            assert_eq!(t.body["position"], (i - 2) as u64, "drawn {i}");
        }
    }
    // A pause made through one instance holds on the others.
    apps[0]
        .admin_patch(
            &format!("admin/concerts/{concert}/queue"),
            json!({"paused": true}),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let first = drawn.iter().position(|_| true).unwrap();
    let (k, (token, _)) = tickets
        .iter()
        .enumerate()
        .find(|(_, t)| t.1 == drawn[first])
        .unwrap();
    assert_eq!(
        apps[k % 3].delete("queue", None, Some(token)).await.status,
        204
    );
    let next = tickets.iter().find(|t| t.1 == drawn[3]).unwrap();
    for app in &apps {
        let t = app.get("queue", None, Some(&next.0)).await;
        assert_eq!(t.body["status"], "WAITING", "paused: nobody is let in");
    }
}

/// Waiting-list offers made by three instances at once: each returned place goes to one entry,
/// and each entry gets one offer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn three_instances_offer_each_returned_place_to_one_entry() {
    let apps = spawn_cluster(3, |s| s.queue_active_limit = 100).await;
    let concert = apps[0].concert().await;
    let schedule = apps[0].schedule(&concert, 20, 1000).await;
    let mut holds = Vec::new();
    for seat in 1..=20 {
        let app = &apps[seat % 3];
        let fan = app.user().await;
        let token = app.admitted(&fan, &concert).await;
        let r = app.hold(&fan, &token, &schedule, seat as i64).await;
        assert_eq!(r.status, 201, "{}", r.body);
        holds.push((fan, format!("reservations/{}", r.str("id"))));
    }
    let mut waiters = Vec::new();
    for i in 0..20 {
        let app = &apps[i % 3];
        let fan = app.user().await;
        let e = app
            .wait_for_place(&fan, &schedule, json!({"quantity": 1}))
            .await;
        assert_eq!(e.status, 201, "{}", e.body);
        waiters.push((fan, e.str("id")));
    }
    futures_util::future::join_all(
        holds
            .iter()
            .enumerate()
            .map(|(i, (fan, path))| apps[i % 3].delete(path, Some(fan), None)),
    )
    .await;
    let mut labels = Vec::new();
    for (i, (fan, id)) in waiters.iter().enumerate() {
        let e = apps[i % 3].entry_when(fan, id, "OFFERED").await;
        assert_eq!(e["status"], "OFFERED", "{e}");
        labels.push(e["offer"]["seats"][0]["label"].as_str().unwrap().to_owned());
    }
    labels.sort();
    labels.dedup();
    assert_eq!(labels.len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_hold_made_on_one_instance_shows_on_the_others_seat_map() {
    let apps = spawn_cluster(2, |_| {}).await;
    let concert = apps[0].concert().await;
    let plan = json!({
        "grades": [{"code": "R", "name": "R", "price": 1000}],
        "sections": [{"code": "A", "name": "A", "grade": "R", "rows": [{"row": "1", "seats": 5}]},
                     {"code": "GA", "name": "Standing", "grade": "R", "standing": 3}]
    });
    let schedule = apps[0].plan_schedule(&concert, plan).await.str("id");
    let fans = apps[0].admitted_fans(&concert, 2).await;
    let (reader, reader_token) = &fans[1];
    let before = apps[1].seatmap(reader, reader_token, &schedule).await;
    assert_eq!(before.body["sections"][0]["status"], "AAAAA");
    let (fan, token) = &fans[0];
    for order in [
        json!({"seats": ["A-1-3"]}),
        json!({"section": "GA", "quantity": 2}),
    ] {
        let r = apps[0].order(fan, token, &schedule, order).await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    // The other instance rereads the places it has not seen change within about a second.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    loop {
        let map = apps[1].seatmap(reader, reader_token, &schedule).await;
        if map.body["sections"][0]["status"] == "AAHAA" && map.body["sections"][1]["available"] == 1
        {
            assert_eq!(map.body["available"], 5);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "instance 1 still shows {}",
            map.body
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
