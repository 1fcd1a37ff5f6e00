//! `POST /reservations/{id}/refund`: a paid reservation refunded under its concert's policy;
//! `GET` the same path: what a refund now would give back.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use crate::app::AppState;
use crate::catalogue::ScheduleStatus;
use crate::catalogue::seat_states::AVAILABLE;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::AuthUser;
use crate::http::extract::{IdempotencyKey, Path};
use crate::idempotency::{IdemKey, Replayable};
use crate::money::Money;
use crate::refunds::policy::{Fee, RefundPolicy};
use crate::reservations::ReservationView;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refund, quote))
}

#[utoipa::path(post, path = "/reservations/{reservationId}/refund", tag = "reservations",
    description = "Refunds a CONFIRMED reservation in one transaction: it turns REFUNDED, every place of it \
        is free again (offered to the schedule's waiting list first), and the wallet gets the price less \
        the fee back (a REFUND ledger line). The fee is the concert's refundPolicy tier with the largest \
        untilHoursBefore that is still at most the hours left before startsAt, as feePercent of the price \
        rounded down to the won; no such tier: REFUND_CLOSED. Without a policy: free until 24 hours before \
        the start, then closed. A reservation with any ticket already let in at a gate is not \
        refunded (ALREADY_CHECKED_IN). With an Idempotency-Key, a repeat returns the first answer.",
    params(("reservationId" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = ReservationView, description = "REFUNDED, with refund {amount, fee}"),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's"),
              (status = 409, description = "RESERVATION_NOT_CONFIRMED, REFUND_CLOSED or ALREADY_CHECKED_IN \
                  (a ticket of it was let in at a gate)"),
              (status = 422, description = "VALIDATION_FAILED, BALANCE_LIMIT or IDEMPOTENCY_KEY_REUSED")))]
pub async fn refund(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    let idem = IdemKey::new("refunds", key, &id);
    let r = state.own_reservation(id, user.0).await?;
    let shown = state.shown(r.schedule_id).await?;
    let now = clock::now();
    let outcome = state
        .store
        .refund(user.0, id, now, idem.as_ref(), &shown)
        .await;
    let result = match &outcome {
        Ok(_) => "refunded",
        Err(e) => e.code(),
    };
    metrics::counter!("encore_refunds_total", "result" => result).increment(1);
    let outcome = outcome?;
    if let Replayable::Fresh(r) = &outcome {
        // A cancelled schedule's places turned VOID, not free (the cached schedule's status may
        // be stale: read it again).
        let cancelled = matches!(
            state.store.schedule(r.schedule_id).await,
            Ok(Some(s)) if s.status == ScheduleStatus::Cancelled
        );
        if !cancelled {
            let now = clock::now();
            state.taken.freed(r.schedule_id, &r.numbers);
            state
                .seat_states
                .patch(r.schedule_id, &r.numbers, AVAILABLE, 0, now);
            state
                .controls
                .places_changed(r.concert_id, r.numbers.len() as i64, 0);
        }
    }
    Ok(
        outcome
            .respond(|r| (StatusCode::OK, JsonOut(r.view(&shown, clock::now()))).into_response()),
    )
}

/// What a refund of the reservation now would keep and give back.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RefundQuote {
    /// The reservation's total, in won.
    #[schema(value_type = i64)]
    pub price: Money,
    /// What the refund would keep.
    #[schema(value_type = i64)]
    pub fee: Money,
    /// What the wallet would get back: price − fee.
    #[schema(value_type = i64)]
    pub amount: Money,
    /// The tier's fee percentage (0 for a called-off date).
    pub fee_percent: i64,
}

#[utoipa::path(get, path = "/reservations/{reservationId}/refund", tag = "reservations",
    description = "What `POST` on this path would give back now, under the same rules, so a fan sees the fee \
        before confirming. A quote, not a promise: a tier boundary may pass in between.",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = RefundQuote),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's"),
              (status = 409, description = "RESERVATION_NOT_CONFIRMED, REFUND_CLOSED or ALREADY_CHECKED_IN \
                  (a ticket of it was let in at a gate)"),
              (status = 422)))]
pub async fn quote(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<RefundQuote>> {
    let r = state.confirmed_reservation(id, user.0).await?;
    if let Some(at) = state.store.first_check_in(r.id).await? {
        return Err(Error::AlreadyCheckedIn(clock::to_rfc3339(at)));
    }
    // Both read from the database: the policy and the schedule's status change.
    let schedule = state
        .store
        .schedule(r.schedule_id)
        .await?
        .ok_or(Error::ScheduleNotFound)?;
    let concert = state
        .store
        .concert(r.concert_id)
        .await?
        .ok_or(Error::ConcertNotFound)?;
    let policy = concert
        .refund_policy
        .unwrap_or_else(RefundPolicy::default_policy);
    let now = clock::now();
    let (fee, fee_percent) = if schedule.status == ScheduleStatus::Cancelled {
        (
            Fee {
                fee: Money(0),
                amount: r.price,
            },
            0,
        )
    } else {
        let tier = policy
            .tier(schedule.starts_at, now)
            .ok_or(Error::RefundClosed)?;
        (
            policy.fee(r.price, schedule.starts_at, now)?,
            tier.fee_percent,
        )
    };
    Ok(JsonOut(RefundQuote {
        price: r.price,
        fee: fee.fee,
        amount: fee.amount,
        fee_percent,
    }))
}
