//! The PostgreSQL backend for any number of instances: one pool, a statement timeout, and the
//! same SQL as SQLite (see `store::sql`) with PostgreSQL's row locks deciding races.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Postgres;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::sql::SqlStore;
use crate::error::{Error, Result};

super::sql::impl_all_stores!(Postgres);

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
