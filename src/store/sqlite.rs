//! The embedded SQLite backend: a file created if missing, WAL mode, one writer and many readers.

use std::str::FromStr;
use std::time::Duration;

use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

use super::sql::SqlStore;
use crate::error::{Error, Result};

super::sql::impl_all_stores!(Sqlite);

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
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts.clone())
        .await?;
    sqlx::migrate!("migrations/sqlite")
        .run(&write)
        .await
        .map_err(|e| Error::internal(format!("SQLite migrations: {e}")))?;
    let read = SqlitePoolOptions::new()
        .max_connections(readers.max(1))
        .acquire_timeout(Duration::from_secs(10))
        .connect_with(opts.read_only(true))
        .await?;
    Ok(SqlStore { read, write })
}
