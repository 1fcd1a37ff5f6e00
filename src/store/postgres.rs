//! The PostgreSQL backend for any number of instances: one pool, a statement timeout, and the
//! same SQL as SQLite (see `store::sql`) with PostgreSQL's row locks deciding races.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::sql::SqlStore;
use crate::error::{Error, Result};
use crate::reservations::{HoldRequest, Reservation};

super::sql::impl_all_stores!(Postgres);

impl SqlStore<Postgres> {
    /// The seat hold in one round trip: `encore_hold` (migrations/postgres/0002_hold_function.sql)
    /// runs the same steps as the SQLite transaction, inside the statement's own transaction.
    pub(crate) async fn hold_seat(&self, r: &HoldRequest) -> Result<Reservation> {
        let outcome: String =
            sqlx::query_scalar("SELECT encore_hold($1, $2, $3, $4, $5, $6, $7, $8, $9)")
                .bind(r.id)
                .bind(r.user_id)
                .bind(r.concert_id)
                .bind(r.schedule_id)
                .bind(r.seat_number)
                .bind(r.price)
                .bind(r.now)
                .bind(r.held_until)
                .bind(i64::from(r.max_holds))
                .fetch_one(&self.write)
                .await?;
        match outcome.as_str() {
            "HELD" => Ok(super::sql::held(r)),
            "HOLD_LIMIT_REACHED" => Err(Error::HoldLimitReached),
            "SEAT_UNAVAILABLE" => Err(Error::SeatUnavailable),
            other => Err(Error::internal(format!("encore_hold answered {other}"))),
        }
    }
}

pub async fn connect(
    url: &str,
    size: u32,
    statement_timeout: Duration,
) -> Result<SqlStore<Postgres>> {
    let opts = PgConnectOptions::from_str(url)
        .map_err(|e| Error::internal(format!("bad PostgreSQL URL: {e}")))?
        .options([(
            "statement_timeout",
            statement_timeout.as_millis().to_string(),
        )]);
    let pool = PgPoolOptions::new()
        .max_connections(size.max(2))
        // Fail fast when PostgreSQL is away: callers get 503 DATABASE_UNAVAILABLE, not a hang.
        .acquire_timeout(Duration::from_secs(3))
        .connect_with(opts)
        .await?;
    // Several instances may start at once; sqlx's migrator takes an advisory lock.
    sqlx::migrate!("migrations/postgres")
        .run(&pool)
        .await
        .map_err(|e| Error::internal(format!("PostgreSQL migrations: {e}")))?;
    Ok(SqlStore {
        read: pool.clone(),
        write: pool,
    })
}
