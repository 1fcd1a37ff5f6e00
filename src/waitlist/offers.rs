//! The offers: every instance, once a sweep, settles the offers that were paid or lapsed and
//! offers the places that came back to the first entries they fit. An entry is claimed by one
//! conditional update before its hold is made, so it is offered once whichever instances run
//! this at the same moment; a place is held by one reservation, so it goes to one entry.

use uuid::Uuid;

use super::Entry;
use crate::app::AppState;
use crate::catalogue::plan::Layout;
use crate::catalogue::seat_states::HELD;
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use crate::reservations::{Hold, HoldRequest, Places};

/// A claim older than this belongs to an instance that died mid-offer: the entry waits again.
const CLAIM_MS: Millis = 60_000;
/// Entries looked at per schedule and round.
const BATCH: i64 = 100;

/// One round of offers.
pub async fn round(state: &AppState) -> Result<()> {
    let now = clock::now();
    state.store.settle_offers(now, now - CLAIM_MS).await?;
    for schedule in state.store.waiting_schedules().await? {
        if let Err(e) = offer_places(state, schedule).await {
            tracing::warn!(error = %e, %schedule, "waiting-list offers failed; retrying");
        }
    }
    Ok(())
}

/// Offers a schedule's free places to its waiting entries, in join order, each to the first
/// entry it fits.
async fn offer_places(state: &AppState, schedule_id: Uuid) -> Result<()> {
    let schedule = state.schedule(schedule_id).await?;
    let layout = state.layout(schedule_id).await?;
    let now = clock::now();
    if state.store.free_places(schedule_id, now).await? == 0 {
        return Ok(());
    }
    for entry in state.store.waiting_entries(schedule_id, BATCH).await? {
        let Some(places) = fit(&layout, &entry, state, now).await? else {
            continue;
        };
        if !state.store.claim(entry.id, clock::now()).await? {
            continue;
        }
        match hold_for(state, &schedule, &layout, &entry, places).await {
            Ok(reservation) => {
                state
                    .store
                    .settle_claim(entry.id, "OFFERED", Some(reservation))
                    .await?
            }
            Err(Error::SeatUnavailable) => {
                state.store.settle_claim(entry.id, "WAITING", None).await?
            }
            // The fan cannot take more places: this entry can never be served.
            Err(Error::TicketLimitReached | Error::HoldLimitReached) => {
                state.store.settle_claim(entry.id, "EXPIRED", None).await?
            }
            Err(e) => {
                state.store.settle_claim(entry.id, "WAITING", None).await?;
                return Err(e);
            }
        }
        if state.store.free_places(schedule_id, clock::now()).await? == 0 {
            break;
        }
    }
    Ok(())
}

/// The range an entry's places come from: the first section (of its grade, if it names one)
/// with room for the whole entry, at most a second old. One section has one grade, so the
/// offer's price is that grade's.
async fn fit(
    layout: &Layout,
    entry: &Entry,
    state: &AppState,
    now: Millis,
) -> Result<Option<Places>> {
    let snap = state
        .seat_states
        .snapshot(entry.schedule_id, layout.places, now)
        .await?;
    let grade = entry.grade.as_deref().map(|code| layout.grade_index(code));
    let ranges: Vec<(i64, i64)> = layout
        .sections
        .iter()
        .filter(|s| grade.is_none_or(|g| Some(s.grade) == g))
        .map(|s| (*s.range().start(), *s.range().end()))
        .collect();
    Ok(ranges
        .into_iter()
        .find(|&(first, last)| snap.free_in(first, last) >= entry.quantity)
        .map(|(first, last)| Places::Count {
            first,
            last,
            count: entry.quantity,
        }))
}

async fn hold_for(
    state: &AppState,
    schedule: &crate::catalogue::Schedule,
    layout: &Layout,
    entry: &Entry,
    places: Places,
) -> Result<Uuid> {
    let now = clock::now();
    let mut req = HoldRequest::new(
        &state.settings,
        entry.user_id,
        schedule,
        layout,
        places,
        now,
    );
    req.offer = true;
    match state.store.hold(&req).await? {
        Hold::Made(r) | Hold::Again(r) => {
            state
                .seat_states
                .patch(r.schedule_id, &r.numbers, HELD, r.held_until, now);
            Ok(r.id)
        }
    }
}
