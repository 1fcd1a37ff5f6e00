//! `GET /reservations/{id}/tickets`, `GET /tickets/key` and `GET /tickets/{ticketId}/qr.svg`.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;

use super::jws::Jwk;
use super::{Ticket, TicketId, ticket};
use crate::app::AppState;
use crate::catalogue::handlers::Items;
use crate::error::{Error, Result};
use crate::http::auth::AuthUserRecord;
use crate::http::extract::Path;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(tickets))
        .routes(routes!(key))
        .routes(routes!(qr))
        .routes(routes!(super::checkins::check_in))
}

#[utoipa::path(get, path = "/reservations/{reservationId}/tickets", tag = "tickets",
    description = "One ticket per place of a CONFIRMED reservation. Each code is a compact JWS (RFC 7515) \
        with header {\"alg\":\"EdDSA\",\"kid\"} signed with Ed25519 (RFC 8037); its payload is \
        {\"tid\" (ticket id), \"sid\" (schedule id), \"seat\" (label, or the section for a standing place), \
        \"name\" (the holder's)}. Check it offline with the key at GET /tickets/key.",
    params(("reservationId" = Uuid, Path)), security(("apiKey" = [])),
    responses((status = 200, body = Items<Ticket>), (status = 422),
              (status = 404, description = "RESERVATION_NOT_FOUND, also for another user's"),
              (status = 409, description = "RESERVATION_NOT_CONFIRMED")))]
pub async fn tickets(
    State(state): State<AppState>,
    user: AuthUserRecord,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<Items<Ticket>>> {
    let r = state.confirmed_reservation(id, user.0.id).await?;
    let layout = state.layout(r.schedule_id).await?;
    let items = r
        .numbers
        .iter()
        .map(|&n| ticket(&state.tickets, &layout, &r, n, &user.0.name))
        .collect();
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(get, path = "/tickets/key", tag = "tickets",
    description = "The public key ticket codes are signed with, as a JWK (kty OKP, crv Ed25519, x, kid). \
        The same on every instance of one database; a gate can keep it and check codes offline.",
    responses((status = 200, body = Jwk)))]
pub async fn key(State(state): State<AppState>) -> JsonOut<Jwk> {
    JsonOut(state.tickets.verifier().jwk())
}

#[utoipa::path(get, path = "/tickets/{ticketId}/qr.svg", tag = "tickets",
    description = "The ticket's code drawn as a QR code (SVG), for its owner.",
    params(("ticketId" = String, Path, description = "{reservationId}.{place number}")),
    security(("apiKey" = [])),
    responses((status = 200, content_type = "image/svg+xml", body = String),
              (status = 404, description = "TICKET_NOT_FOUND, also for another user's"),
              (status = 409, description = "RESERVATION_NOT_CONFIRMED")))]
pub async fn qr(
    State(state): State<AppState>,
    user: AuthUserRecord,
    Path(id): Path<String>,
) -> Result<Response> {
    let id: TicketId = id.parse().map_err(|_| Error::TicketNotFound)?;
    let r = match state
        .confirmed_reservation(id.reservation_id, user.0.id)
        .await
    {
        Err(Error::ReservationNotFound) => return Err(Error::TicketNotFound),
        other => other?,
    };
    if !r.numbers.contains(&id.number) {
        return Err(Error::TicketNotFound);
    }
    let layout = state.layout(r.schedule_id).await?;
    let t = ticket(&state.tickets, &layout, &r, id.number, &user.0.name);
    let svg = qrcode::QrCode::with_error_correction_level(t.code.as_bytes(), qrcode::EcLevel::M)
        .map_err(Error::internal)?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}
