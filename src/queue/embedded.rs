//! The embedded waiting queue: every concert's line in this process, under one short lock.
//!
//! Per operation: a hash lookup, a Fenwick-tree prefix sum for the position (O(log n)), and
//! amortised O(1) expiry work taken from the fronts of ordered structures — never a scan of the
//! line. On graceful shutdown the lines are written to the database and read back at start.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use super::fenwick::Fenwick;
use super::notify::Notifier;
use super::rate::AdmissionRate;
use super::token::{TicketId, TokenCodec};
use super::{GateTicket, Queue, QueueConfig, QueueSize, Ticket, TicketStatus};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::SystemStore;

#[derive(Debug, Clone, Copy)]
enum Place {
    Waiting { last_seen: Millis },
    Active { until: Millis },
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    user_id: Uuid,
    concert_id: Uuid,
    seq: u64,
    place: Place,
}

/// One concert's line.
#[derive(Default)]
struct Line {
    /// Join sequence number of Fenwick slot 0; slots are `seq - base`.
    base: u64,
    /// 1 per joined ticket that is still WAITING.
    waiting: Fenwick,
    waiting_count: u64,
    /// Join order; entries of tickets that left are skipped when they reach the front.
    order: VecDeque<(u64, TicketId)>,
    /// Admission order, which with one TTL is also expiry order.
    active: VecDeque<(Millis, TicketId)>,
    active_count: u32,
    /// Idle deadlines; a ticket polled since is pushed again with its new deadline.
    idle: BinaryHeap<Reverse<(Millis, TicketId)>>,
    rate: AdmissionRate,
}

impl Line {
    fn next_seq(&self) -> u64 {
        self.base + self.waiting.len() as u64
    }
}

#[derive(Default)]
struct State {
    lines: HashMap<Uuid, Line>,
    tickets: HashMap<TicketId, Entry>,
    by_user: HashMap<(Uuid, Uuid), TicketId>,
}

pub struct EmbeddedQueue {
    codec: TokenCodec,
    config: QueueConfig,
    state: Mutex<State>,
    notifier: Notifier,
    store: Arc<dyn SystemStore>,
}

impl EmbeddedQueue {
    /// A queue restored from the snapshot the last graceful shutdown left, if any.
    pub async fn start(
        codec: TokenCodec,
        config: QueueConfig,
        store: Arc<dyn SystemStore>,
        now: Millis,
    ) -> Result<Self> {
        let queue = EmbeddedQueue {
            codec,
            config,
            state: Mutex::new(State::default()),
            notifier: Notifier::default(),
            store,
        };
        if let Some(json) = queue.store.take_queue_snapshot().await? {
            match serde_json::from_str::<Snapshot>(&json) {
                Ok(snapshot) => {
                    let n = queue.restore(snapshot, now);
                    tracing::info!(
                        tickets = n,
                        "restored the waiting queue from the last shutdown"
                    );
                }
                Err(e) => tracing::error!(error = %e, "queue snapshot unreadable; starting empty"),
            }
        }
        Ok(queue)
    }

    fn view(&self, st: &mut State, id: TicketId, now: Millis) -> Option<Ticket> {
        let e = *st.tickets.get(&id)?;
        let line = st.lines.get_mut(&e.concert_id)?;
        let (status, position, eta, active_until) = match e.place {
            Place::Waiting { .. } => {
                let pos = u64::from(line.waiting.prefix((e.seq - line.base) as usize));
                (
                    TicketStatus::Waiting,
                    Some(pos),
                    line.rate.estimate(pos, now),
                    None,
                )
            }
            Place::Active { until } => (TicketStatus::Active, None, None, Some(until)),
        };
        Some(Ticket {
            token: self.codec.encode(e.concert_id, id),
            concert_id: e.concert_id,
            status,
            position,
            estimated_wait_seconds: eta,
            active_until,
        })
    }

    /// Removes a ticket wherever it stands; returns its concert if it held a place.
    fn remove(st: &mut State, id: TicketId) -> Option<Uuid> {
        let e = st.tickets.remove(&id)?;
        st.by_user.remove(&(e.user_id, e.concert_id));
        let line = st.lines.get_mut(&e.concert_id)?;
        match e.place {
            Place::Waiting { .. } => {
                line.waiting.add((e.seq - line.base) as usize, -1);
                line.waiting_count -= 1;
            }
            Place::Active { .. } => line.active_count -= 1,
        }
        Some(e.concert_id)
    }

    /// Expires what is due in one line and admits waiters into free slots, in join order.
    /// Returns whether anything in the line changed.
    fn maintain(&self, st: &mut State, concert_id: Uuid, now: Millis) -> bool {
        let cfg = self.config;
        let State {
            lines,
            tickets,
            by_user,
        } = st;
        let Some(line) = lines.get_mut(&concert_id) else {
            return false;
        };
        let mut changed = false;

        while let Some(&(until, id)) = line.active.front() {
            if until > now {
                break;
            }
            line.active.pop_front();
            if let Some(&e) = tickets.get(&id)
                && matches!(e.place, Place::Active { until: u } if u == until)
            {
                tickets.remove(&id);
                by_user.remove(&(e.user_id, e.concert_id));
                line.active_count -= 1;
                changed = true;
            }
        }

        while let Some(&Reverse((deadline, id))) = line.idle.peek() {
            if deadline > now {
                break;
            }
            line.idle.pop();
            let Some(&e) = tickets.get(&id) else { continue };
            let Place::Waiting { last_seen } = e.place else {
                continue;
            };
            if last_seen + cfg.idle_timeout <= now {
                line.waiting.add((e.seq - line.base) as usize, -1);
                line.waiting_count -= 1;
                by_user.remove(&(e.user_id, e.concert_id));
                tickets.remove(&id);
                changed = true;
            } else {
                line.idle.push(Reverse((last_seen + cfg.idle_timeout, id)));
            }
        }

        while line.active_count < cfg.active_limit {
            let Some((seq, id)) = line.order.pop_front() else {
                break;
            };
            let Some(e) = tickets.get_mut(&id) else {
                continue;
            };
            if e.seq != seq || !matches!(e.place, Place::Waiting { .. }) {
                continue;
            }
            let until = now + cfg.active_ttl;
            e.place = Place::Active { until };
            line.waiting.add((seq - line.base) as usize, -1);
            line.waiting_count -= 1;
            line.active_count += 1;
            line.active.push_back((until, id));
            line.rate.record(1, now);
            changed = true;
        }

        // Once nobody waits, the Fenwick tree starts over so its memory follows the line's size.
        if line.waiting_count == 0 && line.order.is_empty() && !line.waiting.is_empty() {
            line.base = line.next_seq();
            line.waiting = Fenwick::new();
        }
        changed
    }

    fn maintain_and_notify(&self, st: &mut State, concert_id: Uuid, now: Millis) {
        if self.maintain(st, concert_id, now) {
            self.notifier.bump(concert_id);
        }
    }

    /// Looks a token up, bringing its line up to date first.
    fn live(&self, st: &mut State, token: &str, now: Millis) -> Result<TicketId> {
        let (concert_id, id) = self.codec.decode(token)?;
        self.maintain_and_notify(st, concert_id, now);
        if st.tickets.contains_key(&id) {
            Ok(id)
        } else {
            Err(Error::QueueTokenExpired)
        }
    }

    fn snapshot(&self) -> Snapshot {
        let st = self.state.lock();
        let mut lines: HashMap<Uuid, Vec<SavedTicket>> = HashMap::new();
        for (id, e) in &st.tickets {
            let (active, at) = match e.place {
                Place::Waiting { last_seen } => (false, last_seen),
                Place::Active { until } => (true, until),
            };
            lines.entry(e.concert_id).or_default().push(SavedTicket {
                id: format!("{id:032x}"),
                user_id: e.user_id,
                seq: e.seq,
                active,
                at,
            });
        }
        Snapshot {
            lines: lines
                .into_iter()
                .map(|(concert_id, mut tickets)| {
                    tickets.sort_by_key(|t| t.seq);
                    SavedLine {
                        concert_id,
                        tickets,
                    }
                })
                .collect(),
        }
    }

    fn restore(&self, snapshot: Snapshot, now: Millis) -> usize {
        let mut st = self.state.lock();
        let mut count = 0;
        for saved in snapshot.lines {
            let line = st.lines.entry(saved.concert_id).or_default();
            let mut entries = Vec::new();
            for t in saved.tickets {
                let Ok(id) = TicketId::from_str_radix(&t.id, 16) else {
                    continue;
                };
                let seq = line.next_seq();
                let place = if t.active {
                    line.active.push_back((t.at, id));
                    line.active_count += 1;
                    Place::Active { until: t.at }
                } else {
                    // The downtime does not count against a waiter's idle timeout.
                    line.waiting.push(1);
                    line.waiting_count += 1;
                    line.order.push_back((seq, id));
                    line.idle
                        .push(Reverse((now + self.config.idle_timeout, id)));
                    Place::Waiting { last_seen: now }
                };
                if t.active {
                    line.waiting.push(0);
                }
                entries.push((
                    id,
                    Entry {
                        user_id: t.user_id,
                        concert_id: saved.concert_id,
                        seq,
                        place,
                    },
                ));
            }
            line.active.make_contiguous().sort_unstable();
            for (id, e) in entries {
                st.by_user.insert((e.user_id, e.concert_id), id);
                st.tickets.insert(id, e);
                count += 1;
            }
        }
        count
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    lines: Vec<SavedLine>,
}

#[derive(Serialize, Deserialize)]
struct SavedLine {
    concert_id: Uuid,
    /// In join order.
    tickets: Vec<SavedTicket>,
}

#[derive(Serialize, Deserialize)]
struct SavedTicket {
    id: String,
    user_id: Uuid,
    seq: u64,
    active: bool,
    /// `activeUntil` for an active ticket, the last heartbeat for a waiting one.
    at: Millis,
}

#[async_trait]
impl Queue for EmbeddedQueue {
    async fn join(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<(Ticket, bool)> {
        let mut st = self.state.lock();
        let st = &mut *st;
        st.lines.entry(concert_id).or_default();
        self.maintain_and_notify(st, concert_id, now);
        if let Some(&id) = st.by_user.get(&(user_id, concert_id)) {
            let ticket = self
                .view(st, id, now)
                .ok_or_else(|| Error::internal("ticket index out of step"))?;
            return Ok((ticket, false));
        }
        let (id, _) = self.codec.issue(concert_id);
        let line = st.lines.get_mut(&concert_id).expect("created above");
        let seq = line.next_seq();
        line.waiting.push(1);
        line.waiting_count += 1;
        line.order.push_back((seq, id));
        line.idle
            .push(Reverse((now + self.config.idle_timeout, id)));
        st.tickets.insert(
            id,
            Entry {
                user_id,
                concert_id,
                seq,
                place: Place::Waiting { last_seen: now },
            },
        );
        st.by_user.insert((user_id, concert_id), id);
        self.maintain_and_notify(st, concert_id, now);
        let ticket = self
            .view(st, id, now)
            .ok_or_else(|| Error::internal("ticket lost on join"))?;
        Ok((ticket, true))
    }

    async fn poll(&self, token: &str, now: Millis) -> Result<Ticket> {
        let mut st = self.state.lock();
        let id = self.live(&mut st, token, now)?;
        if let Some(Entry {
            place: Place::Waiting { last_seen },
            ..
        }) = st.tickets.get_mut(&id)
        {
            *last_seen = now;
        }
        self.view(&mut st, id, now).ok_or(Error::QueueTokenExpired)
    }

    async fn gate(&self, token: &str, now: Millis) -> Result<GateTicket> {
        let mut st = self.state.lock();
        let id = self.live(&mut st, token, now)?;
        let e = st.tickets[&id];
        Ok(GateTicket {
            user_id: e.user_id,
            concert_id: e.concert_id,
            active: matches!(e.place, Place::Active { .. }),
        })
    }

    async fn leave(&self, token: &str, now: Millis) -> Result<()> {
        let mut st = self.state.lock();
        let id = self.live(&mut st, token, now)?;
        if let Some(concert_id) = Self::remove(&mut st, id) {
            self.maintain(&mut st, concert_id, now);
            self.notifier.bump(concert_id);
        }
        Ok(())
    }

    async fn finish(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<()> {
        let mut st = self.state.lock();
        if let Some(id) = st.by_user.get(&(user_id, concert_id)).copied() {
            Self::remove(&mut st, id);
            self.maintain(&mut st, concert_id, now);
            self.notifier.bump(concert_id);
        }
        Ok(())
    }

    async fn tick(&self, now: Millis) -> Result<()> {
        let mut st = self.state.lock();
        let concerts: Vec<Uuid> = st.lines.keys().copied().collect();
        for concert_id in concerts {
            self.maintain_and_notify(&mut st, concert_id, now);
        }
        Ok(())
    }

    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        self.notifier.subscribe(concert_id)
    }

    async fn sizes(&self) -> Result<Vec<QueueSize>> {
        let st = self.state.lock();
        Ok(st
            .lines
            .iter()
            .map(|(&concert_id, l)| QueueSize {
                concert_id,
                waiting: l.waiting_count,
                active: u64::from(l.active_count),
            })
            .collect())
    }

    async fn ping(&self) -> Result<()> {
        Ok(())
    }

    async fn shutdown(&self) -> Result<()> {
        let snapshot = self.snapshot();
        let tickets: usize = snapshot.lines.iter().map(|l| l.tickets.len()).sum();
        let json = serde_json::to_string(&snapshot).map_err(Error::internal)?;
        self.store.save_queue_snapshot(&json).await?;
        tracing::info!(tickets, "saved the waiting queue for the next start");
        Ok(())
    }
}
