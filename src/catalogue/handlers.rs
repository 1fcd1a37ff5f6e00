//! Concerts: admin creation, the public list and one concert; the router of the whole feature.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::Concert;
use crate::app::AppState;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::Admin;
use crate::http::extract::{Json, Path};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_concert))
        .routes(routes!(list_concerts))
        .routes(routes!(get_concert))
        .routes(routes!(super::schedules::create_schedule))
        .routes(routes!(super::schedules::list_schedules))
        .routes(routes!(super::schedules::seats))
        .routes(routes!(super::seatmap::seatmap))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewConcert {
    /// 1 to 200 characters.
    pub title: String,
    /// 1 to 200 characters.
    pub performer: String,
    /// Up to 200 characters.
    pub venue: Option<String>,
}

pub(super) fn text(field: &str, value: &str) -> Result<String> {
    let n = value.chars().count();
    if value.trim().is_empty() || n > 200 || value.chars().any(char::is_control) {
        return Err(Error::validation(format!(
            "{field} must be 1 to 200 characters, not blank, without control characters"
        )));
    }
    Ok(value.to_owned())
}

#[utoipa::path(post, path = "/admin/concerts", tag = "admin", request_body = NewConcert,
    security(("adminToken" = [])),
    responses((status = 201, body = Concert), (status = 401),
              (status = 403), (status = 422)))]
pub async fn create_concert(
    State(state): State<AppState>,
    _: Admin,
    Json(body): Json<NewConcert>,
) -> Result<(StatusCode, JsonOut<Concert>)> {
    let concert = Concert {
        id: Uuid::now_v7(),
        title: text("title", &body.title)?,
        performer: text("performer", &body.performer)?,
        venue: body
            .venue
            .as_deref()
            .map(|v| text("venue", v))
            .transpose()?,
        created_at: clock::now(),
    };
    state.store.create_concert(&concert).await?;
    Ok((StatusCode::CREATED, JsonOut(concert)))
}

#[utoipa::path(get, path = "/concerts", tag = "catalogue",
    responses((status = 200, body = Items<Concert>)))]
pub async fn list_concerts(State(state): State<AppState>) -> Result<JsonOut<Items<Concert>>> {
    Ok(JsonOut(Items {
        items: state.store.concerts().await?,
    }))
}

#[utoipa::path(get, path = "/concerts/{concertId}", tag = "catalogue",
    params(("concertId" = Uuid, Path)),
    responses((status = 200, body = Concert), (status = 404)))]
pub async fn get_concert(
    State(state): State<AppState>,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Concert>> {
    // The cache keeps its `Arc`, so the answer is a copy.
    Ok(JsonOut(Concert::clone(&*state.concert(concert_id).await?)))
}
