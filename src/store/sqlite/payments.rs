//! A payment on SQLite: one call to the writer for the whole payment of a hold whose places are
//! known (its key claimed, its places sold, the hold confirmed, the wallet debited, the ledger,
//! the payment, the key's answer and the webhook outbox), or the shared steps (`pay_steps`)
//! otherwise. Every call to the writer is a hop to sqlx's SQLite thread, which the group's
//! other writes wait behind: fewer calls, more payments a second.

use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::idempotency::{IdemKey, Stored};
use crate::money::Money;
use crate::payments::{Paid, Payment};
use crate::reservations::{Reservation, ReservationStatus};
use crate::store::sql::{SqlStore, Step};
use crate::store::sqlite::group::Opening;

/// The statements both payments share, after the confirm: the wallet debited `$2` at `$3` if its
/// balance covers it (answering the balance), then the ledger line `$4` and the payment `$6` of
/// reservation `$5`, each only if the statement before it changed a row.
macro_rules! debit_and_record {
    () => {
        "
     UPDATE wallets SET balance = balance - $2, updated_at = $3
      WHERE user_id = $1 AND balance >= $2 AND changes() = 1 RETURNING balance;
     INSERT INTO wallet_transactions (id, user_id, kind, amount, balance_after, reservation_id, created_at)
     SELECT $4, $1, 'PAYMENT', -$2, balance, $5, $3 FROM wallets WHERE user_id = $1 AND changes() = 1;
     INSERT INTO payments (id, reservation_id, user_id, amount, balance_after, created_at)
     SELECT $6, $5, $1, $2, balance, $3 FROM wallets WHERE user_id = $1 AND changes() = 1;
     "
    };
}

/// A whole payment as one string of statements (SQLite runs them in order, each binding its `$n`
/// from the one list), each running only if the one before it did its part:
/// - the key claimed (`$14` NULL: no key), answering `-1`;
/// - the places sold: only this reservation's live hold, answering their numbers;
/// - the hold confirmed, only if every place sold (`changes()` is `$13`, the order's quantity),
///   answering `0`; the wallet debited if the balance covers the price, answering the balance;
///   the ledger line and the payment;
/// - once the payment exists: the key's answer (the payment's JSON around the balance, `$17`
///   and `$18`) and the `reservation.confirmed` event for every endpoint that listens.
///
/// So the rows answered say how far it got; the caller rolls a refusal back to the write's
/// savepoint.
const PAY_AT_ONCE: &str = concat!(
    "INSERT INTO idempotency_keys (user_id, scope, key, fingerprint, status, body, created_at)
     SELECT $1, $14, $15, $16, 0, '', $3 WHERE $14 IS NOT NULL ON CONFLICT DO NOTHING RETURNING -1;
     UPDATE seats SET state = 'SOLD', held_until = NULL
      WHERE schedule_id = $12 AND number IN (SELECT number FROM reservation_seats WHERE reservation_id = $5)
        AND reservation_id = $5 AND state = 'HELD' AND held_until > $3
        AND ($14 IS NULL OR changes() = 1)
     RETURNING number;
     UPDATE reservations SET status = 'CONFIRMED', confirmed_at = $3
      WHERE id = $5 AND status || '' = 'HELD' AND changes() = $13 RETURNING 0;",
    debit_and_record!(),
    "UPDATE idempotency_keys SET status = 201, body = $17 || (SELECT balance FROM wallets WHERE user_id = $1) || $18
      WHERE user_id = $1 AND scope = $14 AND key = $15 AND EXISTS (SELECT 1 FROM payments WHERE id = $6);
     INSERT INTO webhook_deliveries (webhook_id, event_id, type, body, created_at, status, attempts, next_at)
     SELECT id, $7, $8, $9, $11, 'PENDING', 0, $11 FROM webhooks
      WHERE events LIKE $10 AND EXISTS (SELECT 1 FROM payments WHERE id = $6)"
);

/// The balance in a payment's JSON while the real one is not known yet: the text around it is
/// the key's answer. No other field of a payment can hold this text.
const UNKNOWN_BALANCE: Money = Money(i64::MIN);

/// Everything after the places are sold, as one string of statements (SQLite runs them in order,
/// each binding its `$n` from the one list): the hold confirmed, the wallet debited, the ledger
/// line, the payment, and the `reservation.confirmed` event for every endpoint that listens.
/// Each statement after the first runs only if the one before it changed a row (`changes()`),
/// so the rows answered say how far it got: none, the hold was no longer HELD; one (the
/// confirm's `0`), the balance was short; two, paid, the second being the balance after. The
/// caller rolls a refusal back to the write's savepoint all the same.
const CONFIRM_AND_DEBIT: &str = concat!(
    "UPDATE reservations SET status = 'CONFIRMED', confirmed_at = $3
      WHERE id = $5 AND status || '' = 'HELD' RETURNING 0;",
    debit_and_record!(),
    "INSERT INTO webhook_deliveries (webhook_id, event_id, type, body, created_at, status, attempts, next_at)
     SELECT id, $7, $8, $9, $11, 'PENDING', 0, $11 FROM webhooks WHERE events LIKE $10 AND changes() = 1"
);

impl SqlStore<sqlx::Sqlite> {
    /// A payment of a hold whose places are known (`r.numbers`) in one call to the writer
    /// ([`PAY_AT_ONCE`]); a second only to replay a key used before, or to say why a place
    /// could not be sold. The same answers as the shared `pay_steps`.
    pub(crate) async fn pay_at_once(
        conn: &mut SqliteConnection,
        opening: Opening,
        mut r: Reservation,
        user_id: Uuid,
        now: Millis,
        idem: Option<&IdemKey>,
    ) -> Result<Step<Paid>> {
        // The answer's reservation as paid: the places the sale turns SOLD are its own `r.numbers`.
        r.numbers.sort_unstable();
        r.status = ReservationStatus::Confirmed;
        r.confirmed_at = Some(now);
        let event = crate::webhooks::reservation_confirmed(&r, user_id, now);
        let mut payment = Payment {
            id: Uuid::now_v7(),
            reservation_id: r.id,
            amount: r.price,
            balance_after: UNKNOWN_BALANCE,
            created_at: now,
        };
        let answer = Stored::of(axum::http::StatusCode::CREATED, &payment).body;
        let (before, after) = answer
            .split_once(&UNKNOWN_BALANCE.0.to_string())
            .ok_or_else(|| Error::internal("a payment's JSON without its balance"))?;
        let rows: Vec<i64> = sqlx::query_scalar(&opening.before(PAY_AT_ONCE))
            .bind(user_id)
            .bind(r.price)
            .bind(now)
            .bind(Uuid::now_v7())
            .bind(r.id)
            .bind(payment.id)
            .bind(event.id)
            .bind(event.kind.as_str())
            .bind(event.body())
            .bind(event.subscribers())
            .bind(event.created_at)
            .bind(r.schedule_id)
            .bind(r.quantity)
            .bind(idem.map(|k| k.scope))
            .bind(idem.map(|k| k.key.as_str()))
            .bind(idem.map(|k| k.fingerprint.as_slice()))
            .bind(before)
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
        let mut rows = &rows[..];
        if let Some(idem) = idem {
            match rows.split_first() {
                Some((-1, rest)) => rows = rest,
                // The key was used before: nothing ran; its first answer, or 422 for another body.
                _ => {
                    return Ok(Step::Replay(
                        Self::idem_existing(&mut *conn, user_id, idem).await?,
                    ));
                }
            }
        }
        let quantity = r.quantity as usize;
        if rows.len() < quantity {
            return Ok(Step::Refused(Self::unsold(conn, r.id).await?));
        }
        payment.balance_after = match &rows[quantity..] {
            // The sweeper marked it EXPIRED in between: the hold lapsed, nothing is sold.
            [] => return Ok(Step::Refused(Error::HoldExpired)),
            [_] => return Ok(Step::Refused(Error::InsufficientBalance)),
            [_, balance] => Money(*balance),
            _ => {
                return Err(Error::internal(format!(
                    "a payment's statements answered {} rows",
                    rows.len()
                )));
            }
        };
        Ok(Step::Done(Paid {
            payment,
            reservation: r,
        }))
    }

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
