//! `GET /queue/events?token=…`: the ticket as Server-Sent Events, pushed when it changes.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::Stream;
use serde::Deserialize;
use utoipa::IntoParams;

use super::{Ticket, TicketStatus};
use crate::app::AppState;
use crate::clock;
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
                   status or position changes. The stream keeps the ticket alive and ends after it turns ACTIVE or EXPIRED.",
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
    let first = state.queue.poll(&token, clock::now()).await?;
    let mut changes = state.queue.changes(first.concert_id);
    // A change between the first poll and subscribing would otherwise wake nothing until the
    // next heartbeat: look once more right away.
    changes.mark_changed();
    let stop = state.stop.clone();
    // Heartbeats well inside the idle timeout keep a streaming waiter in line.
    let heartbeat = (state.settings.queue_idle_timeout / 3).min(Duration::from_secs(15));
    let queue = state.queue.clone();

    let stream = async_stream::stream! {
        let mut last = first.clone();
        yield Ok(event(&first));
        while last.status == TicketStatus::Waiting {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { break },
                _ = tokio::time::sleep(heartbeat) => {},
                // Shutting down: end the stream so the graceful drain can finish.
                _ = stop.cancelled() => break,
            }
            tokio::time::sleep(MIN_GAP).await;
            let now = match queue.poll(&token, clock::now()).await {
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
            if now.status != last.status || now.position != last.position {
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
