//! A payment's sale on SQLite: two calls to the writer inside the payment's savepoint.

use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::money::Money;
use crate::payments::Payment;
use crate::reservations::Reservation;
use crate::store::sql::SqlStore;

/// Everything after the places are sold, as one string of statements (SQLite runs them in order,
/// each binding its `$n` from the one list): the hold confirmed, the wallet debited, the ledger
/// line, the payment, and the `reservation.confirmed` event for every endpoint that listens.
/// Each statement after the first runs only if the one before it changed a row (`changes()`),
/// so the rows answered say how far it got: none, the hold was no longer HELD; one (the
/// confirm's `0`), the balance was short; two, paid, the second being the balance after. The
/// caller rolls a refusal back to the write's savepoint all the same.
const CONFIRM_AND_DEBIT: &str = "
    UPDATE reservations SET status = 'CONFIRMED', confirmed_at = $3
     WHERE id = $5 AND status || '' = 'HELD' RETURNING 0;
    UPDATE wallets SET balance = balance - $2, updated_at = $3
     WHERE user_id = $1 AND balance >= $2 AND changes() = 1 RETURNING balance;
    INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
    SELECT $4, $1, 'PAYMENT', -$2, balance, $5, $3 FROM wallets WHERE user_id = $1 AND changes() = 1;
    INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, created_at)
    SELECT $6, $5, $1, $2, balance, $3 FROM wallets WHERE user_id = $1 AND changes() = 1;
    INSERT INTO webhook_deliveries (webhook_id, event_id, type, body, created_at, status, attempts, next_at)
    SELECT id, $7, $8, $9, $11, 'PENDING', 0, $11 FROM webhooks WHERE events LIKE $10 AND changes() = 1";

impl SqlStore<sqlx::Sqlite> {
    /// Sells the order's places (only a live hold of this reservation turns them SOLD, and only
    /// all of them), then confirms, debits and records the payment: the payment's steps on
    /// SQLite's writer, whose one connection serialises them.
    pub(crate) async fn pay_in(
        tx: &mut SqliteConnection,
        mut r: Reservation,
        user_id: Uuid,
        now: Millis,
    ) -> Result<(Payment, Reservation)> {
        r.numbers = Self::sell_places(tx, &r, now).await?;
        let event = crate::webhooks::reservation_confirmed(&r, user_id, now);
        let payment_id = Uuid::now_v7();
        let answered: Vec<i64> = sqlx::query_scalar(CONFIRM_AND_DEBIT)
            .bind(user_id)
            .bind(r.price)
            .bind(now)
            .bind(Uuid::now_v7())
            .bind(r.id)
            .bind(payment_id)
            .bind(event.id)
            .bind(event.kind.as_str())
            .bind(event.body())
            .bind(event.subscribers())
            .bind(event.created_at)
            .fetch_all(&mut *tx)
            .await?;
        let balance = match answered[..] {
            // The sweeper marked it EXPIRED in between: the hold lapsed, nothing is sold.
            [] => return Err(Error::HoldExpired),
            [_] => return Err(Error::InsufficientBalance),
            [_, balance] => Money(balance),
            _ => {
                return Err(Error::internal(format!(
                    "a payment's statements answered {} rows",
                    answered.len()
                )));
            }
        };
        let payment = Payment {
            id: payment_id,
            reservation_id: r.id,
            amount: r.price,
            balance_after: balance,
            created_at: now,
        };
        Ok((payment, r))
    }
}
