//! `POST /users` and `GET /users/me`.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::User;
use crate::app::AppState;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::{AuthUserRecord, new_api_key};
use crate::http::extract::Json;
use crate::http::limits::ClientAddr;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 1 to 100 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
}

/// A new user with the API key, which is shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedUser {
    pub id: Uuid,
    pub name: String,
    pub api_key: String,
}

/// A display name: 1 to 100 characters, not blank.
pub fn parse_name(name: &str) -> Result<String> {
    let n = name.chars().count();
    if n == 0 || n > 100 || name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(Error::validation(
            "name must be 1 to 100 characters, not blank, without control characters",
        ));
    }
    Ok(name.to_owned())
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 415), (status = 422),
              (status = 429, description = "RATE_LIMITED: too many sign-ups from this address")))]
pub async fn create_user(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, JsonOut<CreatedUser>)> {
    let name = parse_name(&body.name)?;
    state.limits.signup(client)?;
    let (api_key, hash) = new_api_key();
    let user = User {
        id: Uuid::now_v7(),
        name,
    };
    state.store.create_user(&user, &hash, clock::now()).await?;
    // A fan who just signed up is about to use the key: skip the database on their first call.
    state.auth_cache.insert(hash, user.id);
    Ok((
        StatusCode::CREATED,
        JsonOut(CreatedUser {
            id: user.id,
            name: user.name,
            api_key,
        }),
    ))
}

#[utoipa::path(get, path = "/users/me", tag = "users", security(("apiKey" = [])),
    responses((status = 200, body = User), (status = 401)))]
pub async fn me(user: AuthUserRecord) -> JsonOut<User> {
    JsonOut(user.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_to_hundred_chars() {
        assert!(parse_name("").is_err());
        assert!(parse_name("   ").is_err());
        assert!(parse_name(&"가".repeat(100)).is_ok());
        assert!(parse_name(&"a".repeat(101)).is_err());
    }
}
