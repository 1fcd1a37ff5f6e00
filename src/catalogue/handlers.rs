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
        .routes(routes!(patch_concert))
        .routes(routes!(
            crate::queue::admin::queue_view,
            crate::queue::admin::queue_patch
        ))
        .routes(routes!(crate::queue::admin::draw))
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
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewConcert {
    /// 1 to 200 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub title: String,
    /// 1 to 200 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub performer: String,
    /// 1 to 200 characters, not blank, without control characters.
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub venue: Option<String>,
    /// RFC 3339: when the sale opens (joins before it are PRE_QUEUE, drawn at this time).
    #[schema(format = DateTime)]
    pub on_sale_at: Option<String>,
}

/// Any of these; absent fields stay as they are, `onSaleAt: null` removes the on-sale time.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConcertPatch {
    /// RFC 3339, or null.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_sale_at: Option<Option<String>>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn some_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn time(field: &str, value: &str) -> Result<clock::Millis> {
    clock::parse_rfc3339(value)
        .ok_or_else(|| Error::validation(format!("{field} must be an RFC 3339 date-time")))
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
        on_sale_at: body
            .on_sale_at
            .as_deref()
            .map(|t| time("onSaleAt", t))
            .transpose()?,
        sold_out: false,
    };
    state.store.create_concert(&concert).await?;
    Ok((StatusCode::CREATED, JsonOut(concert)))
}

#[utoipa::path(patch, path = "/admin/concerts/{concertId}", tag = "admin", request_body = ConcertPatch,
    security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    description = "Sets or removes the on-sale time; every instance follows within a second. \
        Once the on-sale time has passed it cannot change (422): the draw's seed is public then.",
    responses((status = 200, body = Concert), (status = 401), (status = 403),
              (status = 404, description = "CONCERT_NOT_FOUND"), (status = 422)))]
pub async fn patch_concert(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
    Json(body): Json<ConcertPatch>,
) -> Result<JsonOut<Concert>> {
    let concert = state.concert(concert_id).await?;
    let now = clock::now();
    if let Some(at) = body.on_sale_at {
        let at = at.as_deref().map(|t| time("onSaleAt", t)).transpose()?;
        // Once the sale has opened the draw's seed is public: a later on-sale time would
        // draw a new pre-queue with a seed everyone knows.
        let current = state.controls.refresh(concert_id, now).await?.on_sale_at;
        if current.is_some_and(|c| c <= now) {
            return Err(Error::validation(
                "onSaleAt cannot change once the sale has opened",
            ));
        }
        state.store.set_on_sale_at(concert_id, at).await?;
    }
    let policy = state.controls.refresh(concert_id, now).await?;
    Ok(JsonOut(Concert::clone(&concert).under(&policy)))
}

#[utoipa::path(get, path = "/concerts", tag = "catalogue",
    responses((status = 200, body = Items<Concert>)))]
pub async fn list_concerts(State(state): State<AppState>) -> Result<JsonOut<Items<Concert>>> {
    let now = clock::now();
    let mut items = Vec::new();
    for c in state.store.concerts().await? {
        let policy = state.controls.policy(c.id, now).await?;
        items.push(c.under(&policy));
    }
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(get, path = "/concerts/{concertId}", tag = "catalogue",
    params(("concertId" = Uuid, Path)),
    responses((status = 200, body = Concert), (status = 404)))]
pub async fn get_concert(
    State(state): State<AppState>,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Concert>> {
    // The cache keeps its `Arc`, so the answer is a copy.
    let concert = Concert::clone(&*state.concert(concert_id).await?);
    let policy = state.controls.policy(concert_id, clock::now()).await?;
    Ok(JsonOut(concert.under(&policy)))
}
