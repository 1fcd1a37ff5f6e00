//! The box office's webhook calls: register an endpoint (its secret shown once), list and
//! delete them, read an endpoint's deliveries.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{Delivery, EventType, Webhook, address};
use crate::app::AppState;
use crate::catalogue::handlers::Items;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::http::auth::Admin;
use crate::http::extract::{Json, Path, Query};
use crate::page::{Page, PageQuery};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(delete))
        .routes(routes!(deliveries))
}

/// Endpoints at most; a box office needs a handful.
const MAX_WEBHOOKS: usize = 50;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    /// `http` or `https`, at most 2,048 characters, to a public address (loopback and private
    /// networks are refused unless `ENCORE_WEBHOOK_ALLOW_PRIVATE=on`).
    #[schema(max_length = 2048)]
    pub url: String,
    /// One to five of the event types, each once.
    #[schema(min_items = 1, max_items = 5)]
    pub events: Vec<EventType>,
}

/// An endpoint. `secret` (the key of `Encore-Signature`) is in the answer that creates it only.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookView {
    pub id: Uuid,
    pub url: String,
    pub events: Vec<EventType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
}

impl WebhookView {
    fn of(w: Webhook, with_secret: bool) -> WebhookView {
        WebhookView {
            id: w.id,
            events: w.event_types(),
            url: w.url,
            secret: with_secret.then_some(w.secret),
            created_at: w.created_at,
        }
    }
}

#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    /// Not delivered yet; `nextAttemptAt` says when it is tried.
    Pending,
    /// An attempt got a 2xx answer.
    Delivered,
    /// Every attempt failed for 24 hours; not tried again.
    Failed,
}

/// One event's delivery to the endpoint.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryView {
    /// The event's id (the `id` of the body, and the `Encore-Delivery` header).
    pub id: Uuid,
    pub event_id: Uuid,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: DeliveryStatus,
    pub attempts: i64,
    /// The HTTP status of the last answer, if there was one.
    pub last_status_code: Option<i64>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    #[serde(serialize_with = "clock::ser_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<Millis>,
    #[serde(serialize_with = "clock::ser_opt")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<Millis>,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Millis,
    /// The body sent: `{"id","type","createdAt","data"}`.
    pub body: serde_json::Value,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> DeliveryView {
        let status = match d.status.as_str() {
            "DELIVERED" => DeliveryStatus::Delivered,
            "FAILED" => DeliveryStatus::Failed,
            _ => DeliveryStatus::Pending,
        };
        DeliveryView {
            id: d.event_id,
            event_id: d.event_id,
            kind: d.kind,
            status,
            attempts: d.attempts,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            next_attempt_at: d.next_at,
            delivered_at: d.delivered_at,
            created_at: d.created_at,
            body: serde_json::from_str(&d.body).unwrap_or(serde_json::Value::Null),
        }
    }
}

#[utoipa::path(post, path = "/admin/webhooks", tag = "admin", request_body = NewWebhook,
    security(("adminToken" = [])),
    description = "Registers an endpoint for some event types. Every event is written in the transaction of \
        the change it reports and POSTed at least once, by any instance, with `Encore-Signature: \
        t={unix seconds},v1={hex HMAC-SHA256(key = secret as UTF-8, message = t + \".\" + body)}`, \
        `Encore-Event` (the type) and `Encore-Delivery` (the event id: the same on every retry). A 2xx \
        answer delivers it; otherwise it is tried again after 5 s, 10 s, 20 s, … (doubling), the last \
        time 24 hours after the event. Redirects are not followed.",
    responses((status = 201, body = WebhookView, description = "With the secret, shown only here"),
              (status = 422, description = "VALIDATION_FAILED: a URL that is not http(s), names a private or \
                  loopback address, or an unknown, repeated or missing event type; more than 50 endpoints")))]
pub async fn create(
    State(state): State<AppState>,
    _: Admin,
    Json(body): Json<NewWebhook>,
) -> Result<(StatusCode, JsonOut<WebhookView>)> {
    let url = address::check_url(&body.url, state.settings.webhook_allow_private)?;
    if body.events.is_empty() {
        return Err(Error::validation(
            "events must name at least one event type",
        ));
    }
    let mut events = String::from(" ");
    for (i, e) in body.events.iter().enumerate() {
        if body.events[..i].contains(e) {
            return Err(Error::validation(format!(
                "events names {} twice",
                e.as_str()
            )));
        }
        events.push_str(e.as_str());
        events.push(' ');
    }
    if state.store.webhooks().await?.len() >= MAX_WEBHOOKS {
        return Err(Error::validation(format!(
            "at most {MAX_WEBHOOKS} webhooks; delete one first"
        )));
    }
    let mut raw = [0u8; 24];
    rand::rng().fill_bytes(&mut raw);
    let webhook = Webhook {
        id: Uuid::now_v7(),
        url: url.to_string(),
        events,
        secret: format!("whsec_{}", URL_SAFE_NO_PAD.encode(raw)),
        created_at: clock::now(),
    };
    state.store.create_webhook(&webhook).await?;
    Ok((StatusCode::CREATED, JsonOut(WebhookView::of(webhook, true))))
}

#[utoipa::path(get, path = "/admin/webhooks", tag = "admin", security(("adminToken" = [])),
    description = "Every endpoint, newest first (without secrets).",
    responses((status = 200, body = Items<WebhookView>)))]
pub async fn list(State(state): State<AppState>, _: Admin) -> Result<JsonOut<Items<WebhookView>>> {
    let items = state
        .store
        .webhooks()
        .await?
        .into_iter()
        .map(|w| WebhookView::of(w, false))
        .collect();
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(delete, path = "/admin/webhooks/{webhookId}", tag = "admin",
    security(("adminToken" = [])), params(("webhookId" = Uuid, Path)),
    description = "Removes the endpoint and its deliveries; nothing more is sent to it.",
    responses((status = 204), (status = 404, description = "WEBHOOK_NOT_FOUND"), (status = 422)))]
pub async fn delete(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
) -> Result<StatusCode> {
    if state.store.delete_webhook(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Error::WebhookNotFound)
    }
}

#[utoipa::path(get, path = "/admin/webhooks/{webhookId}/deliveries", tag = "admin",
    security(("adminToken" = [])), params(("webhookId" = Uuid, Path), PageQuery),
    description = "The endpoint's delivery log, newest event first: each event's status, attempts, last \
        answer or error, next attempt and body.",
    responses((status = 200, body = Page<DeliveryView>),
              (status = 404, description = "WEBHOOK_NOT_FOUND"), (status = 422)))]
pub async fn deliveries(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<Uuid>,
    Query(q): Query<PageQuery>,
) -> Result<JsonOut<Page<DeliveryView>>> {
    let page = q.parse()?;
    state
        .store
        .webhook(id)
        .await?
        .ok_or(Error::WebhookNotFound)?;
    let page = state.store.deliveries(id, page).await?;
    Ok(JsonOut(Page {
        items: page.items.into_iter().map(DeliveryView::from).collect(),
        next_cursor: page.next_cursor,
    }))
}
