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
use crate::http::text;
use crate::refunds::policy::{RefundPolicy, RefundTier};
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
        .routes(routes!(super::admin::concerts))
        .routes(routes!(super::admin::schedules))
        .routes(routes!(super::admin::sales))
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
    #[schema(schema_with = text::title)]
    pub title: String,
    #[schema(schema_with = text::title)]
    pub performer: String,
    #[schema(schema_with = text::title_or_null)]
    pub venue: Option<String>,
    /// RFC 3339: when the sale opens (joins before it are PRE_QUEUE, drawn at this time).
    #[schema(format = DateTime)]
    pub on_sale_at: Option<String>,
    /// 1 to 10 refund fee tiers: untilHoursBefore 0 to 87600, feePercent 0 to 100. Absent:
    /// free until 24 hours before the start, then closed.
    #[schema(min_items = 1, max_items = 10)]
    pub refund_policy: Option<Vec<RefundTier>>,
}

/// Any of these; absent fields stay as they are, `venue: null` removes the venue, `onSaleAt:
/// null` removes the on-sale time and `refundPolicy: null` goes back to the default policy.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConcertPatch {
    #[schema(schema_with = text::title_or_null)]
    pub title: Option<String>,
    #[schema(schema_with = text::title_or_null)]
    pub performer: Option<String>,
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(schema_with = text::title_or_null)]
    pub venue: Option<Option<String>>,
    /// RFC 3339, or null.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub on_sale_at: Option<Option<String>>,
    /// 1 to 10 tiers as in `POST /admin/concerts`, or null (free until 24 hours before the
    /// start, then closed).
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<Vec<RefundTier>>, min_items = 1, max_items = 10)]
    pub refund_policy: Option<Option<Vec<RefundTier>>>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn some_or_null<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> std::result::Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

fn time(field: &str, value: &str) -> Result<clock::Millis> {
    clock::parse_rfc3339(value)
        .ok_or_else(|| Error::validation(format!("{field} must be an RFC 3339 date-time")))
}

pub(super) fn text(field: &str, value: &str) -> Result<String> {
    text::check(field, value, text::TITLE_MAX)
}

#[utoipa::path(post, path = "/admin/concerts", tag = "admin", request_body = NewConcert,
    security(("adminToken" = [])),
    responses((status = 201, body = Concert), (status = 422)))]
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
        refund_policy: body.refund_policy.map(RefundPolicy::parse).transpose()?,
    };
    state.store.create_concert(&concert).await?;
    Ok((StatusCode::CREATED, JsonOut(concert)))
}

#[utoipa::path(patch, path = "/admin/concerts/{concertId}", tag = "admin", request_body = ConcertPatch,
    security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    description = "Changes the title, performer or venue (every instance shows them within 2 seconds; \
        tickets already issued keep the holder's name and seat, not these), sets or removes the on-sale \
        time (every instance follows within a second) and the refund policy. Once the on-sale time has \
        passed it cannot change (422): the draw's seed is public then.",
    responses((status = 200, body = Concert), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422)))]
pub async fn patch_concert(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
    Json(body): Json<ConcertPatch>,
) -> Result<JsonOut<Concert>> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let on_sale_at = body
        .on_sale_at
        .map(|at| at.as_deref().map(|t| time("onSaleAt", t)).transpose())
        .transpose()?;
    let refund_policy = body
        .refund_policy
        .map(|p| p.map(RefundPolicy::parse).transpose())
        .transpose()?;
    let edit = super::ConcertEdit {
        title: body
            .title
            .as_deref()
            .map(|v| text("title", v))
            .transpose()?,
        performer: body
            .performer
            .as_deref()
            .map(|v| text("performer", v))
            .transpose()?,
        venue: body
            .venue
            .map(|v| v.as_deref().map(|v| text("venue", v)).transpose())
            .transpose()?,
    };
    if let Some(at) = on_sale_at {
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
    if let Some(p) = refund_policy {
        state
            .store
            .set_refund_policy(concert_id, p.as_ref())
            .await?;
    }
    if edit.title.is_some() || edit.performer.is_some() || edit.venue.is_some() {
        state.store.edit_concert(concert_id, &edit).await?;
        state.forget_catalogue(Some(concert_id), None);
    }
    let policy = state.controls.refresh(concert_id, now).await?;
    let concert = state
        .store
        .concert(concert_id)
        .await?
        .ok_or(Error::ConcertNotFound)?;
    Ok(JsonOut(concert.under(&policy)))
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
    // Known through the cache, read from the database: the refund policy can change.
    state.concert(concert_id).await?;
    let concert = state
        .store
        .concert(concert_id)
        .await?
        .ok_or(Error::ConcertNotFound)?;
    let policy = state.controls.policy(concert_id, clock::now()).await?;
    Ok(JsonOut(concert.under(&policy)))
}
