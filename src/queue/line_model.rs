//! Property tests: the embedded line (and its Fenwick tree) against naive models, over random
//! joins, leaves, heartbeats, admissions, expiries and snapshot round trips.

use proptest::prelude::*;
use uuid::Uuid;

use super::QueueConfig;
use super::fenwick::Fenwick;
use super::line::{Line, Place};
use super::token::TicketId;
use crate::clock::Millis;

/// Large enough that one `maintain` always finishes its work, as the model does.
const BUDGET: usize = 1 << 20;

/// A ticket as the model keeps it, in join order.
#[derive(Clone)]
struct Ticket {
    id: TicketId,
    user: usize,
    /// In the pre-queue (before the draw), outside the line.
    pre: bool,
    active: bool,
    /// The last heartbeat while waiting; the end of the ACTIVE time once admitted.
    at: Millis,
}

/// The queue's rules written as plainly as possible: a vector in join order, scanned.
struct Model {
    tickets: Vec<Ticket>,
    drawn: bool,
}

impl Model {
    /// The draw: the pre-queue joins the line in `order`'s order, ahead of later joins.
    fn draw(&mut self, now: Millis, order: &[TicketId]) {
        if self.drawn {
            return;
        }
        self.drawn = true;
        for &id in order {
            let i = self.tickets.iter().position(|t| t.id == id).unwrap();
            let mut t = self.tickets.remove(i);
            t.pre = false;
            t.at = now;
            self.tickets.push(t);
        }
    }

    fn maintain(&mut self, now: Millis, cfg: &QueueConfig) {
        self.tickets.retain(|t| {
            if t.pre {
                true
            } else if t.active {
                t.at > now
            } else {
                t.at + cfg.idle_timeout > now
            }
        });
        let active = self.tickets.iter().filter(|t| t.active).count();
        let free = (cfg.active_limit as usize).saturating_sub(active);
        for t in self
            .tickets
            .iter_mut()
            .filter(|t| !t.active && !t.pre)
            .take(free)
        {
            t.active = true;
            t.at = now + cfg.active_ttl;
        }
    }

    fn place(&self, id: TicketId) -> Option<Place> {
        let mut position = 0;
        for t in &self.tickets {
            if !t.active && !t.pre {
                position += 1;
            }
            if t.id == id {
                return Some(if t.pre {
                    Place::PreQueue
                } else if t.active {
                    Place::Active { until: t.at }
                } else {
                    Place::Waiting(position)
                });
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
enum Op {
    /// A fan (of a small crowd, so fans come back) joins unless they hold a ticket.
    Join(usize),
    /// A fan joins before the on-sale time: the pre-queue until the draw, the line after it.
    JoinPre(usize),
    /// The on-sale time: the pre-queue is drawn (once).
    Draw,
    /// The n-th live ticket (modulo) leaves, pays or is dropped.
    Leave(usize),
    /// The n-th live ticket polls.
    Heartbeat(usize),
    Advance(Millis),
    Maintain,
    /// A graceful restart: the line saved and restored into a fresh one.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..40usize).prop_map(Op::Join),
        2 => (0..40usize).prop_map(Op::JoinPre),
        1 => Just(Op::Draw),
        2 => any::<usize>().prop_map(Op::Leave),
        2 => any::<usize>().prop_map(Op::Heartbeat),
        2 => (0..400 as Millis).prop_map(Op::Advance),
        3 => Just(Op::Maintain),
        1 => Just(Op::Restart),
    ]
}

fn config() -> impl Strategy<Value = QueueConfig> {
    (1..5u32, 100..2000 as Millis, 100..1000 as Millis).prop_map(|(limit, ttl, idle)| QueueConfig {
        active_limit: limit,
        active_ttl: ttl,
        idle_timeout: idle,
        admit_per_minute: None,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn the_line_answers_as_the_naive_model(
        cfg in config(),
        ops in proptest::collection::vec(op(), 1..400),
    ) {
        let users: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
        let mut line = Line::default();
        let mut model = Model { tickets: Vec::new(), drawn: false };
        let mut now: Millis = 1_000;
        let mut next_id: TicketId = 1;
        let mut issued = Vec::new();
        for op in ops {
            match op {
                Op::Join(u) => {
                    if line.ticket_of(users[u]).is_none() {
                        line.join(next_id, users[u], now, &cfg);
                        model.tickets.push(Ticket { id: next_id, user: u, pre: false, active: false, at: now });
                        issued.push(next_id);
                        next_id += 1;
                    }
                }
                Op::JoinPre(u) => {
                    if line.ticket_of(users[u]).is_none() {
                        line.join_pre(next_id, users[u], now, &cfg);
                        let pre = !model.drawn;
                        model.tickets.push(Ticket { id: next_id, user: u, pre, active: false, at: now });
                        issued.push(next_id);
                        next_id += 1;
                    }
                }
                Op::Draw => {
                    let mut order = Vec::new();
                    line.draw(now, &cfg, |ids| {
                        order = super::draw::order(&[9; 32], ids);
                        order.clone()
                    });
                    model.draw(now, &order);
                }
                Op::Leave(n) if !model.tickets.is_empty() => {
                    let t = model.tickets.remove(n % model.tickets.len());
                    prop_assert!(line.remove(t.id));
                    prop_assert!(!line.remove(t.id), "a ticket leaves once");
                }
                Op::Heartbeat(n) if !model.tickets.is_empty() => {
                    let i = n % model.tickets.len();
                    let t = &mut model.tickets[i];
                    line.heartbeat(t.id, now);
                    if !t.active && !t.pre {
                        t.at = now;
                    }
                }
                Op::Advance(ms) => now += ms,
                Op::Maintain => {
                    line.maintain(now, &cfg, BUDGET);
                    model.maintain(now, &cfg);
                }
                Op::Restart => {
                    let saved = line.saved();
                    let drawn = line.drawn().map(<[TicketId]>::to_vec);
                    line = Line::default();
                    for t in saved {
                        line.restore(t, now, &cfg);
                    }
                    if let Some(drawn) = drawn {
                        line.restore_drawn(drawn);
                    }
                    for t in model.tickets.iter_mut().filter(|t| !t.active && !t.pre) {
                        t.at = now;
                    }
                }
                Op::Leave(_) | Op::Heartbeat(_) => {}
            }
            let waiting = model.tickets.iter().filter(|t| !t.active && !t.pre).count() as u64;
            let active = model.tickets.iter().filter(|t| t.active).count();
            prop_assert_eq!(line.waiting_count(), waiting);
            prop_assert_eq!(line.active_count() as usize, active);
            for &id in &issued {
                let got = line.place(id).map(|(_, place)| place);
                prop_assert_eq!(got, model.place(id), "ticket {} after {:?}", id, op);
            }
            for t in &model.tickets {
                prop_assert_eq!(line.ticket_of(users[t.user]), Some(t.id));
            }
        }
    }

    #[test]
    fn the_fenwick_tree_sums_as_a_plain_vector(
        ops in proptest::collection::vec((0..3u8, any::<usize>()), 1..600),
    ) {
        let mut tree = Fenwick::new();
        let mut plain: Vec<u32> = Vec::new();
        for (kind, n) in ops {
            match kind {
                0 => {
                    let value = (n % 2) as u32;
                    tree.push(value);
                    plain.push(value);
                }
                1 if !plain.is_empty() => {
                    let i = n % plain.len();
                    let delta = if plain[i] == 0 { 1 } else { -1 };
                    plain[i] = plain[i].wrapping_add_signed(delta);
                    tree.add(i, delta);
                }
                _ if !plain.is_empty() => {
                    let i = n % plain.len();
                    prop_assert_eq!(tree.prefix(i), plain[..=i].iter().sum::<u32>());
                }
                _ => {}
            }
            prop_assert_eq!(tree.len(), plain.len());
        }
        let rebuilt = Fenwick::with_ones(plain.len());
        for i in 0..plain.len() {
            prop_assert_eq!(rebuilt.prefix(i), i as u32 + 1);
        }
    }
}
