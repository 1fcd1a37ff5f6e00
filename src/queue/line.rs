//! One concert's waiting line in memory, for the embedded queue.
//!
//! Per operation: a hash lookup, a Fenwick-tree prefix sum for the position (O(log n)), and
//! amortised O(1) expiry work taken from the fronts of ordered structures — never a scan of the
//! line. About 130 bytes a waiter: ids are stored as two `u64`s (a `u128` would pad every pair to
//! 32 bytes), and the line's concert is not repeated per ticket.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use uuid::Uuid;

use super::QueueConfig;
use super::fenwick::Fenwick;
use super::growth::{ShardKey, ShardedMap};
use super::rate::AdmissionRate;
use super::token::TicketId;
use crate::clock::Millis;

/// A ticket id with 8-byte alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid([u64; 2]);

impl From<TicketId> for Tid {
    fn from(id: TicketId) -> Self {
        Tid([(id >> 64) as u64, id as u64])
    }
}

impl ShardKey for Tid {
    fn bits(&self) -> (u64, u64) {
        (self.0[0], self.0[1])
    }
}

impl ShardKey for Uuid {
    fn bits(&self) -> (u64, u64) {
        self.as_u64_pair()
    }
}

impl From<Tid> for TicketId {
    fn from(t: Tid) -> Self {
        (u128::from(t.0[0]) << 64) | u128::from(t.0[1])
    }
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    user: Uuid,
    /// Join sequence number; Fenwick slot `seq - base` while waiting.
    seq: u64,
    /// The last heartbeat while waiting; `activeUntil` once active.
    at: Millis,
    active: bool,
    /// In the pre-queue: not in line until the draw.
    pre: bool,
}

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// Joined before the on-sale time; placed by the draw.
    PreQueue,
    /// 1-based among those still waiting.
    Waiting(u64),
    Active {
        until: Millis,
    },
}

/// A ticket as a snapshot keeps it: `at` as in `Entry`.
#[derive(Debug, Clone, Copy)]
pub struct SavedTicket {
    pub id: TicketId,
    pub user: Uuid,
    pub active: bool,
    pub at: Millis,
    pub pre: bool,
}

#[derive(Default)]
pub struct Line {
    tickets: ShardedMap<Tid, Entry>,
    by_user: ShardedMap<Uuid, Tid>,
    base: u64,
    /// 1 per ticket that is still WAITING, at slot `seq - base`.
    waiting: Fenwick,
    waiting_count: u64,
    /// Join order; tickets that left are skipped when they reach the front.
    order: VecDeque<Tid>,
    /// Admission order, which with one TTL is also expiry order.
    active: VecDeque<(Millis, Tid)>,
    active_count: u32,
    /// Idle deadlines; a ticket polled since is pushed again with its new deadline.
    idle: BinaryHeap<Reverse<(Millis, Tid)>>,
    pub rate: AdmissionRate,
    /// The pre-queue in join order (tickets that left are skipped at the draw).
    pre: Vec<Tid>,
    /// The drawn order of the pre-queue, once drawn.
    drawn: Option<Vec<TicketId>>,
}

impl Line {
    fn next_seq(&self) -> u64 {
        self.base + self.waiting.len() as u64
    }

    pub fn waiting_count(&self) -> u64 {
        self.waiting_count
    }

    pub fn active_count(&self) -> u32 {
        self.active_count
    }

    pub fn ticket_of(&self, user: Uuid) -> Option<TicketId> {
        self.by_user.get(&user).map(|&t| t.into())
    }

    /// The owner and place of a live ticket.
    pub fn place(&self, id: TicketId) -> Option<(Uuid, Place)> {
        let e = self.tickets.get(&id.into())?;
        let place = if e.pre {
            Place::PreQueue
        } else if e.active {
            Place::Active { until: e.at }
        } else {
            Place::Waiting(u64::from(self.waiting.prefix((e.seq - self.base) as usize)))
        };
        Some((e.user, place))
    }

    /// A new PRE_QUEUE ticket, or a WAITING one once the draw is done; the user must not have
    /// a ticket in this line.
    pub fn join_pre(&mut self, id: TicketId, user: Uuid, now: Millis, cfg: &QueueConfig) {
        if self.drawn.is_some() {
            return self.join(id, user, now, cfg);
        }
        let tid = Tid::from(id);
        self.pre.push(tid);
        self.tickets.insert(
            tid,
            Entry {
                user,
                seq: 0,
                at: now,
                active: false,
                pre: true,
            },
        );
        self.by_user.insert(user, tid);
    }

    /// The draw, once: every PRE_QUEUE ticket joins the line in the order `order` gives them,
    /// ahead of anyone who joins later; each gets a fresh heartbeat. Returns whether it drew.
    pub fn draw(
        &mut self,
        now: Millis,
        cfg: &QueueConfig,
        order: impl FnOnce(Vec<TicketId>) -> Vec<TicketId>,
    ) -> bool {
        if self.drawn.is_some() {
            return false;
        }
        let live: Vec<TicketId> = std::mem::take(&mut self.pre)
            .into_iter()
            .filter(|t| self.tickets.get(t).is_some_and(|e| e.pre))
            .map(TicketId::from)
            .collect();
        let drawn = order(live);
        for &id in &drawn {
            let tid = Tid::from(id);
            let seq = self.next_seq();
            if let Some(e) = self.tickets.get_mut(&tid) {
                e.pre = false;
                e.seq = seq;
                e.at = now;
                self.waiting.push(1);
                self.waiting_count += 1;
                self.order.push_back(tid);
                self.idle.push(Reverse((now + cfg.idle_timeout, tid)));
            }
        }
        self.drawn = Some(drawn);
        true
    }

    /// The pre-queue's drawn order, or its tickets in join order before the draw.
    pub fn draw_list(&self) -> (bool, Vec<TicketId>) {
        match &self.drawn {
            Some(d) => (true, d.clone()),
            None => (
                false,
                self.pre
                    .iter()
                    .filter(|t| self.tickets.get(t).is_some_and(|e| e.pre))
                    .map(|&t| t.into())
                    .collect(),
            ),
        }
    }

    /// A new WAITING ticket at the back; the user must not have one in this line.
    pub fn join(&mut self, id: TicketId, user: Uuid, now: Millis, cfg: &QueueConfig) {
        let tid = Tid::from(id);
        let seq = self.next_seq();
        self.waiting.push(1);
        self.waiting_count += 1;
        self.order.push_back(tid);
        self.idle.push(Reverse((now + cfg.idle_timeout, tid)));
        self.tickets.insert(
            tid,
            Entry {
                user,
                seq,
                at: now,
                active: false,
                pre: false,
            },
        );
        self.by_user.insert(user, tid);
    }

    pub fn heartbeat(&mut self, id: TicketId, now: Millis) {
        if let Some(e) = self.tickets.get_mut(&id.into())
            && !e.active
            && !e.pre
        {
            e.at = now;
        }
    }

    /// Removes a ticket wherever it stands; false if it was not live.
    pub fn remove(&mut self, id: TicketId) -> bool {
        let tid = Tid::from(id);
        let Some(e) = self.tickets.remove(&tid) else {
            return false;
        };
        if self.by_user.get(&e.user) == Some(&tid) {
            self.by_user.remove(&e.user);
        }
        if e.pre {
            // Left in `pre`; the draw skips it.
        } else if e.active {
            self.active_count -= 1;
        } else {
            self.waiting.add((e.seq - self.base) as usize, -1);
            self.waiting_count -= 1;
        }
        true
    }

    /// Expires what is due (active TTL, idle waiters) and admits waiters into free slots in join
    /// order, at most `budget` tickets per kind of work. Returns whether anything changed.
    pub fn maintain(&mut self, now: Millis, cfg: &QueueConfig, budget: usize) -> bool {
        let mut changed = false;
        for _ in 0..budget {
            let Some(&(until, tid)) = self.active.front() else {
                break;
            };
            if until > now {
                break;
            }
            self.active.pop_front();
            if self
                .tickets
                .get(&tid)
                .is_some_and(|e| e.active && e.at == until)
            {
                self.remove(tid.into());
                changed = true;
            }
        }
        for _ in 0..budget {
            let Some(&Reverse((deadline, tid))) = self.idle.peek() else {
                break;
            };
            if deadline > now {
                break;
            }
            self.idle.pop();
            let Some(e) = self.tickets.get(&tid) else {
                continue;
            };
            if e.active || e.pre {
                continue;
            }
            if e.at + cfg.idle_timeout <= now {
                self.remove(tid.into());
                changed = true;
            } else {
                self.idle.push(Reverse((e.at + cfg.idle_timeout, tid)));
            }
        }
        let mut admitted = 0;
        // A cap on admissions per minute leaves what this minute's count allows.
        let budget = match cfg.admit_per_minute {
            Some(cap) => budget.min(cap.saturating_sub(self.rate.this_minute(now) as u32) as usize),
            None => budget,
        };
        while self.active_count < cfg.active_limit && admitted < budget {
            let Some(tid) = self.order.pop_front() else {
                break;
            };
            let Some(e) = self.tickets.get_mut(&tid) else {
                continue;
            };
            if e.active || e.pre {
                continue;
            }
            e.active = true;
            e.at = now + cfg.active_ttl;
            let slot = (e.seq - self.base) as usize;
            self.waiting.add(slot, -1);
            self.waiting_count -= 1;
            self.active_count += 1;
            self.active.push_back((now + cfg.active_ttl, tid));
            admitted += 1;
        }
        if admitted > 0 {
            self.rate.record(admitted as u64, now);
            changed = true;
        }
        self.compact_if_sparse(cfg);
        changed
    }

    /// Tickets that left mid-line stay in `order` and the idle heap until they reach the front,
    /// and every ticket ever admitted keeps its (zero) slot in the Fenwick tree. When any of the
    /// three outgrows twice the live waiters, rebuild (O(n), amortised O(1)), so a line's memory
    /// follows its size under join/leave churn and under a steady flow of admissions alike.
    fn compact_if_sparse(&mut self, cfg: &QueueConfig) {
        let live = self.waiting_count as usize;
        let sparse = |n: usize| n > 2 * live + 1024;
        if !sparse(self.order.len()) && !sparse(self.idle.len()) && !sparse(self.waiting.len()) {
            return;
        }
        let waiting: Vec<Tid> = self
            .order
            .iter()
            .copied()
            .filter(|t| self.tickets.get(t).is_some_and(|e| !e.active && !e.pre))
            .collect();
        self.base = self.next_seq();
        self.waiting = Fenwick::with_ones(waiting.len());
        let mut idle = Vec::with_capacity(waiting.len());
        for (i, tid) in waiting.iter().enumerate() {
            let e = self.tickets.get_mut(tid).expect("filtered above");
            e.seq = self.base + i as u64;
            idle.push(Reverse((e.at + cfg.idle_timeout, *tid)));
        }
        self.idle = BinaryHeap::from(idle);
        self.order = waiting.into_iter().collect();
    }

    /// Every live ticket, waiting ones in join order, then the pre-queue in join order, for
    /// the shutdown snapshot.
    pub fn saved(&self) -> Vec<SavedTicket> {
        let saved = |tid: Tid, e: &Entry| SavedTicket {
            id: tid.into(),
            user: e.user,
            active: e.active,
            at: e.at,
            pre: e.pre,
        };
        let mut all: Vec<(u64, SavedTicket)> = self
            .tickets
            .iter()
            .filter(|(_, e)| !e.pre)
            .map(|(&tid, e)| (e.seq, saved(tid, e)))
            .collect();
        all.sort_by_key(|(seq, _)| *seq);
        let pre = self
            .pre
            .iter()
            .filter_map(|&t| self.tickets.get(&t).filter(|e| e.pre).map(|e| saved(t, e)));
        all.into_iter().map(|(_, s)| s).chain(pre).collect()
    }

    /// The drawn order, once drawn (for the shutdown snapshot).
    pub fn drawn(&self) -> Option<&[TicketId]> {
        self.drawn.as_deref()
    }

    /// Puts the drawn order back, after the tickets.
    pub fn restore_drawn(&mut self, drawn: Vec<TicketId>) {
        self.drawn = Some(drawn);
    }

    /// Puts a saved ticket back; waiters get a fresh heartbeat, so downtime does not count
    /// against their idle timeout.
    pub fn restore(&mut self, t: SavedTicket, now: Millis, cfg: &QueueConfig) {
        if t.active {
            let tid = Tid::from(t.id);
            let seq = self.next_seq();
            self.waiting.push(0);
            self.tickets.insert(
                tid,
                Entry {
                    user: t.user,
                    seq,
                    at: t.at,
                    active: true,
                    pre: false,
                },
            );
            self.by_user.insert(t.user, tid);
            self.active_count += 1;
            let at = self.active.partition_point(|&(until, _)| until <= t.at);
            self.active.insert(at, (t.at, tid));
        } else if t.pre {
            self.join_pre(t.id, t.user, now, cfg);
        } else {
            self.join(t.id, t.user, now, cfg);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CFG: QueueConfig = QueueConfig {
        active_limit: 2,
        active_ttl: 1000,
        idle_timeout: 500,
        admit_per_minute: None,
    };

    fn line_of(n: u128) -> (Line, Vec<Uuid>) {
        let mut line = Line::default();
        let users: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
        for (i, u) in users.iter().enumerate() {
            line.join(i as u128 + 1, *u, 0, &CFG);
        }
        (line, users)
    }

    #[test]
    fn admits_in_join_order_up_to_the_cap_and_refills() {
        let (mut line, users) = line_of(5);
        assert!(line.maintain(0, &CFG, 100));
        assert_eq!(
            line.place(1).unwrap(),
            (users[0], Place::Active { until: 1000 })
        );
        assert_eq!(line.place(2).unwrap().1, Place::Active { until: 1000 });
        assert_eq!(line.place(3).unwrap().1, Place::Waiting(1));
        assert_eq!(line.place(5).unwrap().1, Place::Waiting(3));
        assert!(line.remove(1));
        line.maintain(10, &CFG, 100);
        assert_eq!(line.place(3).unwrap().1, Place::Active { until: 1010 });
        assert_eq!(line.place(4).unwrap().1, Place::Waiting(1));
        assert_eq!(line.ticket_of(users[0]), None);
    }

    #[test]
    fn active_ttl_and_idle_timeout_expire_exactly_when_due() {
        let (mut line, _) = line_of(4);
        line.maintain(0, &CFG, 100);
        line.heartbeat(4, 400);
        line.maintain(499, &CFG, 100);
        assert!(line.place(3).is_some());
        line.maintain(500, &CFG, 100);
        assert!(line.place(3).is_none(), "idle for 500 ms");
        assert_eq!(
            line.place(4).unwrap().1,
            Place::Waiting(1),
            "its heartbeat kept it"
        );
        line.heartbeat(4, 950);
        line.maintain(1000, &CFG, 100);
        assert!(
            line.place(1).is_none() && line.place(2).is_none(),
            "TTL over"
        );
        assert_eq!(line.place(4).unwrap().1, Place::Active { until: 2000 });
    }

    #[test]
    fn churn_does_not_grow_the_line() {
        let mut line = Line::default();
        let cfg = QueueConfig {
            active_limit: 1,
            active_ttl: 1_000_000,
            idle_timeout: 1_000_000,
            admit_per_minute: None,
        };
        line.join(1, Uuid::now_v7(), 0, &cfg);
        line.maintain(0, &cfg, 100);
        let stay = Uuid::now_v7();
        line.join(2, stay, 0, &cfg);
        for i in 0..100_000u128 {
            line.join(10 + i, Uuid::now_v7(), 0, &cfg);
            line.remove(10 + i);
            line.maintain(0, &cfg, 100);
        }
        assert!(
            line.order.len() < 3000 && line.waiting.len() < 3000,
            "{}",
            line.order.len()
        );
        assert_eq!(line.place(2).unwrap().1, Place::Waiting(1));
        line.join(7, Uuid::now_v7(), 0, &cfg);
        assert_eq!(line.place(7).unwrap().1, Place::Waiting(2));
    }

    #[test]
    fn a_steady_flow_of_admissions_does_not_grow_the_line() {
        let mut line = Line::default();
        let cfg = QueueConfig {
            active_limit: 1,
            active_ttl: 1_000_000,
            idle_timeout: 50,
            admit_per_minute: None,
        };
        line.join(1, Uuid::now_v7(), 0, &cfg);
        line.maintain(0, &cfg, 100);
        // One fan joins each millisecond and is admitted once the one before is done: the idle
        // heap stays short (deadlines pass) while every join leaves a zero slot in the Fenwick
        // tree, which compaction must reclaim.
        for i in 0..100_000u128 {
            let now = i as Millis;
            line.join(10 + i, Uuid::now_v7(), now, &cfg);
            let active = if i == 0 { 1 } else { 9 + i };
            assert!(line.remove(active));
            line.maintain(now, &cfg, 100);
            let until = now + cfg.active_ttl;
            assert_eq!(line.place(10 + i).unwrap().1, Place::Active { until });
        }
        assert!(line.waiting.len() < 3000, "{}", line.waiting.len());
        line.join(7, Uuid::now_v7(), 100_000, &cfg);
        assert_eq!(line.place(7).unwrap().1, Place::Waiting(1));
    }

    #[test]
    fn ids_survive_the_narrower_layout() {
        let id: TicketId = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210;
        assert_eq!(TicketId::from(Tid::from(id)), id);
        assert_eq!(std::mem::size_of::<(u64, Tid)>(), 24);
    }
}
