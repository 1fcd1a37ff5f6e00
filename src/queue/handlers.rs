//! `POST /concerts/{id}/queue` (with its proof-of-work challenge), `GET /queue` (poll and
//! heartbeat) and `DELETE /queue` (leave).

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use uuid::Uuid;

use super::proof::Challenge;
use super::{Standing, Ticket};
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
        .routes(routes!(challenge))
        .routes(routes!(poll, leave))
        .routes(routes!(super::events::events))
}

fn required(token: QueueTokenHeader) -> Result<String> {
    token.0.ok_or(Error::QueueTokenRequired)
}

#[utoipa::path(post, path = "/concerts/{concertId}/queue", tag = "queue",
    description = "Joins the concert's waiting queue. Joining again returns the live ticket unchanged (200). \
                   With proof of work on (ENCORE_QUEUE_POW_BITS > 0) the join carries X-Queue-Proof.",
    params(("concertId" = Uuid, Path),
           ("X-Queue-Proof" = Option<String>, Header,
            description = "{challenge}.{nonce}: sha256 of that text starts with the challenge's bits of zeros")),
    security(("apiKey" = [])),
    responses((status = 201, body = Ticket, description = "a new ticket at the back of the line, or PRE_QUEUE before the concert's onSaleAt"),
              (status = 200, body = Ticket, description = "the user's live ticket, unchanged"),
              (status = 404), (status = 422),
              (status = 403, description = "PROOF_INVALID: wrong, used already or expired"),
              (status = 409, description = "SOLD_OUT"),
              (status = 428, description = "PROOF_REQUIRED: proof of work is on and X-Queue-Proof is missing"),
              (status = 429, description = "RATE_LIMITED: too many joins from this address"),
              (status = 503, description = "QUEUE_UNAVAILABLE")))]
pub async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    client: ClientAddr,
    Path(concert_id): Path<Uuid>,
    headers: HeaderMap,
) -> Result<(StatusCode, JsonOut<Ticket>)> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let (policy, adm) = state.admission(concert_id, now).await?;
    if policy.sold_out() {
        return Err(Error::SoldOut);
    }
    state.limits.join(client)?;
    check_proof(&state, &headers, user, concert_id, now).await?;
    let (ticket, created) = state.queue.join(user.0, concert_id, &adm).await?;
    let ticket = ticket.under(&policy, &state.wait_prior());
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonOut(ticket)))
}

/// With proof of work on: the join's `X-Queue-Proof` is right, for this fan and concert, and
/// spent now (a second use on any instance is refused).
async fn check_proof(
    state: &AppState,
    headers: &HeaderMap,
    user: AuthUser,
    concert: Uuid,
    now: clock::Millis,
) -> Result<()> {
    let bits = state.settings.queue_pow_bits;
    if bits == 0 {
        return Ok(());
    }
    let proof = headers
        .get("x-queue-proof")
        .and_then(|v| v.to_str().ok())
        .filter(|p| !p.is_empty())
        .ok_or(Error::ProofRequired)?;
    let spent = state.proofs.check(proof, user.0, concert, bits, now)?;
    if !state.store.spend_proof(&spent.id, spent.expires_at).await? {
        return Err(Error::ProofInvalid);
    }
    Ok(())
}

#[utoipa::path(get, path = "/concerts/{concertId}/queue/challenge", tag = "queue",
    description = "A proof-of-work challenge for this fan's next join of this concert: find a nonce such that \
                   sha256(challenge + \".\" + nonce) starts with `bits` zero bits, then join with \
                   X-Queue-Proof: {challenge}.{nonce}. Each challenge works once, before `expiresAt`. \
                   `bits` is 0 when proof of work is off.",
    params(("concertId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = Challenge), (status = 404)))]
pub async fn challenge(
    State(state): State<AppState>,
    user: AuthUser,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Challenge>> {
    state.concert(concert_id).await?;
    let bits = state.settings.queue_pow_bits;
    Ok(JsonOut(state.proofs.issue(
        user.0,
        concert_id,
        bits,
        clock::now(),
    )))
}

#[utoipa::path(get, path = "/queue", tag = "queue",
    description = "The ticket now; also counts as its heartbeat while WAITING. Once the concert \
                   is sold out, every ticket that is not ACTIVE reads SOLD_OUT (final), one that \
                   has expired or left too.",
    params(("X-Queue-Token" = String, Header)),
    responses((status = 200, body = Ticket),
              (status = 401, description = "QUEUE_TOKEN_REQUIRED or QUEUE_TOKEN_INVALID"),
              (status = 410, description = "QUEUE_TOKEN_EXPIRED (never once the concert is sold out)")))]
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
    let t = state.queue.verify(token)?;
    let (policy, adm) = state.admission(t.concert, now).await?;
    let ticket = match state.queue.poll(t, &adm).await {
        // Once the concert is sold out, a ticket that is gone (it expired, left or bought)
        // reads SOLD_OUT too: on every backend, every ticket not ACTIVE does.
        Err(Error::QueueTokenExpired) if policy.sold_out() => {
            Standing::SoldOut.into_ticket(token.to_owned(), t.concert, t.id)
        }
        other => other?,
    };
    Ok(ticket.under(&policy, &state.wait_prior()))
}

#[utoipa::path(delete, path = "/queue", tag = "queue",
    description = "Gives the place up; the next waiter moves up at once.",
    params(("X-Queue-Token" = String, Header)),
    responses((status = 204)))]
pub async fn leave(State(state): State<AppState>, token: QueueTokenHeader) -> Result<StatusCode> {
    let token = required(token)?;
    let now = clock::now();
    let t = state.queue.verify(&token)?;
    let (_, adm) = state.admission(t.concert, now).await?;
    state.queue.leave(t, &adm).await?;
    Ok(StatusCode::NO_CONTENT)
}
