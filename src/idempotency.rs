//! `Idempotency-Key` support: a request fingerprint, and the first answer stored for replay.
//!
//! The key row is written in the same database transaction as the effect it guards, so a replay
//! can never see an effect without its answer or an answer without its effect.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Error;

/// How long a key's first answer is kept for replay (a day).
pub const KEEP_MS: i64 = 24 * 60 * 60 * 1000;

/// A client's key for one kind of call, with the fingerprint of the request it came with.
#[derive(Debug, Clone)]
pub struct IdemKey {
    pub scope: &'static str,
    pub key: String,
    pub fingerprint: Vec<u8>,
}

impl IdemKey {
    /// `body` is the parsed request, so whitespace or key order in the JSON does not matter.
    pub fn new(scope: &'static str, key: Option<String>, body: &impl Serialize) -> Option<Self> {
        let key = key?;
        let canonical = serde_json::to_vec(body).unwrap_or_default();
        let fingerprint = Sha256::new()
            .chain_update(scope.as_bytes())
            .chain_update([0])
            .chain_update(&canonical)
            .finalize()
            .to_vec();
        Some(IdemKey {
            scope,
            key,
            fingerprint,
        })
    }
}

/// The answer stored under a key.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub status: u16,
    pub body: String,
}

impl Stored {
    pub fn of<T: Serialize>(status: StatusCode, value: &T) -> Self {
        Stored {
            status: status.as_u16(),
            body: serde_json::to_string(value).unwrap_or_default(),
        }
    }

    pub fn of_error(err: &Error) -> Self {
        Stored::of(err.status(), &err.problem())
    }
}

impl IntoResponse for Stored {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        let ct = if status.is_success() {
            "application/json"
        } else {
            "application/problem+json"
        };
        let mut res = (status, self.body).into_response();
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
        res
    }
}

/// What an idempotent call produced: a fresh result, or the stored first answer.
#[derive(Debug)]
pub enum Replayable<T> {
    Fresh(T),
    Replay(Stored),
}

impl<T> Replayable<T> {
    /// The answer: `fresh` makes it from a fresh result; a replay is the stored first answer.
    pub fn respond(self, fresh: impl FnOnce(T) -> Response) -> Response {
        match self {
            Replayable::Fresh(t) => fresh(t),
            Replayable::Replay(stored) => stored.into_response(),
        }
    }
}

/// Business errors are part of the first answer and replayed; outages are not (a retry should
/// be able to succeed once the database is back).
pub fn is_replayable(err: &Error) -> bool {
    err.status().is_client_error()
        && !matches!(err, Error::IdempotencyKeyReused | Error::RateLimited { .. })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_depends_on_scope_and_body() {
        let a = IdemKey::new("payments", Some("k".into()), &serde_json::json!({"x": 1})).unwrap();
        let b = IdemKey::new("payments", Some("k".into()), &serde_json::json!({"x": 2})).unwrap();
        let c = IdemKey::new("charges", Some("k".into()), &serde_json::json!({"x": 1})).unwrap();
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert!(IdemKey::new("payments", None, &1).is_none());
        assert!(is_replayable(&Error::InsufficientBalance));
        assert!(!is_replayable(&Error::DatabaseUnavailable("down".into())));
    }
}
