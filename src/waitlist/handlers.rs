//! `POST /schedules/{id}/waitlist`, `GET /waitlist` and `DELETE /waitlist/{id}`.

use axum::Json as JsonOut;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{Entry, EntryView};
use crate::app::AppState;
use crate::catalogue::handlers::Items;
use crate::catalogue::seat_states::AVAILABLE;
use crate::clock;
use crate::error::{Error, Result};
use crate::http::auth::AuthUser;
use crate::http::extract::{Json, Path};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join))
        .routes(routes!(open_dates))
        .routes(routes!(list))
        .routes(routes!(leave))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEntry {
    /// Places wanted together, 1 to ENCORE_MAX_SEATS_PER_ORDER (default 4).
    #[schema(minimum = 1, maximum = 20)]
    pub quantity: i64,
    /// Only places of this grade (its code); any grade when absent.
    pub grade: Option<String>,
}

#[utoipa::path(post, path = "/schedules/{scheduleId}/waitlist", tag = "waitlist",
    request_body = NewEntry, params(("scheduleId" = Uuid, Path)), security(("apiKey" = [])),
    description = "Joins the schedule's waiting list, once the schedule has no free place. A place \
        that comes back is offered to the first entry it fits as a hold (`offer`) for \
        ENCORE_HOLD_TTL; an unpaid offer lapses and passes on. The fan's live entry for the \
        schedule is answered unchanged (200).",
    responses((status = 201, body = EntryView), (status = 200, body = EntryView),
              (status = 404, description = "SCHEDULE_NOT_FOUND"),
              (status = 409, description = "WAITLIST_CLOSED: the schedule has free places, or is cancelled"),
              (status = 422, description = "VALIDATION_FAILED: quantity outside 1..4 or an unknown grade")))]
pub async fn join(
    State(state): State<AppState>,
    user: AuthUser,
    Path(schedule_id): Path<Uuid>,
    Json(body): Json<NewEntry>,
) -> Result<(StatusCode, JsonOut<EntryView>)> {
    let schedule = state.schedule(schedule_id).await?;
    let layout = state.layout(schedule_id).await?;
    let max = i64::from(state.settings.max_seats_per_order);
    if !(1..=max).contains(&body.quantity) {
        return Err(Error::validation(format!("quantity must be 1 to {max}")));
    }
    if let Some(grade) = &body.grade
        && layout.grade_index(grade).is_none()
    {
        return Err(Error::validation(format!(
            "grade {grade} is not in the plan"
        )));
    }
    let now = clock::now();
    // Places that came back while entries wait are the list's: it stays open for them.
    if state.store.free_places(schedule_id, now).await? > 0
        && !state.store.has_waiting(schedule_id).await?
    {
        return Err(Error::WaitlistClosed);
    }
    // A called-off date has no place to wait for (the cached schedule's status may be stale).
    let current = state.store.schedule(schedule_id).await?;
    if current.is_some_and(|s| s.status == crate::catalogue::ScheduleStatus::Cancelled) {
        return Err(Error::WaitlistClosed);
    }
    let entry = Entry {
        id: Uuid::now_v7(),
        user_id: user.0,
        concert_id: schedule.concert_id,
        schedule_id,
        quantity: body.quantity,
        grade: body.grade,
        status: "WAITING".into(),
        reservation_id: None,
        created_at: now,
    };
    let (entry, created) = state.store.add_entry(&entry).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, JsonOut(view(&state, entry).await?)))
}

/// A date whose waiting list is open.
#[derive(Debug, serde::Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OpenDate {
    /// The schedule's id.
    pub id: Uuid,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: clock::Millis,
}

#[utoipa::path(get, path = "/concerts/{concertId}/waitlist", tag = "waitlist",
    params(("concertId" = Uuid, Path)),
    description = "The concert's dates whose waiting list is open (no free place, or entries \
        already waiting), so a fan who meets a sold-out concert without an ACTIVE queue ticket \
        can join one. No auth; dates with free places are not listed (they are found through \
        the queue).",
    responses((status = 200, body = Items<OpenDate>),
              (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422)))]
pub async fn open_dates(
    State(state): State<AppState>,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Items<OpenDate>>> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let mut items = Vec::new();
    for s in state.store.schedules(concert_id, now).await? {
        let open =
            state.store.free_places(s.id, now).await? == 0 || state.store.has_waiting(s.id).await?;
        if open && now < s.booking_closes_at {
            items.push(OpenDate {
                id: s.id,
                starts_at: s.starts_at,
            });
        }
    }
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(get, path = "/waitlist", tag = "waitlist", security(("apiKey" = [])),
    description = "The fan's own waiting-list entries, newest first.",
    responses((status = 200, body = Items<EntryView>)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> Result<JsonOut<Items<EntryView>>> {
    let mut items = Vec::new();
    for e in state.store.entries_of(user.0).await? {
        items.push(view(&state, e).await?);
    }
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(delete, path = "/waitlist/{entryId}", tag = "waitlist",
    params(("entryId" = Uuid, Path)), security(("apiKey" = [])),
    description = "Leaves the waiting list; an unpaid offer is cancelled and its places pass on.",
    responses((status = 200, body = EntryView), (status = 422),
              (status = 404, description = "WAITLIST_ENTRY_NOT_FOUND (also another fan's, or one already ended)")))]
pub async fn leave(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<Uuid>,
) -> Result<JsonOut<EntryView>> {
    let entry = state
        .store
        .cancel_entry(id, user.0)
        .await?
        .ok_or(Error::WaitlistEntryNotFound)?;
    if let Some(offer) = entry.reservation_id {
        let now = clock::now();
        // An offer already paid or lapsed has nothing to give back.
        if let Ok(r) = state.store.cancel(offer, user.0, now).await {
            state
                .seat_states
                .patch(r.schedule_id, &r.numbers, AVAILABLE, 0, now);
        }
    }
    Ok(JsonOut(view(&state, entry).await?))
}

async fn view(state: &AppState, e: Entry) -> Result<EntryView> {
    let now = clock::now();
    let position = match e.status.as_str() {
        "WAITING" | "OFFERING" => Some(state.store.position(&e).await?),
        _ => None,
    };
    let offer = match e.reservation_id {
        Some(id) => match state.store.reservation(id, e.user_id).await? {
            Some(r) => {
                let shown = state.shown(r.schedule_id).await?;
                Some(r.view(&shown, now))
            }
            None => None,
        },
        None => None,
    };
    let status = match e.status.as_str() {
        // A claim in progress is still a wait, as the fan sees it.
        "OFFERING" => "WAITING".to_owned(),
        s => s.to_owned(),
    };
    Ok(EntryView {
        id: e.id,
        schedule_id: e.schedule_id,
        quantity: e.quantity,
        grade: e.grade,
        status,
        position,
        offer,
    })
}
