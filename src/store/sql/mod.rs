//! The SQL implementation of every store trait, written once for SQLite and PostgreSQL.
//!
//! The statements use only what both dialects accept (`$n` parameters, `RETURNING`,
//! `ON CONFLICT`, recursive CTEs, integer epoch-millisecond times), and each `impl_*!` macro is
//! instantiated for both databases, so the two backends cannot drift apart. Invariants live in
//! the statements: conditional updates decide every race, checks and unique indexes back them.
//!
//! Lock order, to rule out deadlocks on PostgreSQL: the user (an advisory lock), then seat rows,
//! then reservation rows, then the wallet row. Every transaction takes a subset in that order.
//!
//! Some statement sequences differ per backend (in `sqlite/` and `postgres/`). The hold
//! (`hold_places`): the same steps, in a group of writes on SQLite and as PL/pgSQL on
//! PostgreSQL, called for a batch of holds at once, where it is the hot path and round trips
//! dominate. The payment (`pay_order`): `pay_steps` in a group of writes on SQLite, one
//! PL/pgSQL statement (`encore_pay`) on PostgreSQL. The sweep (`free_lapsed`): on PostgreSQL it passes over seats other transactions have locked
//! (`SKIP LOCKED`), so it never waits inside the lock order; SQLite's single writer needs no
//! such care.
//!
//! `held_until + 0` where a lookup is by key (reservation, user): PostgreSQL caches a generic
//! plan per connection, and one built while a table is nearly empty can pick the
//! `reservations_held` partial index instead, then walk every live hold on each call. The `+ 0`
//! takes that index out of the running; the sweeper's range scan keeps using it.
//!
//! The same trap has a second door: a statement that says `status = 'HELD'` implies the
//! predicate of every partial index `WHERE status = 'HELD'`, so a *full* scan of such an index is
//! a candidate, and after an `ANALYZE` taken while no hold was live it looks free. So a statement
//! may match a partial index only through conditions on its columns: statements that go by id
//! (payment, cancel) say `status || '' = 'HELD'`, and the sweeper's index carries a conjunct only
//! the sweeper states (`held_until > 0`). `docs/design/postgres-hot-statements.md` has the measurements.
//!
//! Seats have no index on what holds, payments and sweeps change (`state`, `held_until`,
//! `reservation_id`), so PostgreSQL rewrites a seat within its page, with no index writes. Keep
//! it so: an index on any of those columns would make every seat update write every index of
//! the table. The sweeper finds lapsed seats through their reservations instead (a seat is HELD
//! exactly while its live reservation is, with the same `held_until`).

/// Confirms a reservation by id if it is still a live hold (the payment). `status || ''` keeps
/// it off every partial index `WHERE status = 'HELD'`; `tests/api/plans.rs` checks both of these
/// statements on generic plans after an `ANALYZE` taken with no hold live.
/// Idempotency keys created before `$1`, at most `$2` of them: a range of the `created_at`
/// index, so a sweep that finds nothing to forget reads nothing.
pub const FORGET_IDEMPOTENCY_KEYS: &str = "DELETE FROM idempotency_keys WHERE (user_id, scope, key) IN \
     (SELECT user_id, scope, key FROM idempotency_keys WHERE created_at < $1 LIMIT $2)";

pub const CONFIRM_HOLD: &str = "UPDATE reservations SET status = 'CONFIRMED', confirmed_at = $2 \
     WHERE id = $1 AND status || '' = 'HELD'";
/// The statements that change an order's places, one set per backend. Each finds the places
/// through the order's own list (`reservation_seats`) and the seats' primary key; only the
/// phrase naming that list differs (`seat_statements!`).
pub(crate) trait SeatStatements {
    /// Frees every place a live hold of reservation `$2` (schedule `$1`) still holds at `$3`:
    /// the cancel, which needs all of them (`rows_affected` = the order's size). A place taken
    /// over after the hold lapsed names another reservation and is left alone.
    const FREE_HELD_SEATS: &'static str;
    /// Sells every place a live hold of reservation `$2` (schedule `$1`) still holds at `$3`:
    /// the payment, which needs all of them.
    const SELL_HELD_SEATS: &'static str;
    /// Frees every place reservation `$2` (schedule `$1`) bought; the refund needs all of them.
    /// The places of a cancelled schedule turn VOID instead: they are never sold again.
    const FREE_SOLD_SEATS: &'static str;
    /// Every place reservation `$2` (schedule `$1`) bought turns VOID: its schedule is cancelled.
    const VOID_SOLD_SEATS: &'static str;
}

/// `SeatStatements` for a backend, `$places` being its phrase for "`number` is one of
/// reservation `$2`'s places".
macro_rules! seat_statements {
    ($db:ty, $places:literal) => {
        impl SeatStatements for $db {
            const FREE_HELD_SEATS: &'static str = concat!(
                "UPDATE seats SET state = 'AVAILABLE', held_until = NULL, reservation_id = NULL \
                  WHERE schedule_id = $1 AND number ",
                $places,
                " AND reservation_id = $2 AND state = 'HELD' AND held_until > $3"
            );
            const SELL_HELD_SEATS: &'static str = concat!(
                "UPDATE seats SET state = 'SOLD', held_until = NULL \
                  WHERE schedule_id = $1 AND number ",
                $places,
                " AND reservation_id = $2 AND state = 'HELD' AND held_until > $3"
            );
            const FREE_SOLD_SEATS: &'static str = concat!(
                "UPDATE seats SET held_until = NULL, reservation_id = NULL, \
                   state = CASE WHEN EXISTS (SELECT 1 FROM schedules WHERE id = $1 AND status = 'CANCELLED') \
                                THEN 'VOID' ELSE 'AVAILABLE' END \
                  WHERE schedule_id = $1 AND number ",
                $places,
                " AND reservation_id = $2 AND state = 'SOLD'"
            );
            const VOID_SOLD_SEATS: &'static str = concat!(
                "UPDATE seats SET state = 'VOID', held_until = NULL, reservation_id = NULL \
                  WHERE schedule_id = $1 AND number ",
                $places,
                " AND reservation_id = $2 AND state = 'SOLD'"
            );
        }
    };
}
seat_statements!(
    sqlx::Sqlite,
    "IN (SELECT number FROM reservation_seats WHERE reservation_id = $2)"
);
// The list as an array: PostgreSQL then looks each place up by the seats' key whatever its
// statistics say. As a subquery, a plan made while `reservation_seats` had no statistics joins
// every seat of the schedule (docs/design/postgres-hot-statements.md, "A subquery naming an order's places").
seat_statements!(
    sqlx::Postgres,
    "= ANY(ARRAY(SELECT number FROM reservation_seats WHERE reservation_id = $2))"
);

/// The sweep's second step: every lapsed hold that holds no place any more (its places were
/// freed just now, or taken over by another hold after it lapsed) turns EXPIRED. One whose place
/// the first step passed over (locked) waits for the next sweep. States both conjuncts of
/// `reservations_held`, the index it walks.
pub const EXPIRE_EMPTY_HOLDS: &str = "UPDATE reservations SET status = 'EXPIRED' \
     WHERE status = 'HELD' AND held_until > 0 AND held_until <= $1 \
       AND NOT EXISTS (SELECT 1 FROM reservation_seats rs JOIN seats s \
                         ON s.schedule_id = reservations.schedule_id AND s.number = rs.number \
                        WHERE rs.reservation_id = reservations.id \
                          AND s.reservation_id = reservations.id AND s.state = 'HELD')";
/// Cancels a reservation by id if it is still a live hold; the cancel adds `RETURNING`.
pub const CANCEL_HOLD: &str =
    "UPDATE reservations SET status = 'CANCELLED' WHERE id = $1 AND status || '' = 'HELD'";

mod cancellations;
pub(crate) mod catalogue;
pub(crate) mod onsale;
mod payments;
pub(crate) mod refunds;
pub(crate) mod reservations;
mod system;
pub(crate) mod tickets;
mod users;
pub(crate) mod waitlist;
pub(crate) mod wallet;
pub(crate) mod webhooks;

pub(crate) use cancellations::impl_cancellation_store;
pub(crate) use catalogue::impl_catalogue_store;
pub(crate) use onsale::impl_on_sale_store;
pub(crate) use payments::impl_payment_store;
pub(crate) use refunds::impl_refund_store;
pub(crate) use reservations::impl_reservation_store;
pub(crate) use system::impl_system_store;
pub(crate) use tickets::impl_ticket_store;
pub(crate) use users::impl_user_store;
pub(crate) use waitlist::impl_waitlist_store;
pub(crate) use wallet::impl_wallet_store;
pub(crate) use webhooks::impl_webhook_store;

/// A database behind two pools. SQLite: one writer connection (writes queue in the pool rather
/// than failing with SQLITE_BUSY; holds, payments and charges in groups of one commit each) and
/// several readers. PostgreSQL: the same pool twice, and
/// seat holds gathered into batches on it (`store/postgres/holds.rs`).
pub struct SqlStore<DB: sqlx::Database> {
    pub(crate) read: sqlx::Pool<DB>,
    pub(crate) write: sqlx::Pool<DB>,
    /// PostgreSQL only: holds gathered into one function call per batch.
    pub(crate) hold_batches:
        Option<crate::store::postgres::batches::Batches<crate::reservations::HoldRequest>>,
    /// PostgreSQL only: payments gathered into one function call per batch.
    pub(crate) pay_batches:
        Option<crate::store::postgres::batches::Batches<crate::store::postgres::payments::PayCall>>,
    /// SQLite only: holds, payments and charges gathered into one transaction per group.
    pub(crate) write_groups: Option<crate::store::sqlite::group::WriteGroups>,
    /// The orders this instance held lately (`RecentHolds`).
    pub(crate) recent_holds: RecentHolds,
}

/// The orders this instance held lately, by id, with their fan: a payment of one of them takes
/// the reservation's fixed parts (places, price, schedule) from here instead of reading them
/// first. Those parts never change once held, so a copy is never stale; whether the hold is still
/// live is decided by the payment's own statements. A payment on another instance, or after a
/// restart, reads them.
pub(crate) struct RecentHolds(
    quick_cache::sync::Cache<uuid::Uuid, (uuid::Uuid, crate::reservations::Reservation)>,
);

impl RecentHolds {
    /// Orders remembered at most: about 250 bytes each.
    const CAPACITY: usize = 50_000;

    pub(crate) fn new() -> Self {
        RecentHolds(quick_cache::sync::Cache::new(Self::CAPACITY))
    }

    pub(crate) fn held(&self, user_id: uuid::Uuid, r: &crate::reservations::Reservation) {
        self.0.insert(r.id, (user_id, r.clone()));
    }

    /// The fan's order `id`, if this instance held it lately.
    pub(crate) fn get(
        &self,
        id: uuid::Uuid,
        user_id: uuid::Uuid,
    ) -> Option<crate::reservations::Reservation> {
        self.0
            .get(&id)
            .filter(|(fan, _)| *fan == user_id)
            .map(|(_, r)| r)
    }

    /// Forgets an order once it is paid: it will not be paid again.
    pub(crate) fn paid(&self, id: uuid::Uuid) {
        self.0.remove(&id);
    }
}

impl<DB: sqlx::Database> SqlStore<DB> {
    /// The pool writes go through (benchmarks measure the database ceiling through it).
    pub fn write_pool(&self) -> &sqlx::Pool<DB> {
        &self.write
    }
}

/// Where the statements of a write with an idempotency key (a payment, a charge) ended, before
/// its transaction ends.
pub(crate) enum Step<T> {
    /// Done: commit, then answer.
    Done(T),
    /// The key was used before with the same body: that answer, and nothing was written.
    Replay(crate::idempotency::Stored),
    /// A refusal: roll back what was written, then record it as the key's answer.
    Refused(crate::error::Error),
}

/// Who makes a write with an idempotency key (a payment, a charge), when, and under which key:
/// what the backends' `write_steps` need to record a refusal as the key's answer.
#[derive(Clone, Copy)]
pub(crate) struct Keyed<'a> {
    pub user_id: uuid::Uuid,
    pub now: i64,
    pub idem: Option<&'a crate::idempotency::IdemKey>,
}

/// Every store trait for `SqlStore<$db>`.
macro_rules! impl_all_stores {
    ($db:ty) => {
        $crate::store::sql::impl_user_store!($db);
        $crate::store::sql::impl_catalogue_store!($db);
        $crate::store::sql::impl_reservation_store!($db);
        $crate::store::sql::impl_wallet_store!($db);
        $crate::store::sql::impl_payment_store!($db);
        $crate::store::sql::impl_refund_store!($db);
        $crate::store::sql::impl_ticket_store!($db);
        $crate::store::sql::impl_cancellation_store!($db);
        $crate::store::sql::impl_system_store!($db);
        $crate::store::sql::impl_on_sale_store!($db);
        $crate::store::sql::impl_waitlist_store!($db);
        $crate::store::sql::impl_webhook_store!($db);
    };
}
pub(crate) use impl_all_stores;

/// The columns of a reservation, in `Reservation`'s field order.
pub(crate) const RESERVATION_COLS: &str = "id, concert_id, schedule_id, seat_number, quantity, price, status, held_until, created_at, confirmed_at, refund_amount, refund_fee";

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::RecentHolds;
    use crate::money::Money;
    use crate::reservations::{Reservation, ReservationStatus};

    #[test]
    fn a_recent_hold_is_its_own_fans_until_paid() {
        let (fan, stranger) = (Uuid::now_v7(), Uuid::now_v7());
        let r = Reservation {
            id: Uuid::now_v7(),
            concert_id: Uuid::now_v7(),
            schedule_id: Uuid::now_v7(),
            seat_number: Some(7),
            quantity: 2,
            price: Money(2000),
            status: ReservationStatus::Held,
            held_until: 2000,
            created_at: 1000,
            confirmed_at: None,
            refund_amount: None,
            refund_fee: None,
            numbers: vec![7, 8],
        };
        let recent = RecentHolds::new();
        recent.held(fan, &r);
        let known = recent.get(r.id, fan).expect("the fan's own order");
        assert_eq!((known.numbers, known.price), (vec![7, 8], Money(2000)));
        assert!(recent.get(r.id, stranger).is_none(), "another fan's order");
        recent.paid(r.id);
        assert!(recent.get(r.id, fan).is_none(), "a paid order is forgotten");
    }
}
