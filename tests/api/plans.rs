//! PostgreSQL only: the statements of a hold, a payment and a cancel keep to their per-key
//! indexes whatever the table statistics say (see `store/sql/mod.rs` and docs/design/postgres-hot-statements.md).

use sqlx::Connection;
use uuid::Uuid;

use crate::common::*;

/// After an ANALYZE taken while no hold was live (autovacuum does this at a quiet moment), a
/// partial index `WHERE status = 'HELD'` looks empty to the planner. A hold must still read only
/// the rows of its own seat and fan, and a payment or a cancel only its own reservation, not
/// walk every live hold through such an index.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn live_holds_are_not_walked_after_an_analyze_taken_with_none_live() {
    let (_app, concert, schedule, fan, mut db) = on_sale(60, 0).await;
    // A sale's worth of reservations, none of them live any more, then what autovacuum does.
    // (On a table of a few pages a sequential scan is cheapest, and no index is at stake.)
    sqlx::query(
        "INSERT INTO reservations
             (id, user_id, concert_id, schedule_id, seat_number, quantity, price, status, held_until, created_at)
         SELECT gen_random_uuid(), gen_random_uuid(), $1, $2, g % 60 + 1, 1, 1000, 'EXPIRED', 2000, 1000
           FROM generate_series(1, 20000) AS g",
    )
    .bind(concert)
    .bind(schedule)
    .execute(&mut db)
    .await
    .unwrap();
    sqlx::query("VACUUM ANALYZE reservations")
        .execute(&mut db)
        .await
        .unwrap();

    // Forty live holds in one transaction, on the generic plans a pooled connection ends up with.
    let now = encore::clock::now();
    let mut tx = generic_plans(&mut db).await;
    let mut held = Vec::new();
    for seat in 1..=40_i64 {
        held.push(Uuid::now_v7());
        let outcome = hold(
            &mut tx,
            held[held.len() - 1],
            fan,
            (concert, schedule),
            &seat.to_string(),
            now,
        )
        .await;
        assert_eq!(outcome, format!("HELD:{seat}"));
    }
    assert_eq!(
        index_entries_read(&mut tx).await,
        0,
        "40 holds walked the live holds"
    );

    // A payment confirms one hold and a cancel ends another, each by its id.
    let confirmed = sqlx::query(encore::store::sql::CONFIRM_HOLD)
        .bind(held[0])
        .bind(now)
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(confirmed.rows_affected(), 1);
    assert_eq!(
        index_entries_read(&mut tx).await,
        0,
        "a payment walked the live holds"
    );
    let cancelled = sqlx::query(encore::store::sql::CANCEL_HOLD)
        .bind(held[1])
        .execute(&mut *tx)
        .await
        .unwrap();
    assert_eq!(cancelled.rows_affected(), 1);
    assert_eq!(
        index_entries_read(&mut tx).await,
        0,
        "a cancel walked the live holds"
    );
    tx.rollback().await.unwrap();
}

/// A concert on sale with a schedule of `seats` places, made after `others` schedules of 2,000
/// places: the app, the concert, the schedule, a fan's id (no user row), and a connection of the
/// test's own.
async fn on_sale(seats: u32, others: usize) -> (TestApp, Uuid, Uuid, Uuid, sqlx::PgConnection) {
    let app = spawn_scaled_with(|_| {}).await;
    let concert = app.concert().await;
    for _ in 0..others {
        app.schedule(&concert, 2000, 1000).await;
    }
    let schedule = app.schedule(&concert, seats, 1000).await;
    let db = sqlx::PgConnection::connect(&app.db.database_url)
        .await
        .unwrap();
    let (concert, schedule) = (concert.parse().unwrap(), schedule.parse().unwrap());
    (app, concert, schedule, Uuid::now_v7(), db)
}

/// A transaction on the generic plans a pooled connection ends up with.
async fn generic_plans(db: &mut sqlx::PgConnection) -> sqlx::Transaction<'_, sqlx::Postgres> {
    let mut tx = db.begin().await.unwrap();
    sqlx::query("SET LOCAL plan_cache_mode = force_generic_plan")
        .execute(&mut *tx)
        .await
        .unwrap();
    tx
}

/// `encore_hold` of the named seats (`"3"`, `"6,7"`) for ten minutes; its outcome.
async fn hold(
    tx: &mut sqlx::PgConnection,
    id: Uuid,
    fan: Uuid,
    (concert, schedule): (Uuid, Uuid),
    seats: &str,
    now: i64,
) -> String {
    sqlx::query_scalar("SELECT encore_hold($1, $2, $3, $4, $5, 0, 0, 0, 1000, $6, $7, 1000, 1000)")
        .bind(id)
        .bind(fan)
        .bind(concert)
        .bind(schedule)
        .bind(seats)
        .bind(now)
        .bind(now + 600_000)
        .fetch_one(tx)
        .await
        .unwrap()
}

/// Entries this transaction has read through the sweeper's partial index (`reservations_held`)
/// so far: a walk of the live holds shows up here.
async fn index_entries_read(tx: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT pg_stat_get_xact_tuples_returned('reservations_held'::regclass)")
        .fetch_one(tx)
        .await
        .unwrap()
}

/// In a new database's first sale no ANALYZE has run yet: to the planner `reservation_seats`
/// then holds hundreds of places per order. A payment must still find its order's places by the
/// seats' key, not walk every seat of the schedule (which made each payment cost a millisecond
/// of PostgreSQL's CPU in the benchmark).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_payment_reads_only_its_own_places_before_any_analyze() {
    // A season's seats (a table of a few pages looks too small for its index to matter).
    let (_app, concert, schedule, fan, mut db) = on_sale(2000, 40).await;
    // Other orders' places, and no statistics for them (nor an autovacuum to take some).
    for sql in [
        "ALTER TABLE reservation_seats SET (autovacuum_enabled = false)",
        "ALTER TABLE seats SET (autovacuum_enabled = false)",
        "INSERT INTO reservation_seats SELECT gen_random_uuid(), g FROM generate_series(1, 50000) AS g",
    ] {
        sqlx::query(sql).execute(&mut db).await.unwrap();
    }
    sqlx::query("INSERT INTO users (id, name, api_key_hash, created_at) VALUES ($1, 'fan', $2, 0)")
        .bind(fan)
        .bind(fan.as_bytes().to_vec())
        .execute(&mut db)
        .await
        .unwrap();
    sqlx::query("INSERT INTO wallets (user_id, balance, updated_at) VALUES ($1, 1000000, 0)")
        .bind(fan)
        .execute(&mut db)
        .await
        .unwrap();

    let now = encore::clock::now();
    let mut tx = generic_plans(&mut db).await;
    // Five orders of one seat and five of two, paid one after another on the generic plans.
    let orders = [
        "1", "2", "3", "4", "5", "6,7", "8,9", "10,11", "12,13", "14,15",
    ];
    let mut ids = Vec::new();
    for seats in orders {
        let id = Uuid::now_v7();
        let outcome = hold(&mut tx, id, fan, (concert, schedule), seats, now).await;
        assert_eq!(outcome, format!("HELD:{seats}"));
        ids.push(id);
    }
    let before = seat_keys_read(&mut tx).await;
    for id in &ids {
        let balance: Option<i64> = sqlx::query_scalar(
            "SELECT balance FROM encore_pay($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, $6,
                                            'reservation.confirmed', '{}', '%')",
        )
        .bind(fan)
        .bind(id)
        .bind(now)
        .bind(Uuid::now_v7())
        .bind(Uuid::now_v7())
        .bind(Uuid::now_v7())
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert!(balance.is_some(), "a payment was refused");
    }
    let read = seat_keys_read(&mut tx).await - before;
    // A place is read once to sell it, and once more before that to lock it in an order of two.
    assert!(
        read <= 5 + 5 * 4,
        "ten payments of fifteen places read {read} seat keys"
    );
    let sold: i64 =
        sqlx::query_scalar("SELECT count(*) FROM seats WHERE schedule_id = $1 AND state = 'SOLD'")
            .bind(schedule)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
    assert_eq!(sold, 15);
    tx.rollback().await.unwrap();
}

/// Entries this transaction has read through the seats' primary key so far.
async fn seat_keys_read(tx: &mut sqlx::PgConnection) -> i64 {
    sqlx::query_scalar("SELECT pg_stat_get_xact_tuples_returned('seats_pkey'::regclass)")
        .fetch_one(tx)
        .await
        .unwrap()
}
