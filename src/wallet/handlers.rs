//! `GET /wallet`, `POST /wallet/charges` and `GET /wallet/transactions`.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ChargeReceipt, Transaction, Wallet};
use crate::app::AppState;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::AuthUser;
use crate::http::extract::{IdempotencyKey, Json, Query};
use crate::idempotency::IdemKey;
use crate::money::Money;
use crate::page::{Page, PageQuery};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(wallet))
        .routes(routes!(charge))
        .routes(routes!(transactions))
}

#[utoipa::path(get, path = "/wallet", tag = "wallet", security(("apiKey" = [])),
    responses((status = 200, body = Wallet)))]
pub async fn wallet(State(state): State<AppState>, user: AuthUser) -> Result<JsonOut<Wallet>> {
    Ok(JsonOut(state.store.wallet(user.0).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCharge {
    /// Whole won, 1 to ENCORE_MAX_CHARGE (default 10,000,000; over it is 422).
    #[schema(minimum = 1, maximum = 1_000_000_000_000_i64)]
    pub amount: i64,
}

#[utoipa::path(post, path = "/wallet/charges", tag = "wallet", request_body = NewCharge,
    description = "Tops the wallet up. With an Idempotency-Key, a repeat with the same body returns the first answer \
                   and charges nothing again; the same key with another body is 422 IDEMPOTENCY_KEY_REUSED.",
    params(("Idempotency-Key" = Option<String>, Header)), security(("apiKey" = [])),
    responses((status = 200, body = ChargeReceipt),
              (status = 422, description = "VALIDATION_FAILED, BALANCE_LIMIT or IDEMPOTENCY_KEY_REUSED")))]
pub async fn charge(
    State(state): State<AppState>,
    user: AuthUser,
    IdempotencyKey(key): IdempotencyKey,
    Json(body): Json<NewCharge>,
) -> Result<Response> {
    if !(1..=state.settings.max_charge).contains(&body.amount) {
        return Err(Error::validation(format!(
            "amount must be a whole number of won from 1 to {}",
            state.settings.max_charge
        )));
    }
    let idem = IdemKey::new("charges", key, &body);
    let outcome = state
        .store
        .charge(user.0, Money(body.amount), clock::now(), idem.as_ref())
        .await?;
    Ok(outcome.respond(|receipt| JsonOut(receipt).into_response()))
}

#[utoipa::path(get, path = "/wallet/transactions", tag = "wallet", params(PageQuery),
    description = "The ledger, newest first.", security(("apiKey" = [])),
    responses((status = 200, body = Page<Transaction>), (status = 422)))]
pub async fn transactions(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<PageQuery>,
) -> Result<JsonOut<Page<Transaction>>> {
    Ok(JsonOut(state.store.transactions(user.0, q.parse()?).await?))
}
