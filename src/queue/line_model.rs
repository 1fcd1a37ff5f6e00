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
    active: bool,
    /// The last heartbeat while waiting; the end of the ACTIVE time once admitted.
    at: Millis,
}

/// The queue's rules written as plainly as possible: a vector in join order, scanned.
struct Model {
    tickets: Vec<Ticket>,
}

impl Model {
    fn maintain(&mut self, now: Millis, cfg: &QueueConfig) {
        self.tickets.retain(|t| {
            if t.active {
                t.at > now
            } else {
                t.at + cfg.idle_timeout > now
            }
        });
        let active = self.tickets.iter().filter(|t| t.active).count();
        let free = (cfg.active_limit as usize).saturating_sub(active);
        for t in self.tickets.iter_mut().filter(|t| !t.active).take(free) {
            t.active = true;
            t.at = now + cfg.active_ttl;
        }
    }

    fn place(&self, id: TicketId) -> Option<Place> {
        let mut position = 0;
        for t in &self.tickets {
            if !t.active {
                position += 1;
            }
            if t.id == id {
                return Some(if t.active {
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
        let mut model = Model { tickets: Vec::new() };
        let mut now: Millis = 1_000;
        let mut next_id: TicketId = 1;
        let mut issued = Vec::new();
        for op in ops {
            match op {
                Op::Join(u) => {
                    if line.ticket_of(users[u]).is_none() {
                        line.join(next_id, users[u], now, &cfg);
                        model.tickets.push(Ticket { id: next_id, user: u, active: false, at: now });
                        issued.push(next_id);
                        next_id += 1;
                    }
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
                    if !t.active {
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
                    line = Line::default();
                    for t in saved {
                        line.restore(t, now, &cfg);
                    }
                    for t in model.tickets.iter_mut().filter(|t| !t.active) {
                        t.at = now;
                    }
                }
                Op::Leave(_) | Op::Heartbeat(_) => {}
            }
            let waiting = model.tickets.iter().filter(|t| !t.active).count() as u64;
            prop_assert_eq!(line.waiting_count(), waiting);
            prop_assert_eq!(line.active_count() as usize, model.tickets.len() - waiting as usize);
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
