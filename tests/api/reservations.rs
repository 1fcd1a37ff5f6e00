//! Seat holds: one winner per seat under any concurrency, expiry exactly at `heldUntil`,
//! cancellation, the per-user limit, and the booking window.

use std::time::Duration;

use serde_json::json;
use sqlx::Connection;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_racers_on_one_seat_make_one_winner() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 100, 1000).await;
    let racers = app.admitted_fans(&concert, 100).await;
    let results =
        futures_util::future::join_all(racers.iter().map(|(u, t)| app.hold(u, t, &schedule, 7)))
            .await;
    let won = results.iter().filter(|r| r.status == 201).count();
    let lost = results
        .iter()
        .filter(|r| r.status == 409 && r.code() == "SEAT_UNAVAILABLE")
        .count();
    assert_eq!(
        (won, lost),
        (1, 99),
        "{:?}",
        results.iter().map(|r| r.status).collect::<Vec<_>>()
    );
    let (u, t) = &racers[0];
    assert_eq!(app.seat_status(u, t, &schedule, 7).await, "HELD");
}

/// On PostgreSQL, holds arriving together are made in one batch: each answer must still be its
/// asker's. Every fan asks for two seats with a limit of one hold, so batches mix wins, limits
/// and lost seats, and what each fan is told must be what the database holds for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_made_at_once_each_answer_their_own_asker() {
    let app = spawn_with(|s| s.max_holds_per_user = 1).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 30, 1000).await;
    let fans = app.admitted_fans(&concert, 30).await;
    // Fan i asks for seat i + 1 and for seat i + 2 (the last fan for seat 1): two askers a seat.
    let asks: Vec<(usize, i64)> = (0..30)
        .flat_map(|i| [(i, i as i64 + 1), (i, (i as i64 + 1) % 30 + 1)])
        .collect();
    let results = futures_util::future::join_all(
        asks.iter()
            .map(|&(i, seat)| app.hold(&fans[i].0, &fans[i].1, &schedule, seat)),
    )
    .await;
    let mut won: Vec<Vec<i64>> = vec![Vec::new(); 30];
    for (&(i, seat), r) in asks.iter().zip(&results) {
        match (r.status, r.code()) {
            (201, _) => {
                assert_eq!(r.body["seatNumber"], seat, "an answer for another seat");
                won[i].push(seat);
            }
            (409, "SEAT_UNAVAILABLE" | "HOLD_LIMIT_REACHED") => {}
            other => panic!("hold answered {other:?}: {:?}", r.body),
        }
    }
    assert!(won.iter().all(|w| w.len() <= 1), "over the limit: {won:?}");
    let mut seats: Vec<i64> = won.iter().flatten().copied().collect();
    seats.sort_unstable();
    seats.dedup();
    assert_eq!(
        seats.len(),
        won.iter().flatten().count(),
        "a seat won twice"
    );
    assert!(!seats.is_empty());
    // What each fan was told is what the database holds for them.
    for (i, (user, _)) in fans.iter().enumerate() {
        let list = app.get("reservations", Some(user), None).await;
        let mine: Vec<i64> = list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["seatNumber"].as_i64().unwrap())
            .collect();
        assert_eq!(mine, won[i], "fan {i}");
    }
}

#[tokio::test]
async fn a_hold_lapses_exactly_at_held_until() {
    let app = spawn_with(|s| {
        s.hold_ttl = Duration::from_millis(1500);
        // The sweeper is slow on purpose: answers must not wait for it.
        s.sweep_interval = Duration::from_secs(3600);
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 3, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let r = app.hold(&user, &token, &schedule, 2).await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["status"], "HELD");
    let held_until = chrono::DateTime::parse_from_rfc3339(&r.str("heldUntil")).unwrap();
    let created = chrono::DateTime::parse_from_rfc3339(&r.str("createdAt")).unwrap();
    assert_eq!((held_until - created).num_milliseconds(), 1500);
    let id = r.str("id");

    let other = app.user().await;
    let other_token = app.admitted(&other, &concert).await;
    assert_eq!(
        app.hold(&other, &other_token, &schedule, 2).await.code(),
        "SEAT_UNAVAILABLE"
    );

    // Wait until just past heldUntil by the wall clock.
    let wait =
        (held_until.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() + 20;
    tokio::time::sleep(Duration::from_millis(wait.max(0) as u64)).await;
    assert_eq!(
        app.seat_status(&user, &token, &schedule, 2).await,
        "AVAILABLE"
    );
    let mine = app
        .get(&format!("reservations/{id}"), Some(&user), None)
        .await;
    assert_eq!(mine.body["status"], "EXPIRED");
    let list = app
        .get(
            &format!("concerts/{concert}/schedules"),
            Some(&user),
            Some(&token),
        )
        .await;
    assert_eq!(list.body["items"][0]["availableSeats"], 3);
    let pay = app.pay(&user, &id, None).await;
    assert_eq!((pay.status, pay.code()), (410, "HOLD_EXPIRED"));
    let r = app.hold(&other, &other_token, &schedule, 2).await;
    assert_eq!(
        r.status, 201,
        "the lapsed seat can be held again at once: {}",
        r.body
    );
    assert_eq!(
        app.get(&format!("reservations/{id}"), Some(&user), None)
            .await
            .body["status"],
        "EXPIRED"
    );
}

#[tokio::test]
async fn the_sweeper_writes_expiry_down() {
    let app = spawn_with(|s| {
        s.hold_ttl = Duration::from_millis(300);
        s.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 3, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    app.hold(&user, &token, &schedule, 1).await;
    let swept = eventually(Duration::from_secs(5), || async {
        let res = app
            .client
            .get(format!("{}/metrics", app.base))
            .send()
            .await
            .unwrap();
        res.text()
            .await
            .unwrap()
            .contains("encore_holds_expired_total")
    })
    .await;
    assert!(swept);
    // Both rows say so: the seat is free again and the reservation expired.
    let written = eventually(Duration::from_secs(5), || async {
        app.seat_rows(1).await == ("AVAILABLE".into(), "EXPIRED".into())
    })
    .await;
    assert!(written, "the sweeper left the seat or the reservation HELD");
}

/// PostgreSQL: the sweeper passes over a lapsed seat that another transaction has locked (a hold
/// batch taking it again, a payment) instead of waiting for it while it holds others, which is
/// how it could deadlock with a hold batch. It frees the rest at once and comes back for it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn the_sweeper_passes_over_a_locked_seat_and_frees_the_rest() {
    let app = spawn_scaled_with(|s| {
        s.hold_ttl = Duration::from_secs(1);
        s.sweep_interval = Duration::from_millis(100);
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 3, 1000).await;
    for (seat, (fan, token)) in (1..).zip(app.admitted_fans(&concert, 2).await) {
        assert_eq!(app.hold(&fan, &token, &schedule, seat).await.status, 201);
    }
    // Seat 1 is locked, as by a transaction in flight, from before the holds lapse until the end.
    let mut db = sqlx::PgConnection::connect(&app.db.database_url)
        .await
        .unwrap();
    let mut tx = db.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM seats WHERE number = 1 FOR UPDATE")
        .execute(&mut *tx)
        .await
        .unwrap();
    let freed = eventually(Duration::from_secs(10), || async {
        app.seat_rows(2).await == ("AVAILABLE".into(), "EXPIRED".into())
    })
    .await;
    assert!(
        freed,
        "the sweeper waited for the locked seat instead of ending the other hold"
    );
    assert_eq!(app.seat_rows(1).await, ("HELD".into(), "HELD".into()));
    tx.rollback().await.unwrap();
    let freed = eventually(Duration::from_secs(10), || async {
        app.seat_rows(1).await == ("AVAILABLE".into(), "EXPIRED".into())
    })
    .await;
    assert!(
        freed,
        "the sweeper did not come back for the seat once it was unlocked"
    );
}

#[tokio::test]
async fn cancel_frees_the_seat_at_once() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 3, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let id = app.hold(&user, &token, &schedule, 1).await.str("id");
    let stranger = app.user().await;
    let r = app
        .delete(&format!("reservations/{id}"), Some(&stranger), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "RESERVATION_NOT_FOUND"));
    let r = app
        .get(&format!("reservations/{id}"), Some(&stranger), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "RESERVATION_NOT_FOUND"));

    let r = app
        .delete(&format!("reservations/{id}"), Some(&user), None)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "CANCELLED");
    assert_eq!(
        app.seat_status(&user, &token, &schedule, 1).await,
        "AVAILABLE"
    );
    let r = app
        .delete(&format!("reservations/{id}"), Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_HELD"));
    let r = app.pay(&user, &id, None).await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_HELD"));
    assert_eq!(app.hold(&user, &token, &schedule, 1).await.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hold_limit_holds_under_concurrency() {
    let app = spawn_with(|s| s.max_holds_per_user = 2).await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 20, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let results = futures_util::future::join_all(
        (1..=10).map(|seat| app.hold(&user, &token, &schedule, seat)),
    )
    .await;
    let won = results.iter().filter(|r| r.status == 201).count();
    let limited = results
        .iter()
        .filter(|r| r.code() == "HOLD_LIMIT_REACHED")
        .count();
    assert_eq!((won, limited), (2, 8));
    // Another schedule has its own limit.
    let second = app.schedule(&concert, 5, 1000).await;
    assert_eq!(app.hold(&user, &token, &second, 1).await.status, 201);
    // The losers' seats stayed free.
    let free = app
        .get(
            &format!("schedules/{schedule}/seats"),
            Some(&user),
            Some(&token),
        )
        .await;
    let held = free.body["seats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["status"] == "HELD")
        .count();
    assert_eq!(held, 2);
}

#[tokio::test]
async fn holds_check_seat_schedule_and_window() {
    let app = spawn().await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let r = app.hold(&user, &token, &schedule, 6).await;
    assert_eq!((r.status, r.code()), (404, "SEAT_NOT_FOUND"));
    let r = app.hold(&user, &token, &schedule, 0).await;
    assert_eq!((r.status, r.code()), (404, "SEAT_NOT_FOUND"));
    let r = app
        .hold(&user, &token, &uuid::Uuid::now_v7().to_string(), 1)
        .await;
    assert_eq!((r.status, r.code()), (404, "SCHEDULE_NOT_FOUND"));
    let r = app
        .post(
            "reservations",
            Some(&user),
            Some(&token),
            json!({"scheduleId": schedule, "seatNumber": "1"}),
        )
        .await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    let r = app
        .post(
            "reservations",
            Some(&user),
            None,
            json!({"scheduleId": schedule, "seatNumber": 1}),
        )
        .await;
    assert_eq!((r.status, r.code()), (401, "QUEUE_TOKEN_REQUIRED"));
    let future = app
        .admin_post(
            &format!("admin/concerts/{concert}/schedules"),
            schedule_body(5, 10, 600, 3600),
        )
        .await
        .str("id");
    let r = app.hold(&user, &token, &future, 1).await;
    assert_eq!((r.status, r.code()), (422, "BOOKING_CLOSED"));
    let other = app.concert().await;
    let foreign = app.schedule(&other, 5, 1000).await;
    let r = app.hold(&user, &token, &foreign, 1).await;
    assert_eq!((r.status, r.code()), (403, "QUEUE_TOKEN_MISMATCH"));
    let list = app.get("reservations", Some(&user), None).await;
    assert_eq!(list.body["items"], json!([]), "nothing was held");
}

#[tokio::test]
async fn reservations_are_listed_newest_first_with_a_cursor() {
    let app = spawn_with(|s| {
        s.max_holds_per_user = 10;
        s.max_tickets_per_user = 10;
    })
    .await;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 1000).await;
    let user = app.user().await;
    let token = app.admitted(&user, &concert).await;
    let mut ids = Vec::new();
    for seat in 1..=5 {
        ids.push(app.hold(&user, &token, &schedule, seat).await.str("id"));
    }
    let first = app.get("reservations?limit=2", Some(&user), None).await;
    let page: Vec<String> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(page, vec![ids[4].clone(), ids[3].clone()]);
    let cursor = first.str("nextCursor");
    let mut seen = page;
    let mut next = Some(cursor);
    while let Some(c) = next {
        let r = app
            .get(
                &format!("reservations?limit=2&cursor={c}"),
                Some(&user),
                None,
            )
            .await;
        seen.extend(
            r.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_owned()),
        );
        next = r.body["nextCursor"].as_str().map(str::to_owned);
    }
    ids.reverse();
    assert_eq!(seen, ids);
    let stranger = app.user().await;
    assert_eq!(
        app.get("reservations", Some(&stranger), None).await.body["items"],
        json!([])
    );
}
