//! The embedded SQLite backend: a file created if missing, WAL mode, one writer and many readers.

pub mod group;
mod payments;

use std::str::FromStr;
use std::time::Duration;

use futures_util::future::BoxFuture;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqliteConnection};

use super::sql::{Keyed, RESERVATION_COLS, SqlStore, Step};
use crate::error::{Error, Result};
use crate::idempotency::{IdemKey, Replayable};
use crate::reservations::{Hold, HoldRequest, Places, Reservation, ReservationStore};

super::sql::impl_all_stores!(Sqlite);

impl SqlStore<Sqlite> {
    /// The writer's groups (`group.rs`).
    pub(crate) fn groups(&self) -> Result<&group::WriteGroups> {
        self.write_groups
            .as_ref()
            .ok_or_else(|| Error::internal("SQLite store without its writer's groups"))
    }

    /// The sweep's first step: lapsed places back to AVAILABLE. SQLite's one writer runs it alone.
    pub(crate) async fn free_lapsed(
        tx: &mut sqlx::Transaction<'_, Sqlite>,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE seats SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL
              WHERE (schedule_id, number) IN
                    (SELECT r.schedule_id, rs.number
                       FROM reservations r JOIN reservation_seats rs ON rs.reservation_id = r.id
                      WHERE r.status = 'HELD' AND r.held_until > 0 AND r.held_until <= $1)
                AND state = 'HELD' AND held_until <= $1",
        )
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A payment's or cancel's places, locked before they change: SQLite's one writer has
    /// nothing to order.
    pub(crate) async fn lock_places(
        _tx: &mut SqliteConnection,
        _schedule: uuid::Uuid,
        _reservation: uuid::Uuid,
    ) -> Result<()> {
        Ok(())
    }

    /// A payment, in the writer's next group (`group.rs`).
    pub(crate) async fn pay_order(
        &self,
        user_id: uuid::Uuid,
        reservation_id: uuid::Uuid,
        now: i64,
        idem: Option<&IdemKey>,
    ) -> Result<Replayable<crate::payments::Paid>> {
        // The reservation's fixed parts from `recent_holds` or a reader, so the writer does not
        // read them.
        let known: Option<Reservation> = match self.recent_holds.get(reservation_id, user_id) {
            Some(r) => Some(r),
            None => {
                sqlx::query_as(&format!(
                    "SELECT {RESERVATION_COLS} FROM reservations WHERE id = $1 AND user_id = $2"
                ))
                .bind(reservation_id)
                .bind(user_id)
                .fetch_optional(&self.read)
                .await?
            }
        };
        let key = idem.cloned();
        let w = Keyed { user_id, now, idem };
        self.write_opened(w, move |conn, opening| {
            Box::pin(async move {
                // The time of the payment is when it gets the database, not when it asked: a
                // payment that waited for the writer past `heldUntil` must not sell the seat.
                let now = now.max(crate::clock::now());
                match known {
                    // A hold this instance made: its places are known, one call pays it.
                    Some(r) if !r.numbers.is_empty() && r.numbers.len() as i64 == r.quantity => {
                        Self::pay_at_once(conn, opening, r, user_id, now, key.as_ref()).await
                    }
                    known => {
                        opening.run(conn).await?;
                        Self::pay_steps(conn, user_id, reservation_id, now, key.as_ref(), known)
                            .await
                    }
                }
            })
        })
        .await
    }

    /// A write with an idempotency key in the writer's next group (`group.rs`): `steps` under
    /// its own savepoint, rolled back if they refuse, leaving the key's record of the refusal.
    pub(crate) async fn write_steps<T, F>(&self, w: Keyed<'_>, steps: F) -> Result<Replayable<T>>
    where
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<Step<T>>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        self.write_opened(w, move |conn, opening| {
            Box::pin(async move {
                opening.run(conn).await?;
                steps(conn).await
            })
        })
        .await
    }

    /// `write_steps` whose steps send the write's [`group::Opening`] themselves, at the head of
    /// their first call.
    async fn write_opened<T, F>(&self, w: Keyed<'_>, steps: F) -> Result<Replayable<T>>
    where
        F: for<'c> FnOnce(
                &'c mut SqliteConnection,
                group::Opening,
            ) -> BoxFuture<'c, Result<Step<T>>>
            + Send
            + 'static,
        T: Send + 'static,
    {
        let (user_id, now, idem) = (w.user_id, w.now, w.idem.cloned());
        self.groups()?
            .run(move |conn, opening| {
                Box::pin(async move {
                    let step = steps(conn, opening).await?;
                    settle(conn, user_id, idem.as_ref(), step, now).await
                })
            })
            .await?
    }

    /// The hold of an order as one transaction: the steps of `encore_hold` in the PostgreSQL
    /// schema. SQLite's one writer serialises every hold, so no lock is taken by hand.
    pub(crate) async fn hold_places(&self, r: &HoldRequest) -> Result<Hold> {
        let wanted = match &r.places {
            Places::Seats(numbers) => Some(json(numbers)),
            Places::Count { .. } => None,
        };
        // Lose fast: a racer who arrives after a seat was taken reads that on a reader, without
        // queueing for the one writer. This only ever rejects; the UPDATE below decides wins.
        if let Some(wanted) = &wanted {
            let taken: Option<i64> = sqlx::query_scalar(
                "SELECT 1 FROM seats WHERE schedule_id = $1
                    AND number IN (SELECT value FROM json_each($2))
                    AND (state = 'SOLD' OR (state = 'HELD' AND held_until > $3)) LIMIT 1",
            )
            .bind(r.schedule_id)
            .bind(wanted)
            .bind(r.now)
            .fetch_optional(&self.read)
            .await?;
            if taken.is_some() {
                return self.same_hold(r, wanted).await;
            }
        }
        let request = r.clone();
        let held = self
            .groups()?
            .run(move |conn, opening| {
                Box::pin(async move { hold_in(conn, opening, &request).await })
            })
            .await?;
        match (held, &wanted) {
            (Some(held), _) => Ok(Hold::Made(held)),
            (None, Some(wanted)) => self.same_hold(r, wanted).await,
            (None, None) => Err(Error::SeatUnavailable),
        }
    }

    /// A named order whose places are taken: the fan's own live hold of exactly these places
    /// (sent again) answers with that reservation, anything else is SEAT_UNAVAILABLE.
    async fn same_hold(&self, r: &HoldRequest, wanted: &str) -> Result<Hold> {
        let Places::Seats(numbers) = &r.places else {
            return Err(Error::SeatUnavailable);
        };
        let same: Option<uuid::Uuid> = sqlx::query_scalar(
            "SELECT r.id FROM reservations r
              WHERE r.id = (SELECT reservation_id FROM seats
                             WHERE schedule_id = $1 AND number = $2 AND state = 'HELD' AND held_until > $3)
                AND r.user_id = $4 AND r.quantity = $5
                AND (SELECT COUNT(*) FROM seats
                      WHERE schedule_id = $1 AND number IN (SELECT value FROM json_each($6))
                        AND reservation_id = r.id AND state = 'HELD' AND held_until > $3) = $5",
        )
        .bind(r.schedule_id)
        .bind(numbers[0])
        .bind(r.now)
        .bind(r.user_id)
        .bind(numbers.len() as i64)
        .bind(wanted)
        .fetch_optional(&self.read)
        .await?;
        match same {
            Some(id) => self
                .reservation(id, r.user_id)
                .await?
                .map(Hold::Again)
                .ok_or(Error::SeatUnavailable),
            None => Err(Error::SeatUnavailable),
        }
    }
}

/// Where a write with an idempotency key ends inside its group: done or replayed as it is; a
/// refusal rolls back what the write began and is recorded as the key's answer.
async fn settle<T>(
    conn: &mut SqliteConnection,
    user_id: uuid::Uuid,
    idem: Option<&IdemKey>,
    step: Step<T>,
    now: i64,
) -> Result<Result<Replayable<T>>> {
    match step {
        Step::Done(value) => Ok(Ok(Replayable::Fresh(value))),
        Step::Replay(answer) => Ok(Ok(Replayable::Replay(answer))),
        Step::Refused(err) => {
            group::undo(conn).await?;
            SqlStore::<Sqlite>::idem_refuse(conn, user_id, idem, err, now).await
        }
    }
}

/// What a hold looks at first, in one call to the writer: whether the schedule's waiting list
/// waits and the fan's live holds on the schedule and places in the concert (the first row), then
/// the free places of the order (one number a row), by `$pick`.
macro_rules! hold_look {
    ($pick:literal) => {
        concat!(
            "SELECT EXISTS (SELECT 1 FROM waitlist
                             WHERE schedule_id = $3 AND status IN ('WAITING', 'OFFERING')),
                    COUNT(CASE WHEN schedule_id = $3 AND status = 'HELD' AND held_until > $4 THEN 1 END),
                    COALESCE(SUM(CASE WHEN status = 'CONFIRMED'
                                        OR (status = 'HELD' AND held_until > $4) THEN quantity END), 0)
               FROM reservations WHERE user_id = $1 AND concert_id = $2;
             SELECT number, 0, 0 FROM seats
              WHERE schedule_id = $3 AND (state = 'AVAILABLE' OR (state = 'HELD' AND held_until <= $4)) ",
            $pick
        )
    };
}
/// Named seats: those of `$5` (a JSON array) that are free.
const HOLD_LOOK_SEATS: &str =
    hold_look!("AND number IN (SELECT value FROM json_each($5)) ORDER BY number");
/// A count of places: the first `$8` free ones numbered `$6..=$7`.
const HOLD_LOOK_COUNT: &str = hold_look!("AND number BETWEEN $6 AND $7 ORDER BY number LIMIT $8");

/// The writes of a hold, inside a group's savepoint (`group.rs`): the steps of `encore_hold` in
/// the PostgreSQL schema. `None`: fewer places are free than the order needs. SQLite's one
/// writer serialises every hold, so no lock is taken by hand.
async fn hold_in(
    conn: &mut SqliteConnection,
    opening: group::Opening,
    r: &HoldRequest,
) -> Result<Option<Reservation>> {
    // `$5`: the seats asked for (a JSON array); `$6` to `$8`: the range and the count.
    let (look, seats, (first, last)) = match &r.places {
        Places::Seats(numbers) => (HOLD_LOOK_SEATS, json(numbers), (0, 0)),
        Places::Count { first, last, .. } => (HOLD_LOOK_COUNT, String::new(), (*first, *last)),
    };
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&opening.before(look))
        .bind(r.user_id)
        .bind(r.concert_id)
        .bind(r.schedule_id)
        .bind(r.now)
        .bind(seats)
        .bind(first)
        .bind(last)
        .bind(r.places.count())
        .fetch_all(&mut *conn)
        .await?;
    let Some((&(waiting, holds, places), free_places)) = rows.split_first() else {
        return Err(Error::internal("a hold's limits answered no row"));
    };
    // While the schedule's waiting list waits, every place that comes free is the list's.
    if waiting != 0 && !r.offer {
        return Err(Error::SeatUnavailable);
    }
    if holds >= i64::from(r.max_holds) {
        return Err(Error::HoldLimitReached);
    }
    if places + r.places.count() > i64::from(r.max_places) {
        return Err(Error::TicketLimitReached);
    }
    let picked: Vec<i64> = free_places.iter().map(|&(n, _, _)| n).collect();
    if (picked.len() as i64) < r.places.count() {
        return Ok(None);
    }
    let picked_json = json(&picked);
    let held = r.held(picked);
    // The hold's three writes in one call to the writer (SQLite runs a string of statements in
    // order, each binding its `$n` from the one list).
    sqlx::query(
        "UPDATE seats SET state = 'HELD', held_until = $3, reservation_id = $4
          WHERE schedule_id = $1 AND number IN (SELECT value FROM json_each($2));
         INSERT INTO reservations (id, user_id, concert_id, schedule_id, seat_number, quantity, price, status, held_until, created_at)
         VALUES ($4, $5, $6, $1, $7, $8, $9, 'HELD', $3, $10);
         INSERT INTO reservation_seats (reservation_id, number)
         SELECT $4, value FROM json_each($2)",
    )
    .bind(r.schedule_id)
    .bind(&picked_json)
    .bind(r.held_until)
    .bind(r.id)
    .bind(r.user_id)
    .bind(r.concert_id)
    .bind(held.seat_number)
    .bind(held.quantity)
    .bind(r.price)
    .bind(r.now)
    .execute(&mut *conn)
    .await?;
    Ok(Some(held))
}

/// Numbers as a JSON array, for `json_each`.
fn json(numbers: &[i64]) -> String {
    let items: Vec<String> = numbers.iter().map(i64::to_string).collect();
    format!("[{}]", items.join(","))
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
        write_groups: Some(group::WriteGroups::start(write.clone())),
        write,
        hold_batches: None,
        pay_batches: None,
        recent_holds: super::sql::RecentHolds::new(),
    })
}
