//! `GET /queue/events?token=…`: the ticket as Server-Sent Events, pushed when it changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
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

/// Coalesces bursts of changes (a refill admits many at once) into one event per stream.
const MIN_GAP: Duration = Duration::from_millis(100);

#[utoipa::path(get, path = "/queue/events", tag = "queue",
    description = "text/event-stream of `ticket` events with the Ticket JSON: one at once, then one whenever the \
                   status, position or seatsLeft changes. The stream keeps the ticket alive and ends after it turns \
                   ACTIVE, EXPIRED or SOLD_OUT.",
    params(EventsQuery),
    responses((status = 200, content_type = "text/event-stream", body = Ticket),
              (status = 401), (status = 410)))]
pub async fn events(
    State(state): State<AppState>,
    Query(q): Query<EventsQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let token = q
        .token
        .filter(|t| !t.is_empty())
        .ok_or(Error::QueueTokenRequired)?;
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
        let mut last = first.clone();
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
            tokio::time::sleep(MIN_GAP).await;
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
