//! `POST /concerts/{id}/queue`, `GET /queue` (poll and heartbeat) and `DELETE /queue` (leave).

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use uuid::Uuid;

use super::Ticket;
use crate::app::AppState;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::{AuthUser, QueueTokenHeader};
use crate::http::extract::Path;
use crate::http::limits::ClientAddr;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join))
        .routes(routes!(poll, leave))
        .routes(routes!(super::events::events))
}

fn required(token: QueueTokenHeader) -> Result<String> {
    token.0.ok_or(Error::QueueTokenRequired)
}

#[utoipa::path(post, path = "/concerts/{concertId}/queue", tag = "queue",
    description = "Joins the concert's waiting queue. Joining again returns the live ticket unchanged (200).",
    params(("concertId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 201, body = Ticket, description = "a new ticket at the back of the line, or PRE_QUEUE before the concert's onSaleAt"),
              (status = 200, body = Ticket, description = "the user's live ticket, unchanged"),
              (status = 401), (status = 404), (status = 422),
              (status = 409, description = "SOLD_OUT"),
              (status = 429, description = "RATE_LIMITED: too many joins from this address"),
              (status = 503, description = "QUEUE_UNAVAILABLE")))]
pub async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientAddr,
    Path(concert_id): Path<Uuid>,
) -> Result<(StatusCode, JsonOut<Ticket>)> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let (policy, adm) = state.admission(concert_id, now).await?;
    if policy.sold_out() {
        return Err(Error::SoldOut);
    }
    state.limits.join(client)?;
    let (ticket, created) = state.queue.join(user.0, concert_id, now, &adm).await?;
    let ticket = ticket.under(&policy, &state.wait_prior());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonOut(ticket)))
}

#[utoipa::path(get, path = "/queue", tag = "queue",
    description = "The ticket now; also counts as its heartbeat.",
    params(("X-Queue-Token" = String, Header)),
    responses((status = 200, body = Ticket),
              (status = 401, description = "QUEUE_TOKEN_REQUIRED or QUEUE_TOKEN_INVALID"),
              (status = 410, description = "QUEUE_TOKEN_EXPIRED")))]
pub async fn poll(
    State(state): State<AppState>,
    token: QueueTokenHeader,
) -> Result<JsonOut<Ticket>> {
    let token = required(token)?;
    Ok(JsonOut(poll_ticket(&state, &token).await?))
}

/// A poll of the ticket behind `token`, as its concert's policy shows it.
pub async fn poll_ticket(state: &AppState, token: &str) -> Result<Ticket> {
    let now = clock::now();
    let (policy, adm) = state.admission(state.queue.concert_of(token)?, now).await?;
    let ticket = state.queue.poll(token, now, &adm).await?;
    Ok(ticket.under(&policy, &state.wait_prior()))
}

#[utoipa::path(delete, path = "/queue", tag = "queue",
    description = "Gives the place up; the next waiter moves up at once.",
    params(("X-Queue-Token" = String, Header)),
    responses((status = 204), (status = 401), (status = 410)))]
pub async fn leave(State(state): State<AppState>, token: QueueTokenHeader) -> Result<StatusCode> {
    let token = required(token)?;
    let now = clock::now();
    let (_, adm) = state
        .admission(state.queue.concert_of(&token)?, now)
        .await?;
    state.queue.leave(&token, now, &adm).await?;
    Ok(StatusCode::NO_CONTENT)
}
