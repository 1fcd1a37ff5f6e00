//! `POST /reservations/{id}/refund`: a paid reservation refunded under its concert's policy.

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
use crate::reservations::ReservationView;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(refund))
}

#[utoipa::path(post, path = "/reservations/{reservationId}/refund", tag = "reservations",
    description = "Refunds a CONFIRMED reservation in one transaction: it turns REFUNDED, every place of it \
        is free again (offered to the schedule's waiting list first), and the wallet gets the price less \
        the fee back (a REFUND ledger line). The fee is the concert's refundPolicy tier with the smallest \
        untilHoursBefore that is still at most the hours left before startsAt, as feePercent of the price \
        rounded down to the won; no such tier: REFUND_CLOSED. Without a policy: free until 24 hours before \
        the start, then closed. With an Idempotency-Key, a repeat returns the first answer.",
    params(("reservationId" = Uuid, Path), ("Idempotency-Key" = Option<String>, Header)),
    security(("apiKey" = [])),
    responses((status = 200, body = ReservationView, description = "REFUNDED, with refund {amount, fee}"),
              (status = 401),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's"),
              (status = 409, description = "RESERVATION_NOT_CONFIRMED or REFUND_CLOSED"),
              (status = 422, description = "VALIDATION_FAILED, BALANCE_LIMIT or IDEMPOTENCY_KEY_REUSED")))]
pub async fn refund(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<Uuid>,
) -> Result<Response> {
    let idem = IdemKey::new("refunds", key, &id);
    let r = state
        .store
        .reservation(id, user.0)
        .await?
        .ok_or(Error::ReservationNotFound)?;
    let layout = state.layout(r.schedule_id).await?;
    let now = clock::now();
    let outcome = state
        .store
        .refund(user.0, id, now, idem.as_ref(), &layout)
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
    Ok(outcome
        .respond(|r| (StatusCode::OK, JsonOut(r.view(&layout, clock::now()))).into_response()))
}
