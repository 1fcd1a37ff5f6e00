//! The PostgreSQL backend for any number of instances: one pool, a statement timeout, and the
//! same SQL as SQLite (see `store::sql`) with PostgreSQL's row locks deciding races.

pub(crate) mod batches;
pub(crate) mod holds;
pub(crate) mod payments;

use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Connection, PgConnection, Postgres};

use self::batches::Batches;
use self::holds::HoldOutcome;
use super::sql::{Keyed, SqlStore, Step};
use crate::error::{Error, Result};
use crate::idempotency::Replayable;
use crate::reservations::{Hold, HoldRequest, ReservationStore};

super::sql::impl_all_stores!(Postgres);

impl SqlStore<Postgres> {
    /// The hold of an order: `encore_hold` (migrations/postgres/0001_schema.sql) runs the same
    /// steps as the SQLite transaction, called with every other hold queued meanwhile in one
    /// transaction.
    pub(crate) async fn hold_places(&self, r: &HoldRequest) -> Result<Hold> {
        let batches = self
            .hold_batches
            .as_ref()
            .ok_or_else(|| Error::internal("PostgreSQL store without hold batches"))?;
        let outcome = if r.offer {
            holds::hold_offer(&self.write, r).await?
        } else {
            batches.call(r).await?
        };
        match outcome {
            HoldOutcome::Held(numbers) => Ok(Hold::Made(r.held(numbers))),
            HoldOutcome::Same(id) => self
                .reservation(id, r.user_id)
                .await?
                .map(Hold::Again)
                .ok_or(Error::SeatUnavailable),
            HoldOutcome::HoldLimitReached => Err(Error::HoldLimitReached),
            HoldOutcome::TicketLimitReached => Err(Error::TicketLimitReached),
            HoldOutcome::SeatUnavailable => Err(Error::SeatUnavailable),
        }
    }

    /// A write with an idempotency key as one transaction: `steps`, then the commit of what they
    /// did or, refused, a rollback and the key's record of the refusal alone.
    pub(crate) async fn write_steps<T, F>(&self, w: Keyed<'_>, steps: F) -> Result<Replayable<T>>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> BoxFuture<'c, Result<Step<T>>>,
    {
        let mut tx = self.write.begin().await?;
        match steps(&mut tx).await? {
            Step::Done(value) => {
                tx.commit().await?;
                Ok(Replayable::Fresh(value))
            }
            Step::Replay(answer) => {
                tx.rollback().await?;
                Ok(Replayable::Replay(answer))
            }
            Step::Refused(err) => {
                tx.rollback().await?;
                self.idem_fail(w.user_id, w.idem, err, w.now).await
            }
        }
    }

    /// A payment's or cancel's places, locked in number order before they change: the lock
    /// order every hold batch keeps, so an order's payment never deadlocks with a batch naming
    /// its seats.
    pub(crate) async fn lock_places(
        tx: &mut sqlx::PgConnection,
        schedule: uuid::Uuid,
        reservation: uuid::Uuid,
    ) -> Result<()> {
        sqlx::query(
            "SELECT 1 FROM seats WHERE schedule_id = $1
                AND number = ANY(ARRAY(SELECT number FROM reservation_seats
                                        WHERE reservation_id = $2))
              ORDER BY number FOR UPDATE",
        )
        .bind(schedule)
        .bind(reservation)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// The sweep's first step: every lapsed place that no transaction has locked goes back to
    /// AVAILABLE. A place locked by a hold, payment or cancel in flight is passed over (`SKIP
    /// LOCKED`), and its hold left to the next sweep, so the sweeper never waits for a seat while
    /// holding others and cannot deadlock with a hold batch, which locks its seats in number
    /// order.
    pub(crate) async fn free_lapsed(
        tx: &mut sqlx::Transaction<'_, Postgres>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE seats s SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL
               FROM (SELECT t.schedule_id, t.number FROM seats t
                      WHERE (t.schedule_id, t.number) IN
                            (SELECT r.schedule_id, rs.number
                               FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id
                              WHERE r.status = 'HELD' AND r.held_until > 0 AND r.held_until <= $1)
                        AND t.state = 'HELD' AND t.held_until <= $1
                        FOR UPDATE SKIP LOCKED) AS lapsed
              WHERE s.schedule_id = lapsed.schedule_id AND s.number = lapsed.number",
        )
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }
}

/// A pooled connection idle longer than this is pinged before it is handed out: pgbouncer's
/// default (`server_check_delay`). Shorter, and the first calls after any lull pay a round trip
/// each; the first click on a hot seat, which every other click waits for, is one of those.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(30);

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
        // sqlx pings a connection on every checkout by default: a whole extra round trip per
        // query. Under load a connection was in use a moment ago, so only one that sat idle is
        // checked; a connection that breaks mid-query fails that query (503) and the ping sqlx
        // always makes on release then closes it.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > IDLE_BEFORE_PING {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
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
        hold_batches: Some(Batches::start(pool.clone())),
        pay_batches: Some(Batches::start(pool.clone())),
        write_groups: None,
        recent_holds: super::sql::RecentHolds::new(),
        write: pool,
    })
}
