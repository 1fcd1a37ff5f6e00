//! The embedded SQLite backend: a file created if missing, WAL mode, one writer and many readers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::SqlStore;
use crate::error::{Error, Result};
use crate::reservations::{HoldRequest, Reservation};

super::sql::impl_all_stores!(Sqlite);

impl SqlStore<Sqlite> {
    /// The sweep: lapsed seats back to AVAILABLE, then their reservations EXPIRED, in the
    /// documented lock order (seats, then reservations). SQLite's one writer runs it alone.
    pub(crate) async fn expire_lapsed(
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        now: i64,
    ) -> Result<u64> {
        sqlx::query(
            "UPDATE seats SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL
              WHERE (schedule_id, number) IN
                    (SELECT schedule_id, seat_number FROM reservations
                      WHERE status = 'HELD' AND held_until > 0 AND held_until <= $1)
                AND state = 'HELD' AND held_until <= $1",
        )
        .bind(now)
        .execute(&mut **tx)
        .await?;
        let expired = sqlx::query(
            "UPDATE reservations SET status = 'EXPIRED'
              WHERE status = 'HELD' AND held_until > 0 AND held_until <= $1",
        )
        .bind(now)
        .execute(&mut **tx)
        .await?
        .rows_affected();
        Ok(expired)
    }

    /// The seat hold as one transaction: the steps of `encore_hold` in the PostgreSQL schema,
    /// with the seat first since SQLite's single writer already serialises a user's holds.
    pub(crate) async fn hold_seat(&self, r: &HoldRequest) -> Result<Reservation> {
        // Lose fast: a racer who arrives after the seat was taken reads that on a reader, without
        // queueing for the one writer. This only ever rejects; the UPDATE below decides wins.
        let taken: Option<i64> = sqlx::query_scalar(
            "SELECT 1 FROM seats WHERE schedule_id = $1 AND number = $2
                AND (state = 'SOLD' OR (state = 'HELD' AND held_until > $3))",
        )
        .bind(r.schedule_id)
        .bind(r.seat_number)
        .bind(r.now)
        .fetch_optional(&self.read)
        .await?;
        if taken.is_some() {
            return Err(Error::SeatUnavailable);
        }
        let mut tx = self.write.begin().await?;
        // The race for the seat: exactly one transaction can move it out of "free". First here
        // (one writer, so lock order is moot): a racer who lost while queued leaves at once.
        let won = sqlx::query(
            "UPDATE seats SET state = 'HELD', held_until = $3, reservation_id = $4
              WHERE schedule_id = $1 AND number = $2
                AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= $5))",
        )
        .bind(r.schedule_id)
        .bind(r.seat_number)
        .bind(r.held_until)
        .bind(r.id)
        .bind(r.now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if won == 0 {
            return Err(Error::SeatUnavailable);
        }
        let live: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM reservations
              WHERE user_id = $1 AND schedule_id = $2 AND status = 'HELD' AND held_until + 0 > $3",
        )
        .bind(r.user_id)
        .bind(r.schedule_id)
        .bind(r.now)
        .fetch_one(&mut *tx)
        .await?;
        if live >= i64::from(r.max_holds) {
            return Err(Error::HoldLimitReached);
        }
        // A lapsed hold on this seat that the sweeper has not reached yet ends here. SQLite
        // cannot match `status = 'HELD'` to the per-seat index's `IN` predicate; it takes the
        // lapsed-holds range of `reservations_held` instead, which is short (keep no `+ 0` here).
        sqlx::query(
            "UPDATE reservations SET status = 'EXPIRED'
              WHERE schedule_id = $1 AND seat_number = $2 AND status = 'HELD' AND held_until <= $3",
        )
        .bind(r.schedule_id)
        .bind(r.seat_number)
        .bind(r.now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, price, status, held_until, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, 'HELD', $7, $8)",
        )
        .bind(r.id)
        .bind(r.user_id)
        .bind(r.concert_id)
        .bind(r.schedule_id)
        .bind(r.seat_number)
        .bind(r.price)
        .bind(r.held_until)
        .bind(r.now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(super::sql::held(r))
    }
}

pub async fn connect(url: &str, readers: u32) -> Result<SqlStore<Sqlite>> {
    let opts = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::internal(format!("bad SQLite URL {url:?}: {e}")))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        // FULL: a commit is on disk before the answer, so an acknowledged payment survives a
        // power cut, not only a killed process.
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(Duration::from_secs(10))
        .foreign_keys(true);
    // One writer: writes wait their turn in the pool instead of failing with SQLITE_BUSY.
    let write = SqlitePoolOptions::new()
        .max_connections(1)
        // An embedded database cannot drop the connection: skip sqlx's ping on every checkout.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts.clone())
        .await?;
    sqlx::migrate!("migrations/sqlite")
        .run(&write)
        .await
        .map_err(|e| Error::internal(format!("SQLite migrations: {e}")))?;
    let read = SqlitePoolOptions::new()
        .max_connections(readers.max(1))
        // An embedded database cannot drop the connection: skip sqlx's ping on every checkout.
        .test_before_acquire(false)
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.read_only(true))
        .await?;
    Ok(SqlStore {
        read,
        write,
        hold_batches: None,
    })
}
