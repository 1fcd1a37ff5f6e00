//! The embedded waiting queue: every concert's line (see `line.rs`) in this process, each under
//! its own short lock, so one concert's flash crowd never waits on another's. On graceful
//! shutdown the lines are written to the database and read back at start.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use uuid::Uuid;

use super::controls::{Admission, Sale};
use super::line::{Line, Place, SavedTicket};
use super::notify::Notifier;
use super::token::{TicketId, TokenCodec, Verified};
use super::{GateTicket, Joined, Queue, QueueConfig, QueueSize, Standing, Ticket, draw};
use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::SystemStore;

/// Most tickets one call expires or admits per kind of work, so a mass expiry (a million idle
/// waiters) is spread over calls instead of stalling one.
const BUDGET: usize = 10_000;

pub struct EmbeddedQueue {
    codec: TokenCodec,
    config: QueueConfig,
    /// Concert → its line. The map's lock is held only to find a line (or add one); work on a
    /// line holds that line's lock alone.
    lines: RwLock<HashMap<Uuid, Arc<Mutex<Line>>>>,
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
            lines: RwLock::default(),
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

    fn line(&self, concert_id: Uuid) -> Option<Arc<Mutex<Line>>> {
        self.lines.read().get(&concert_id).cloned()
    }

    fn line_or_new(&self, concert_id: Uuid) -> Arc<Mutex<Line>> {
        if let Some(line) = self.line(concert_id) {
            return line;
        }
        self.lines.write().entry(concert_id).or_default().clone()
    }

    /// Every line, so that work over all of them holds no more than one line's lock at a time.
    fn all_lines(&self) -> Vec<(Uuid, Arc<Mutex<Line>>)> {
        let lines = self.lines.read();
        lines.iter().map(|(&id, line)| (id, line.clone())).collect()
    }

    /// Where a ticket stands, read under the lock; a new ticket's token is signed after the lock
    /// is released, so the HMAC does not lengthen the critical section.
    fn standing(line: &Line, id: TicketId) -> Option<Standing> {
        let (_, place) = line.place(id)?;
        Some(match place {
            Place::PreQueue => Standing::PreQueue,
            Place::Waiting(position) => Standing::Waiting {
                position,
                rate: line.rate,
            },
            Place::Active { until } => Standing::Active { until },
        })
    }

    /// Brings a line up to date — the draw once it is due, then expiry and admission under
    /// this call's limits — and wakes its event streams if anything changed.
    fn maintain(&self, line: &mut Line, concert_id: Uuid, now: Millis, adm: &Admission) {
        let cfg = self.config.with(adm);
        let drew = match adm.sale {
            Sale::Draw(seed) => line.draw(now, &cfg, |ids| draw::order(&seed, ids)),
            Sale::Before(_) | Sale::Open => false,
        };
        if line.maintain(now, &cfg, BUDGET) || drew {
            self.notifier.bump(concert_id);
        }
    }

    /// Runs `f` on the up-to-date line of a live ticket; `QUEUE_TOKEN_EXPIRED` once it is gone.
    fn with_live<T>(
        &self,
        t: Verified<'_>,
        now: Millis,
        adm: &Admission,
        f: impl FnOnce(&mut Line, Uuid, TicketId) -> T,
    ) -> Result<T> {
        let (concert_id, id) = (t.concert, t.id);
        let line = self.line(concert_id).ok_or(Error::QueueTokenExpired)?;
        let mut line = line.lock();
        self.maintain(&mut line, concert_id, now, adm);
        if line.place(id).is_none() {
            return Err(Error::QueueTokenExpired);
        }
        Ok(f(&mut line, concert_id, id))
    }

    fn snapshot(&self) -> Snapshot {
        Snapshot {
            lines: self
                .all_lines()
                .into_iter()
                .map(|(concert_id, line)| {
                    let line = line.lock();
                    SnapshotLine {
                        concert_id,
                        tickets: line
                            .saved()
                            .into_iter()
                            .map(|t| SnapshotTicket {
                                id: format!("{:032x}", t.id),
                                user_id: t.user,
                                active: t.active,
                                at: t.at,
                                pre: t.pre,
                            })
                            .collect(),
                        drawn: line
                            .drawn()
                            .map(|d| d.iter().map(|&id| draw::ticket_id(id)).collect()),
                    }
                })
                .collect(),
        }
    }

    fn restore(&self, snapshot: Snapshot, now: Millis) -> usize {
        let mut count = 0;
        for saved in snapshot.lines {
            let line = self.line_or_new(saved.concert_id);
            let mut line = line.lock();
            for t in saved.tickets {
                let Ok(id) = TicketId::from_str_radix(&t.id, 16) else {
                    continue;
                };
                line.restore(
                    SavedTicket {
                        id,
                        user: t.user_id,
                        active: t.active,
                        at: t.at,
                        pre: t.pre,
                    },
                    now,
                    &self.config,
                );
                count += 1;
            }
            if let Some(drawn) = saved.drawn {
                let ids = drawn
                    .iter()
                    .filter_map(|id| TicketId::from_str_radix(id, 16).ok());
                line.restore_drawn(ids.collect());
            }
        }
        count
    }
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    lines: Vec<SnapshotLine>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotLine {
    concert_id: Uuid,
    /// Admitted and waiting tickets in join order, then the pre-queue in join order.
    tickets: Vec<SnapshotTicket>,
    /// The pre-queue's drawn order, once drawn.
    #[serde(default)]
    drawn: Option<Vec<String>>,
}

#[derive(Serialize, Deserialize)]
struct SnapshotTicket {
    id: String,
    user_id: Uuid,
    active: bool,
    /// `activeUntil` for an active ticket, the last heartbeat for a waiting one.
    at: Millis,
    #[serde(default)]
    pre: bool,
}

#[async_trait]
impl Queue for EmbeddedQueue {
    fn codec(&self) -> &TokenCodec {
        &self.codec
    }

    async fn join(&self, user: Uuid, concert: Uuid, adm: &Admission) -> Result<Joined> {
        let now = adm.now;
        let fresh = TokenCodec::new_id();
        let (id, created, standing) = {
            let line = self.line_or_new(concert);
            let mut line = line.lock();
            self.maintain(&mut line, concert, now, adm);
            let (id, created) = match line.ticket_of(user) {
                Some(id) => (id, false),
                None => {
                    match adm.sale {
                        Sale::Before(_) => line.join_pre(fresh, user, now, &self.config),
                        Sale::Draw(_) | Sale::Open => line.join(fresh, user, now, &self.config),
                    }
                    self.maintain(&mut line, concert, now, adm);
                    (fresh, true)
                }
            };
            let standing =
                Self::standing(&line, id).ok_or_else(|| Error::internal("ticket lost on join"))?;
            (id, created, standing)
        };
        let token = self.codec.encode(concert, id);
        Ok((standing.into_ticket(token, concert, id), created))
    }

    async fn poll(&self, t: Verified<'_>, adm: &Admission) -> Result<Ticket> {
        let now = adm.now;
        let (concert_id, id, standing) = self
            .with_live(t, now, adm, |line, concert_id, id| {
                line.heartbeat(id, now);
                Self::standing(line, id).map(|s| (concert_id, id, s))
            })?
            .ok_or(Error::QueueTokenExpired)?;
        // The token just verified is the ticket's token: no need to sign it again.
        Ok(standing.into_ticket(t.token.to_owned(), concert_id, id))
    }

    async fn gate(&self, t: Verified<'_>, adm: &Admission) -> Result<GateTicket> {
        let now = adm.now;
        self.with_live(t, now, adm, |line, concert_id, id| {
            line.place(id).map(|(user_id, place)| GateTicket {
                user_id,
                concert_id,
                active: matches!(place, Place::Active { .. }),
            })
        })?
        .ok_or(Error::QueueTokenExpired)
    }

    async fn leave(&self, t: Verified<'_>, adm: &Admission) -> Result<()> {
        let now = adm.now;
        self.with_live(t, now, adm, |line, concert_id, id| {
            line.remove(id);
            line.maintain(now, &self.config.with(adm), BUDGET);
            self.notifier.bump(concert_id);
        })
    }

    async fn finish(&self, user_id: Uuid, concert_id: Uuid, adm: &Admission) -> Result<()> {
        let now = adm.now;
        let Some(line) = self.line(concert_id) else {
            return Ok(());
        };
        let mut line = line.lock();
        if let Some(id) = line.ticket_of(user_id) {
            line.remove(id);
            line.maintain(now, &self.config.with(adm), BUDGET);
            self.notifier.bump(concert_id);
        }
        Ok(())
    }

    async fn tick(&self, concert_id: Uuid, adm: &Admission) -> Result<()> {
        let now = adm.now;
        if let Some(line) = self.line(concert_id) {
            self.maintain(&mut line.lock(), concert_id, now, adm);
        }
        Ok(())
    }

    async fn concerts(&self) -> Result<Vec<Uuid>> {
        Ok(self.lines.read().keys().copied().collect())
    }

    async fn draw_list(&self, concert_id: Uuid) -> Result<(bool, Vec<TicketId>)> {
        Ok(self
            .line(concert_id)
            .map_or((false, Vec::new()), |l| l.lock().draw_list()))
    }

    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        self.notifier.subscribe(concert_id)
    }

    async fn size(&self, concert_id: Uuid, now: Millis) -> Result<QueueSize> {
        let (waiting, active, admitted) = self.line(concert_id).map_or((0, 0, 0), |l| {
            let l = l.lock();
            (
                l.waiting_count(),
                u64::from(l.active_count()),
                l.rate.last_minute(now),
            )
        });
        Ok(QueueSize {
            concert_id,
            waiting,
            active,
            admitted_per_minute: admitted,
        })
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
