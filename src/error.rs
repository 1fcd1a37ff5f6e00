//! The one error type of the service, mapped once to an RFC 9457 `application/problem+json` answer.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Every failure a handler can answer with. The variant names follow the contract's `code`s.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Validation(String),
    #[error("missing or unknown API key")]
    Unauthorized,
    #[error("this call needs the admin token: Authorization: Bearer <ENCORE_ADMIN_TOKEN>")]
    AdminTokenRequired,
    #[error("this call needs the admin token, and this is not it")]
    Forbidden,
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    #[error("request body is larger than the 1 MiB limit")]
    PayloadTooLarge,
    #[error("this call takes a JSON body: Content-Type: application/json")]
    UnsupportedMediaType,
    #[error("too many requests; retry after {retry_after} s")]
    RateLimited { retry_after: u64 },
    #[error(
        "this join needs a proof of work: X-Queue-Proof, from GET /concerts/{{concertId}}/queue/challenge"
    )]
    ProofRequired,
    #[error("the proof of work is wrong, used already or expired; get a new challenge")]
    ProofInvalid,
    #[error("concert not found")]
    ConcertNotFound,
    #[error("schedule not found")]
    ScheduleNotFound,
    #[error("seat not found")]
    SeatNotFound,
    #[error("seat is held or sold")]
    SeatUnavailable,
    #[error("you already hold the maximum number of seats on this schedule")]
    HoldLimitReached,
    #[error("this order would pass the limit of places per fan for this concert")]
    TicketLimitReached,
    #[error("every place of this concert is sold")]
    SoldOut,
    #[error("this schedule has free places: book one instead of waiting")]
    WaitlistClosed,
    #[error("waiting-list entry not found")]
    WaitlistEntryNotFound,
    #[error("booking is not open for this schedule")]
    BookingClosed,
    #[error("reservation not found")]
    ReservationNotFound,
    #[error("reservation is not held")]
    ReservationNotHeld,
    #[error("reservation is already paid")]
    AlreadyPaid,
    #[error("the hold on this seat has expired")]
    HoldExpired,
    #[error("balance is lower than the price")]
    InsufficientBalance,
    #[error("balance would pass 1,000,000,000,000")]
    BalanceLimit,
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyKeyReused,
    #[error("payment not found")]
    PaymentNotFound,
    #[error("reservation is not confirmed (paid)")]
    ReservationNotConfirmed,
    #[error("the last refund tier of this concert's policy has passed")]
    RefundClosed,
    #[error("ticket not found")]
    TicketNotFound,
    #[error("the schedule is cancelled")]
    ScheduleCancelled,
    #[error("webhook not found")]
    WebhookNotFound,
    #[error(
        "this call needs a gate token: Authorization: Bearer <ENCORE_STAFF_TOKEN or the admin token>"
    )]
    StaffTokenRequired,
    #[error("ticket code is malformed or its signature does not verify")]
    TicketInvalid,
    #[error("ticket is void: its reservation was refunded or is not confirmed")]
    TicketVoid,
    #[error("ticket was already checked in at {0}")]
    AlreadyCheckedIn(String),
    #[error("this call needs an X-Queue-Token header")]
    QueueTokenRequired,
    #[error("queue token is unknown or forged")]
    QueueTokenInvalid,
    #[error("queue ticket has expired; join the queue again")]
    QueueTokenExpired,
    #[error("queue token belongs to another user or concert")]
    QueueTokenMismatch,
    #[error("queue ticket is still waiting")]
    QueueNotActive,
    #[error("the waiting queue is unavailable")]
    QueueUnavailable(String),
    #[error("the database is unavailable")]
    DatabaseUnavailable(String),
    #[error("{0}")]
    Overloaded(&'static str),
    /// A start that cannot go on, said in full: it is logged, never answered.
    #[error("{0}")]
    Startup(String),
    #[error("internal error")]
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The problem document (RFC 9457) with the contract's stable `code`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: String,
}

impl Error {
    pub fn validation(detail: impl Into<String>) -> Self {
        Self::Validation(detail.into())
    }

    pub fn internal(err: impl std::fmt::Display) -> Self {
        Self::Internal(err.to_string())
    }

    /// The whole story for the log: the cause a 5xx answer leaves out.
    pub fn log_detail(&self) -> String {
        match self {
            Error::Internal(cause)
            | Error::DatabaseUnavailable(cause)
            | Error::QueueUnavailable(cause) => format!("{self}: {cause}"),
            other => other.to_string(),
        }
    }

    pub fn status(&self) -> StatusCode {
        use Error::*;
        match self {
            Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            Unauthorized | AdminTokenRequired | StaffTokenRequired | QueueTokenRequired
            | QueueTokenInvalid => StatusCode::UNAUTHORIZED,
            Forbidden | QueueTokenMismatch | QueueNotActive => StatusCode::FORBIDDEN,
            RouteNotFound
            | ConcertNotFound
            | ScheduleNotFound
            | SeatNotFound
            | ReservationNotFound
            | PaymentNotFound
            | WaitlistEntryNotFound
            | TicketNotFound
            | WebhookNotFound => StatusCode::NOT_FOUND,
            MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ProofRequired => StatusCode::PRECONDITION_REQUIRED,
            ProofInvalid => StatusCode::FORBIDDEN,
            SeatUnavailable
            | HoldLimitReached
            | TicketLimitReached
            | ReservationNotHeld
            | AlreadyPaid
            | SoldOut
            | WaitlistClosed
            | ReservationNotConfirmed
            | RefundClosed
            | ScheduleCancelled
            | TicketVoid
            | AlreadyCheckedIn(_) => StatusCode::CONFLICT,
            BookingClosed | BalanceLimit | IdempotencyKeyReused | TicketInvalid => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            HoldExpired | QueueTokenExpired => StatusCode::GONE,
            InsufficientBalance => StatusCode::PAYMENT_REQUIRED,
            QueueUnavailable(_) | DatabaseUnavailable(_) | Overloaded(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Startup(_) | Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        use Error::*;
        match self {
            Validation(_) => "VALIDATION_FAILED",
            Unauthorized | AdminTokenRequired | StaffTokenRequired => "UNAUTHORIZED",
            Forbidden => "FORBIDDEN",
            RouteNotFound => "NOT_FOUND",
            MethodNotAllowed => "METHOD_NOT_ALLOWED",
            PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            RateLimited { .. } => "RATE_LIMITED",
            ProofRequired => "PROOF_REQUIRED",
            ProofInvalid => "PROOF_INVALID",
            ConcertNotFound => "CONCERT_NOT_FOUND",
            ScheduleNotFound => "SCHEDULE_NOT_FOUND",
            SeatNotFound => "SEAT_NOT_FOUND",
            SeatUnavailable => "SEAT_UNAVAILABLE",
            HoldLimitReached => "HOLD_LIMIT_REACHED",
            TicketLimitReached => "TICKET_LIMIT_REACHED",
            SoldOut => "SOLD_OUT",
            WaitlistClosed => "WAITLIST_CLOSED",
            WaitlistEntryNotFound => "WAITLIST_ENTRY_NOT_FOUND",
            BookingClosed => "BOOKING_CLOSED",
            ReservationNotFound => "RESERVATION_NOT_FOUND",
            ReservationNotHeld => "RESERVATION_NOT_HELD",
            AlreadyPaid => "ALREADY_PAID",
            HoldExpired => "HOLD_EXPIRED",
            InsufficientBalance => "INSUFFICIENT_BALANCE",
            BalanceLimit => "BALANCE_LIMIT",
            IdempotencyKeyReused => "IDEMPOTENCY_KEY_REUSED",
            PaymentNotFound => "PAYMENT_NOT_FOUND",
            ReservationNotConfirmed => "RESERVATION_NOT_CONFIRMED",
            RefundClosed => "REFUND_CLOSED",
            TicketNotFound => "TICKET_NOT_FOUND",
            ScheduleCancelled => "SCHEDULE_CANCELLED",
            WebhookNotFound => "WEBHOOK_NOT_FOUND",
            TicketInvalid => "TICKET_INVALID",
            TicketVoid => "TICKET_VOID",
            AlreadyCheckedIn(_) => "ALREADY_CHECKED_IN",
            QueueTokenRequired => "QUEUE_TOKEN_REQUIRED",
            QueueTokenInvalid => "QUEUE_TOKEN_INVALID",
            QueueTokenExpired => "QUEUE_TOKEN_EXPIRED",
            QueueTokenMismatch => "QUEUE_TOKEN_MISMATCH",
            QueueNotActive => "QUEUE_NOT_ACTIVE",
            QueueUnavailable(_) => "QUEUE_UNAVAILABLE",
            DatabaseUnavailable(_) => "DATABASE_UNAVAILABLE",
            Overloaded(_) => "SERVICE_UNAVAILABLE",
            Startup(_) | Internal(_) => "INTERNAL_ERROR",
        }
    }

    /// The body a client sees. Server-side causes stay in the log, never in the body.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let code = self.code();
        Problem {
            kind: format!(
                "urn:encore:problem:{}",
                code.to_ascii_lowercase().replace('_', "-")
            ),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            code: code.to_owned(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match err {
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Self::DatabaseUnavailable(err.to_string())
            }
            // PostgreSQL reports shutdown, lost connections and cancelled statements with these classes.
            E::Database(ref db)
                if db
                    .code()
                    .is_some_and(|c| c.starts_with("57") || c.starts_with("08")) =>
            {
                Self::DatabaseUnavailable(err.to_string())
            }
            // Class 22 is PostgreSQL's "data exception": a value it cannot store, e.g. a NUL.
            E::Database(ref db) if db.code().is_some_and(|c| c.starts_with("22")) => {
                Self::Validation("a value in the request cannot be stored".into())
            }
            other => Self::Internal(format!("database: {other}")),
        }
    }
}

/// A problem document answer with the right content type.
pub fn problem_response(problem: &Problem) -> Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut res = (status, axum::Json(problem)).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    res
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        match &self {
            Error::Internal(cause) | Error::Startup(cause) => {
                tracing::error!(%cause, "request failed")
            }
            Error::DatabaseUnavailable(cause) | Error::QueueUnavailable(cause) => {
                tracing::warn!(%cause, code = self.code(), "backend unavailable")
            }
            _ => {}
        }
        let mut res = problem_response(&self.problem());
        if let Error::RateLimited { retry_after } = self {
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_carries_code_status_and_a_type_uri() {
        let p = Error::SeatUnavailable.problem();
        assert_eq!(p.status, 409);
        assert_eq!(p.code, "SEAT_UNAVAILABLE");
        assert_eq!(p.kind, "urn:encore:problem:seat-unavailable");
        assert_eq!(p.title, "Conflict");
    }

    #[test]
    fn internal_detail_is_opaque() {
        let p = Error::internal("secret connection string").problem();
        assert_eq!(p.status, 500);
        assert!(!p.detail.contains("secret"));
    }
}
