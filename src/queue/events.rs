//! `GET /queue/events?token=…`: the ticket as Server-Sent Events, pushed when it changes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use parking_lot::Mutex;
use serde::Deserialize;
use utoipa::IntoParams;

use super::handlers::poll_ticket;
use super::{Ticket, TicketStatus};
use crate::app::AppState;
use crate::error::{Error, Result};
use crate::http::extract::Query;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// The queue token (EventSource cannot send headers).
    pub token: Option<String>,
}

/// Open streams one ticket may have on one instance: a few tabs, not a flood.
pub const STREAMS_PER_TICKET: u32 = 3;

/// Open event streams per queue token on this instance. An entry lives while its ticket has a
/// stream open, so the map holds no more than the streams themselves.
#[derive(Default)]
pub struct StreamSlots(Arc<Mutex<HashMap<Box<str>, u32>>>);

/// One open stream's place; given back when the stream ends or its client goes.
pub struct StreamSlot {
    slots: Arc<Mutex<HashMap<Box<str>, u32>>>,
    token: Box<str>,
}

impl StreamSlots {
    /// A place for one more stream of `token`, or `RATE_LIMITED` past [`STREAMS_PER_TICKET`].
    pub fn open(&self, token: &str) -> Result<StreamSlot> {
        let mut slots = self.0.lock();
        let open = slots.entry(token.into()).or_default();
        if *open >= STREAMS_PER_TICKET {
            return Err(Error::RateLimited { retry_after: 5 });
        }
        *open += 1;
        Ok(StreamSlot {
            slots: self.0.clone(),
            token: token.into(),
        })
    }
}

impl Drop for StreamSlot {
    fn drop(&mut self) {
        let mut slots = self.slots.lock();
        if let Some(open) = slots.get_mut(&self.token) {
            *open -= 1;
            if *open == 0 {
                slots.remove(&self.token);
            }
        }
    }
}

/// The shortest time between two reads of one stream's ticket: a burst of changes (a refill
/// admits many at once) becomes one event per stream.
const MIN_GAP: Duration = Duration::from_millis(100);
/// How long a stream waits after a change before it reads, so the rest of one burst (an
/// unpause that changes the policy and the line together) lands in the same read.
const SETTLE: Duration = Duration::from_millis(20);
/// Past this position a stream reads its ticket at most every [`FAR_GAP`]: while admissions
/// flow the line changes all the time, and a fan thousands back gains nothing from ten updates
/// a second, which would cost a poll each (see "Sizing an on-sale" in BENCHMARKS.md).
const NEAR_FRONT: u64 = 1_000;
const FAR_GAP: Duration = Duration::from_secs(1);

/// The least time between two reads of a stream's ticket: after a still spell a change is read
/// at once; while the line keeps moving, once per gap. Within 2 s of an admission either way: a
/// fan admitted from far back had moved near the front first, or is read a second later at most.
fn gap(position: Option<u64>) -> Duration {
    match position {
        Some(p) if p > NEAR_FRONT => FAR_GAP,
        _ => MIN_GAP,
    }
}

#[utoipa::path(get, path = "/queue/events", tag = "queue",
    description = "text/event-stream of `ticket` events with the Ticket JSON: one at once, then one whenever the \
                   status, position or seatsLeft changes (past position 1,000, at most one a second). The stream \
                   keeps the ticket alive and ends after it turns ACTIVE, EXPIRED or SOLD_OUT.",
    params(EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = Ticket),
              (status = 401, description = "QUEUE_TOKEN_REQUIRED or QUEUE_TOKEN_INVALID (`token` missing, or not one this service signed)"),
              (status = 410, description = "QUEUE_TOKEN_EXPIRED (never once the concert is sold out: the stream then opens on a SOLD_OUT ticket)"),
              (status = 429, description = "RATE_LIMITED: this ticket already has 3 streams open")))]
pub async fn events(
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let token = q
        .token
        .filter(|t| !t.is_empty())
        .ok_or(Error::QueueTokenRequired)?;
    let slot = state.streams.open(&token)?;
    let first = poll_ticket(&state, &token).await?;
    let mut changes = state.queue.changes(first.concert_id);
    let mut policy = state.controls.changes(first.concert_id);
    // A change between the first poll and subscribing would otherwise wake nothing until the
    // next heartbeat: look once more right away.
    changes.mark_changed();
    let stop = state.stop.clone();
    // Heartbeats well inside the idle timeout keep a streaming waiter in line.
    let heartbeat = (state.settings.queue_idle_timeout / 3).min(Duration::from_secs(15));
    let stream = async_stream::stream! {
        // Held for as long as the stream lives, dropped with it when the client goes.
        let _slot = slot;
        let mut last = first.clone();
        let mut read_at = tokio::time::Instant::now();
        yield Ok(event(&first));
        while matches!(last.status, TicketStatus::Waiting | TicketStatus::PreQueue) {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                // Sold out, the on-sale time, the places left: the concert's policy changed.
                _ = policy.changed() => {},
                _ = tokio::time::sleep(heartbeat) => {},
                // Shutting down: end the stream so the graceful drain can finish.
                _ = stop.cancelled() => break,
            }
            let settled = tokio::time::Instant::now() + SETTLE;
            tokio::time::sleep_until((read_at + gap(last.position)).max(settled)).await;
            read_at = tokio::time::Instant::now();
            let now = match poll_ticket(&state, &token).await {
                Ok(t) => t,
                Err(Error::QueueTokenExpired) => Ticket {
                    status: TicketStatus::Expired,
                    position: None,
                    estimated_wait_seconds: None,
                    active_until: None,
                    ..last.clone()
                },
                // A backend hiccup: keep the stream, try again on the next change or heartbeat.
                Err(_) => continue,
            };
            let moved = now.status != last.status
                || now.position != last.position
                || now.seats_left != last.seats_left;
            if moved {
                yield Ok(event(&now));
                last = now;
            }
        }
    };
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

fn event(ticket: &Ticket) -> Event {
    Event::default()
        .event("ticket")
        .json_data(ticket)
        .unwrap_or_else(|_| Event::default().event("ticket"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_far_back_reads_its_ticket_less_often() {
        assert_eq!(gap(None), MIN_GAP, "the pre-queue");
        assert_eq!(gap(Some(1)), MIN_GAP);
        assert_eq!(gap(Some(NEAR_FRONT)), MIN_GAP);
        assert_eq!(gap(Some(NEAR_FRONT + 1)), FAR_GAP);
        assert!(
            FAR_GAP < Duration::from_secs(2),
            "an admission still reaches it within 2 s"
        );
    }
}
