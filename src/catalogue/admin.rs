//! The box office's reads: every concert, every schedule of one, and a concert's sales per
//! schedule and grade for the live dashboard.

use axum::Json as JsonOut;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::handlers::Items;
use super::seat_states::{HELD, SOLD};
use super::{Concert, ScheduleStatus};
use crate::app::AppState;
use crate::cancellations::handlers::{AdminSchedule, view};
use crate::clock::{self, Millis};
use crate::error::Result;
use crate::http::auth::Admin;
use crate::http::extract::Path;
use crate::money::Money;

#[utoipa::path(get, path = "/admin/concerts", tag = "admin", security(("adminToken" = [])),
    description = "Every concert, newest first, with its on-sale time, sold-out state and refund policy.",
    responses((status = 200, body = Items<Concert>)))]
pub async fn concerts(State(state): State<AppState>, _: Admin) -> Result<JsonOut<Items<Concert>>> {
    let now = clock::now();
    let mut items = Vec::new();
    for c in state.store.concerts().await?.into_iter().rev() {
        let policy = state.controls.policy(c.id, now).await?;
        items.push(c.under(&policy));
    }
    Ok(JsonOut(Items { items }))
}

#[utoipa::path(get, path = "/admin/concerts/{concertId}/schedules", tag = "admin",
    security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    description = "Every schedule of the concert, past and cancelled ones too, by start, each with its \
        refunds' progress.",
    responses((status = 200, body = Items<AdminSchedule>),
              (status = 404, description = "CONCERT_NOT_FOUND"), (status = 422)))]
pub async fn schedules(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Items<AdminSchedule>>> {
    state.concert(concert_id).await?;
    let mut items = Vec::new();
    for s in state.store.all_schedules(concert_id).await? {
        items.push(view(&state, s.id).await?);
    }
    Ok(JsonOut(Items { items }))
}

/// A concert's sales now, per schedule and grade.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Sales {
    pub concert_id: Uuid,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub at: Millis,
    /// Places sold, over every schedule not called off.
    pub sold: i64,
    /// What those places cost, in won.
    #[schema(value_type = i64)]
    pub revenue: Money,
    pub schedules: Vec<ScheduleSales>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleSales {
    pub schedule_id: Uuid,
    #[serde(serialize_with = "clock::ser")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Millis,
    pub status: ScheduleStatus,
    /// Seats plus standing capacity.
    pub places: i64,
    /// Paid and not refunded (0 once called off: every sale is refunded).
    pub sold: i64,
    /// Under a live hold.
    pub held: i64,
    /// Neither sold nor held.
    pub available: i64,
    #[schema(value_type = i64)]
    pub revenue: Money,
    /// Tickets let in at a gate.
    pub checked_in: i64,
    pub grades: Vec<GradeSales>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GradeSales {
    pub code: String,
    pub name: String,
    #[schema(value_type = i64)]
    pub price: Money,
    pub places: i64,
    pub sold: i64,
    pub held: i64,
    #[schema(value_type = i64)]
    pub revenue: Money,
}

#[utoipa::path(get, path = "/admin/concerts/{concertId}/sales", tag = "admin",
    security(("adminToken" = [])), params(("concertId" = Uuid, Path)),
    description = "Places sold, held and free and the revenue, per schedule and grade, from the same \
        place states as the seat map (at most a second old), with tickets checked in per schedule. \
        The queue's numbers are at `GET /admin/concerts/{concertId}/queue`.",
    responses((status = 200, body = Sales), (status = 404, description = "CONCERT_NOT_FOUND"),
              (status = 422)))]
pub async fn sales(
    State(state): State<AppState>,
    _: Admin,
    Path(concert_id): Path<Uuid>,
) -> Result<JsonOut<Sales>> {
    state.concert(concert_id).await?;
    let now = clock::now();
    let checked_in = state.store.checked_in(concert_id).await?;
    let mut out = Sales {
        concert_id,
        at: now,
        sold: 0,
        revenue: Money(0),
        schedules: Vec::new(),
    };
    for s in state.store.all_schedules(concert_id).await? {
        let layout = state.layout(s.id).await?;
        let snap = state.seat_states.snapshot(s.id, layout.places, now).await?;
        let called_off = s.status == ScheduleStatus::Cancelled;
        let mut grades: Vec<GradeSales> = layout
            .grades
            .iter()
            .map(|g| GradeSales {
                code: g.code.clone(),
                name: g.name.clone(),
                price: g.price,
                places: 0,
                sold: 0,
                held: 0,
                revenue: Money(0),
            })
            .collect();
        for section in &layout.sections {
            let g = &mut grades[section.grade];
            let range = section.range();
            let states = snap
                .state
                .get((*range.start() - 1) as usize..*range.end() as usize)
                .unwrap_or_default();
            g.places += section.len();
            if !called_off {
                g.sold += states.iter().filter(|&&c| c == SOLD).count() as i64;
                g.held += states.iter().filter(|&&c| c == HELD).count() as i64;
            }
        }
        let (mut sold, mut held, mut revenue) = (0, 0, 0);
        for g in &mut grades {
            g.revenue = Money(g.sold * g.price.0);
            sold += g.sold;
            held += g.held;
            revenue += g.revenue.0;
        }
        out.sold += sold;
        out.revenue = Money(out.revenue.0 + revenue);
        out.schedules.push(ScheduleSales {
            schedule_id: s.id,
            starts_at: s.starts_at,
            status: s.status,
            places: layout.places,
            sold,
            held,
            available: if called_off {
                0
            } else {
                layout.places - sold - held
            },
            revenue: Money(revenue),
            checked_in: checked_in
                .iter()
                .find(|(id, _)| *id == s.id)
                .map_or(0, |(_, n)| *n),
            grades,
        });
    }
    Ok(JsonOut(out))
}
