//! Bearer authentication: users by API key (only its SHA-256 is stored), admins by token.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::app::AppState;
use crate::error::Error;
use crate::http::limits::ClientAddr;
use crate::users::User;

/// A fresh API key (256 random bits) and the hash that is stored in its place.
pub fn new_api_key() -> (String, [u8; 32]) {
    let mut raw = [0u8; 32];
    rand::rng().fill_bytes(&mut raw);
    let key = format!("enc_{}", URL_SAFE_NO_PAD.encode(raw));
    let hash = hash_key(&key);
    (key, hash)
}

pub fn hash_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The caller's id, authenticated by `Authorization: Bearer <apiKey>`.
#[derive(Debug, Clone, Copy)]
pub struct AuthUser(pub Uuid);

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let key = bearer(parts).ok_or(Error::Unauthorized)?;
        let hash = hash_key(key);
        // Users are never deleted and keys never rotate, so a hit can be trusted; a miss asks
        // the database. This keeps the hot queue calls off the database.
        let id = match state.auth_cache.get(&hash) {
            Some(id) => id,
            None => lookup(parts, state, hash).await?.id,
        };
        state.limits.per_key(id)?;
        Ok(AuthUser(id))
    }
}

/// The caller's whole record (with the name), always read from the database: only
/// `GET /users/me` needs it, and the cache keeps ids alone so a million fans fit in less memory.
#[derive(Debug, Clone)]
pub struct AuthUserRecord(pub User);

impl FromRequestParts<AppState> for AuthUserRecord {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let key = bearer(parts).ok_or(Error::Unauthorized)?;
        let hash = hash_key(key);
        let user = match state.auth_cache.get(&hash) {
            // A key known to be good: read the record without counting a key lookup.
            Some(id) => state
                .store
                .user_by_key_hash(&hash)
                .await?
                .filter(|u| u.id == id)
                .ok_or(Error::Unauthorized)?,
            None => lookup(parts, state, hash).await?,
        };
        state.limits.per_key(user.id)?;
        Ok(AuthUserRecord(user))
    }
}

/// The user behind a key hash this instance does not know, from the database; remembered for
/// the calls that follow. Each such lookup counts against the client address's limit of
/// unknown keys, so a client guessing keys is refused before its guesses reach the database.
async fn lookup(parts: &Parts, state: &AppState, hash: [u8; 32]) -> Result<User, Error> {
    state
        .limits
        .key_lookup(ClientAddr::from_parts(parts, &state.limits))?;
    let user = state
        .store
        .user_by_key_hash(&hash)
        .await?
        .ok_or(Error::Unauthorized)?;
    state.auth_cache.insert(hash, user.id);
    Ok(user)
}

/// An admin call: `Authorization: Bearer <admin token>`.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer(parts).ok_or(Error::AdminTokenRequired)?;
        // Compare digests so the comparison time says nothing about the token.
        if hash_key(token) == state.admin_token_hash {
            Ok(Admin)
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// A check-in gate: the bearer is `ENCORE_STAFF_TOKEN` or the admin token.
pub struct Staff;

impl FromRequestParts<AppState> for Staff {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = bearer(parts).ok_or(Error::StaffTokenRequired)?;
        let presented = hash_key(token);
        let staff = state.settings.staff_token.as_ref();
        if presented == state.admin_token_hash
            || staff.is_some_and(|s| hash_key(s.expose()) == presented)
        {
            Ok(Staff)
        } else {
            Err(Error::Forbidden)
        }
    }
}

/// A gated call's credentials, read in this order: the fan (`Authorization`), then the
/// `X-Queue-Token` header. `Shared::queue_ticket` checks the token against the queue once the
/// handler has its path and body, so a malformed request is refused before the queue is asked.
pub struct Gated {
    pub user: AuthUser,
    pub token: QueueTokenHeader,
}

impl FromRequestParts<AppState> for Gated {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let token = QueueTokenHeader::from_request_parts(parts, state).await?;
        Ok(Gated { user, token })
    }
}

/// The raw `X-Queue-Token` header, if any.
pub struct QueueTokenHeader(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for QueueTokenHeader {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Error> {
        let token = parts
            .headers
            .get("x-queue-token")
            .and_then(|v| v.to_str().ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty());
        Ok(QueueTokenHeader(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_keys_are_random_and_hashed() {
        let (a, ha) = new_api_key();
        let (b, hb) = new_api_key();
        assert_ne!(a, b);
        assert_ne!(ha, hb);
        assert_eq!(hash_key(&a), ha);
        assert!(a.len() >= 43);
    }
}
