//! Tickets: one per place of a paid reservation, each with a signed code a gate can check
//! offline, and the check-in that lets each ticket in once.

pub mod checkins;
pub mod handlers;
pub mod jws;

use async_trait::async_trait;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::catalogue::plan::Layout;
use crate::clock::Millis;
use crate::error::Result;
use crate::reservations::Reservation;

/// `{reservationId}.{place number}`: finds the reservation and place again, and is safe to show
/// (using a ticket takes its signed code; reading one takes the owner's key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketId {
    pub reservation_id: Uuid,
    pub number: i64,
}

impl std::fmt::Display for TicketId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.reservation_id, self.number)
    }
}

impl std::str::FromStr for TicketId {
    type Err = ();

    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        let (id, n) = s.split_once('.').ok_or(())?;
        let number: i64 = n.parse().map_err(|_| ())?;
        // One spelling per ticket: the canonical UUID and a number without sign or zeros.
        let reservation_id = Uuid::try_parse(id).map_err(|_| ())?;
        if number < 1 || n != number.to_string() || id != reservation_id.to_string() {
            return Err(());
        }
        Ok(TicketId {
            reservation_id,
            number,
        })
    }
}

/// One ticket as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ticket {
    /// `{reservationId}.{place number}`.
    pub ticket_id: String,
    /// The seat's label, or the section's code for a standing place.
    pub seat: String,
    /// A compact JWS (EdDSA, Ed25519) over `{"tid","sid","seat","name"}`; check it with the key at
    /// `GET /tickets/key`.
    pub code: String,
}

/// The ticket of place `number` of `r`, held by `name`.
pub fn ticket(
    signer: &jws::Signer,
    layout: &Layout,
    r: &Reservation,
    number: i64,
    name: &str,
) -> Ticket {
    let tid = TicketId {
        reservation_id: r.id,
        number,
    }
    .to_string();
    let seat = layout.label(number).unwrap_or_default();
    let code = signer.sign(&jws::Claims {
        tid: tid.clone(),
        sid: r.schedule_id.to_string(),
        seat: seat.clone(),
        name: name.to_owned(),
    });
    Ticket {
        ticket_id: tid,
        seat,
        code,
    }
}

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckIn {
    /// This scan let the ticket in, at this time.
    First(Millis),
    /// Already let in, at this time.
    Already(Millis),
    /// The reservation is not CONFIRMED (refunded, or never paid).
    Void,
}

#[async_trait]
pub trait TicketStore: Send + Sync {
    /// Lets a ticket in if its reservation is CONFIRMED and it was not let in before; one
    /// statement decides, so of any number of scans at once exactly one is `First`.
    async fn check_in(&self, ticket: TicketId, now: Millis) -> Result<CheckIn>;
    /// When the first ticket of a reservation was let in, if one was.
    async fn first_check_in(&self, reservation_id: Uuid) -> Result<Option<Millis>>;
}

/// `encore verify-ticket CODE --key KEY`: prints the payload of a code signed by KEY (exit 0),
/// or why not (exit 1). Needs no server and no database.
pub fn verify_offline(code: &str, key: &str) -> std::process::ExitCode {
    let verified =
        jws::Verifier::from_key_text(key).and_then(|v| v.verify(code).map_err(|e| e.to_string()));
    match verified {
        Ok(claims) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&claims).unwrap_or_default()
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("invalid ticket: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_id_has_one_spelling() {
        let id = TicketId {
            reservation_id: Uuid::now_v7(),
            number: 12,
        };
        assert_eq!(id.to_string().parse::<TicketId>(), Ok(id));
        let r = id.reservation_id;
        for bad in [
            format!("{r}.0"),
            format!("{r}.012"),
            format!("{r}.+12"),
            format!("{}.12", r.simple()),
            format!("{r}"),
            "x.1".into(),
        ] {
            assert!(bad.parse::<TicketId>().is_err(), "{bad}");
        }
    }
}
