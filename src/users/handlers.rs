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
use crate::error::Result;
use crate::http::auth::{AuthUserRecord, new_api_key};
use crate::http::extract::Json;
use crate::http::limits::ClientAddr;
use crate::http::text;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_user))
        .routes(routes!(me))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(schema_with = text::name)]
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

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses((status = 201, body = CreatedUser), (status = 415), (status = 422),
              (status = 429, description = "RATE_LIMITED: too many sign-ups from this address")))]
pub async fn create_user(
    State(state): State<AppState>,
    client: ClientAddr,
    Json(body): Json<NewUser>,
) -> Result<(StatusCode, JsonOut<CreatedUser>)> {
    let name = text::check("name", &body.name, text::NAME_MAX)?;
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
    responses((status = 200, body = User)))]
pub async fn me(user: AuthUserRecord) -> JsonOut<User> {
    JsonOut(user.0)
}
