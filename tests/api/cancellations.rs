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
    let r = app
        .wait_for_place(&holder, &schedule, json!({"quantity": 1}))
        .await;
    assert_eq!((r.status, r.code()), (409, "WAITLIST_CLOSED"));
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

/// `n` fans who each paid `price` for one seat of `schedule` (seats 1..=n), written straight into
/// the database: wallets at 0 with an empty ledger, as after a charge and a payment of the same
/// amount.
async fn paid_fans(db: &TestDb, concert: &str, schedule: &str, n: i64, price: i64) {
    use sqlx::Connection;
    let concert = uuid::Uuid::parse_str(concert).unwrap();
    let schedule = uuid::Uuid::parse_str(schedule).unwrap();
    macro_rules! fill {
        ($conn:ty) => {{
            let mut c = <$conn>::connect(&db.database_url).await.unwrap();
            let mut tx = c.begin().await.unwrap();
            for seat in 1..=n {
                let (user, rid) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
                let key_hash = uuid::Uuid::now_v7().as_bytes().to_vec();
                sqlx::query("INSERT INTO users (id, name, api_key_hash, created_at) VALUES ($1, 'fan', $2, 0)")
                    .bind(user).bind(key_hash).execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO wallets (user_id, balance, updated_at) VALUES ($1, 0, 0)")
                    .bind(user).execute(&mut *tx).await.unwrap();
                sqlx::query(
                    "INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, quantity, price,
                                               status, held_until, created_at, confirmed_at)
                     VALUES ($1, $2, $3, $4, $5, 1, $6, 'CONFIRMED', 0, 0, 0)",
                )
                .bind(rid).bind(user).bind(concert).bind(schedule).bind(seat).bind(price)
                .execute(&mut *tx).await.unwrap();
                sqlx::query("INSERT INTO reservation_seats (reservation_id, number) VALUES ($1, $2)")
                    .bind(rid).bind(seat).execute(&mut *tx).await.unwrap();
                sqlx::query("UPDATE seats SET state = 'SOLD', reservation_id = $3 WHERE schedule_id = $1 AND number = $2")
                    .bind(schedule).bind(seat).bind(rid).execute(&mut *tx).await.unwrap();
            }
            tx.commit().await.unwrap();
        }};
    }
    if db.is_postgres() {
        fill!(sqlx::PgConnection);
    } else {
        fill!(sqlx::SqliteConnection);
    }
}

/// One count from the database.
async fn count(db: &TestDb, sql: &str) -> i64 {
    use sqlx::Connection;
    if db.is_postgres() {
        let mut c = sqlx::PgConnection::connect(&db.database_url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::SqliteConnection::connect(&db.database_url)
            .await
            .unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
    }
}

async fn refunds_so_far(app: &TestApp, schedule: &str) -> i64 {
    let r = app.admin_get(&format!("admin/schedules/{schedule}")).await;
    r.body["refunds"]["done"].as_i64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refund_job_survives_two_kill_9s_and_refunds_each_fan_once() {
    use crate::restart::start;
    const FANS: i64 = 2_000;
    let env = [
        ("ENCORE_SWEEP_INTERVAL", "50ms"),
        ("ENCORE_RATE_LIMITS", "off"),
    ];
    let server = start(TestDb::new().await, &env).await;
    let concert = server.app.concert().await;
    let mut body = schedule_body(1, 1, -3600, 86_400);
    body.as_object_mut()
        .unwrap()
        .retain(|k, _| k != "seatCount" && k != "price");
    body["plan"] = json!({"grades": [{"code": "R", "name": "R", "price": 30_000}],
        "sections": [{"code": "GA", "name": "Standing", "grade": "R", "standing": FANS}]});
    let r = server
        .app
        .admin_post(&format!("admin/concerts/{concert}/schedules"), body)
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let schedule = r.str("id");
    paid_fans(&server.app.db, &concert, &schedule, FANS, 30_000).await;
    let r = server
        .app
        .admin_post(&format!("admin/schedules/{schedule}/cancel"), json!({}))
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.body["refunds"]["total"], FANS);

    // Killed as soon as the job has started, then again once the restarted one has moved on.
    let mut server = server;
    let mut seen = 0;
    for _ in 0..2 {
        let moved = eventually(Duration::from_secs(60), || {
            let app = &server.app;
            let schedule = &schedule;
            async move { refunds_so_far(app, schedule).await > seen }
        })
        .await;
        assert!(moved, "the job advances");
        let db = server.stop("-KILL");
        server = start(db, &env).await;
        seen = refunds_so_far(&server.app, &schedule).await;
        assert!(seen < FANS, "killed midway ({seen} of {FANS} done)");
    }
    let done = eventually(Duration::from_secs(120), || {
        let app = &server.app;
        let schedule = &schedule;
        async move { refunds_so_far(app, schedule).await == FANS }
    })
    .await;
    assert!(done, "every refund done after the restarts");
    let db = server.app.db.clone();
    let count = |sql: &'static str| count(&db, sql);
    assert_eq!(
        count("SELECT COUNT(*) FROM reservations WHERE status = 'REFUNDED'").await,
        FANS
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'REFUND'").await,
        FANS
    );
    assert_eq!(
        count(
            "SELECT COUNT(DISTINCT reservation_id) FROM wallet_transactions WHERE kind = 'REFUND'"
        )
        .await,
        FANS
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM wallets WHERE balance <> 30000").await,
        0
    );
    assert_eq!(
        count(
            "SELECT COUNT(*) FROM wallets w WHERE balance <>
               (SELECT COALESCE(SUM(amount), 0) FROM wallet_transactions t WHERE t.user_id = w.user_id)"
        )
        .await,
        0
    );
    assert_eq!(
        count("SELECT COUNT(*) FROM seats WHERE state <> 'VOID'").await,
        0
    );
    drop(server.stop("-TERM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn three_instances_share_the_refund_job_and_refund_each_fan_once() {
    const FANS: i64 = 500;
    let apps = spawn_cluster(3, |s| s.sweep_interval = Duration::from_millis(20)).await;
    let concert = apps[0].concert().await;
    let mut body = schedule_body(1, 1, -3600, 86_400);
    body.as_object_mut()
        .unwrap()
        .retain(|k, _| k != "seatCount" && k != "price");
    body["plan"] = json!({"grades": [{"code": "R", "name": "R", "price": 1_000}],
        "sections": [{"code": "GA", "name": "Standing", "grade": "R", "standing": FANS}]});
    let r = apps[0]
        .admin_post(&format!("admin/concerts/{concert}/schedules"), body)
        .await;
    let schedule = r.str("id");
    paid_fans(&apps[0].db, &concert, &schedule, FANS, 1_000).await;
    // Every instance is asked to cancel at once; one of them does, all of them refund.
    let path = format!("admin/schedules/{schedule}/cancel");
    let answers =
        futures_util::future::join_all(apps.iter().map(|a| a.admin_post(&path, json!({})))).await;
    assert!(answers.iter().all(|r| r.status == 202));
    let finished = eventually(Duration::from_secs(60), || async {
        refunds_so_far(&apps[2], &schedule).await == FANS
    })
    .await;
    assert!(finished, "every refund done");
    let done = apps[1]
        .admin_get(&format!("admin/schedules/{schedule}"))
        .await;
    assert_eq!(done.body["refunds"], json!({"total": FANS, "done": FANS}));
    let db = apps[0].db.clone();
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) FROM wallet_transactions WHERE kind = 'REFUND'"
        )
        .await,
        FANS
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) FROM wallets WHERE balance <> 1000").await,
        0
    );
}

#[tokio::test]
async fn a_fan_who_refunds_a_cancelled_date_first_gets_it_all_back_once() {
    // The job's next round is an hour away: the fan gets there first.
    let app = spawn_with(|s| s.sweep_interval = Duration::from_secs(3600)).await;
    let r = app
        .admin_post(
            "admin/concerts",
            json!({"title": "T", "performer": "P",
                   "refundPolicy": [{"untilHoursBefore": 1000, "feePercent": 50}]}),
        )
        .await;
    let concert = r.str("id");
    let schedule = app.schedule(&concert, 5, 10_000).await;
    let user = app.user().await;
    app.charge(&user, 10_000).await;
    let token = app.admitted(&user, &concert).await;
    let hold = app.hold(&user, &token, &schedule, 2).await;
    let rid = hold.str("id");
    assert_eq!(app.pay(&user, &rid, None).await.status, 201);
    let r = app
        .admin_post(&format!("admin/schedules/{schedule}/cancel"), json!({}))
        .await;
    assert_eq!(r.body["refunds"], json!({"total": 1, "done": 0}));
    let r = app
        .send(with(
            app.req(reqwest::Method::POST, &format!("reservations/{rid}/refund")),
            Some(&user),
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["refund"], json!({"amount": 10_000, "fee": 0}));
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        10_000
    );
    let state = app
        .db_text("SELECT state FROM seats WHERE number = 2")
        .await;
    assert_eq!(state, "VOID");
}
