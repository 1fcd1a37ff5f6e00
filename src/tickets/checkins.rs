//! `POST /checkins`: a gate scans a code; the database lets each ticket in once.

use axum::Json as JsonOut;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{CheckIn, TicketId};
use crate::app::AppState;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::Staff;
use crate::http::extract::Json;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scan {
    /// The ticket's code, as `GET /reservations/{id}/tickets` gave it.
    #[schema(max_length = 4096)]
    pub code: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckedIn {
    pub ticket_id: String,
    pub seat: String,
    pub schedule_id: String,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub checked_in_at: Millis,
}

#[utoipa::path(post, path = "/checkins", tag = "tickets", request_body = Scan,
    description = "Lets a ticket in: the first scan of a valid code of a CONFIRMED reservation answers 200, \
        every later one 409 ALREADY_CHECKED_IN (the detail says when), however many gates scan at once. \
        Needs Authorization: Bearer <ENCORE_STAFF_TOKEN or the admin token>.",
    security(("staffToken" = []), ("adminToken" = [])),
    responses((status = 200, body = CheckedIn),
              (status = 409, description = "ALREADY_CHECKED_IN or TICKET_VOID (refunded or not confirmed)"),
              (status = 422, description = "TICKET_INVALID (bad signature or form) or VALIDATION_FAILED")))]
pub async fn check_in(
    State(state): State<AppState>,
    _: Staff,
    Json(body): Json<Scan>,
) -> Result<JsonOut<CheckedIn>> {
    let claims = state.tickets.verifier().verify(&body.code)?;
    let ticket: TicketId = claims.tid.parse().map_err(|_| Error::TicketInvalid)?;
    let outcome = state.store.check_in(ticket, clock::now()).await;
    let result = match &outcome {
        Ok(CheckIn::First(_)) => "in",
        Ok(CheckIn::Already(_)) => "already",
        Ok(CheckIn::Void) => "void",
        Err(_) => "error",
    };
    metrics::counter!("encore_checkins_total", "result" => result).increment(1);
    match outcome? {
        CheckIn::First(at) => Ok(JsonOut(CheckedIn {
            ticket_id: claims.tid,
            seat: claims.seat,
            schedule_id: claims.sid,
            checked_in_at: at,
        })),
        CheckIn::Already(at) => Err(Error::AlreadyCheckedIn(clock::to_rfc3339(at))),
        CheckIn::Void => Err(Error::TicketVoid),
    }
}
