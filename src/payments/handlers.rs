//! `POST /payments` and `GET /payments/{id}`.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Payment;
use crate::app::AppState;
use crate::catalogue::seat_states::SOLD;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::AuthUser;
use crate::http::extract::{IdempotencyKey, Json, Path};
use crate::idempotency::{IdemKey, Replayable};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(pay))
        .routes(routes!(detail))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewPayment {
    pub reservation_id: Uuid,
}

#[utoipa::path(post, path = "/payments", tag = "payments", request_body = NewPayment,
    description = "Pays a held reservation from the wallet in one transaction; the payer's queue ticket for the \
                   concert then expires. No queue token is needed. With an Idempotency-Key, a repeat with the same \
                   body returns the first answer and charges nothing again.",
    params(("Idempotency-Key" = Option<String>, Header)), security(("apiKey" = [])),
    responses((status = 201, body = Payment), (status = 402, description = "INSUFFICIENT_BALANCE"),
              (status = 404, description = "RESERVATION_NOT_FOUND"),
              (status = 409, description = "ALREADY_PAID or RESERVATION_NOT_HELD"),
              (status = 410, description = "HOLD_EXPIRED"),
              (status = 422, description = "VALIDATION_FAILED or IDEMPOTENCY_KEY_REUSED")))]
pub async fn pay(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<NewPayment>,
) -> Result<Response> {
    let idem = IdemKey::new("payments", key, &body);
    let now = clock::now();
    let outcome = state
        .store
        .pay(user.0, body.reservation_id, now, idem.as_ref())
        .await;
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            metrics::counter!("encore_payments_total", "result" => e.code()).increment(1);
            return Err(e);
        }
    };
    if let Replayable::Fresh(paid) = &outcome {
        metrics::counter!("encore_payments_total", "result" => "paid").increment(1);
        let r = &paid.reservation;
        state
            .seat_states
            .patch(r.schedule_id, &r.numbers, SOLD, 0, clock::now());
        state
            .controls
            .places_changed(r.concert_id, 0, -(r.numbers.len() as i64));
        // The payment is committed; a queue hiccup only delays the ticket's expiry to its TTL.
        let finished = match state.admission(r.concert_id, now).await {
            Ok((_, adm)) => state.queue.finish(user.0, r.concert_id, &adm).await,
            Err(e) => Err(e),
        };
        if let Err(e) = finished {
            tracing::warn!(error = %e, "could not retire the payer's queue ticket");
        }
    }
    Ok(outcome.respond(|paid| (StatusCode::CREATED, JsonOut(paid.payment)).into_response()))
}

#[utoipa::path(get, path = "/payments/{paymentId}", tag = "payments",
    params(("paymentId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = Payment), (status = 404)))]
pub async fn detail(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<Payment>> {
    let p = state
        .store
        .payment(id, user.0)
        .await?
        .ok_or(Error::PaymentNotFound)?;
    Ok(JsonOut(p))
}
