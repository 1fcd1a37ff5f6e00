//! Which tickets this instance sent a heartbeat for lately, so that a crowd refreshing its page
//! costs Redis one heartbeat write per ticket and interval instead of a lookup on every poll.
//!
//! Two generations of ticket ids, swapped on the first poll an interval after the last swap: a
//! ticket in either got its heartbeat from this instance less than three intervals ago. The
//! interval is at most a second and a tenth of the idle timeout, so a polling waiter's heartbeat
//! is never a third of the idle timeout late, and the sets hold only recently polled tickets.
//! A heartbeat lost with a failed script call is sent again within the same bound.

use std::collections::HashSet;

use parking_lot::Mutex;

use super::token::TicketId;
use crate::clock::Millis;

pub struct Beats {
    interval: Millis,
    inner: Mutex<Generations>,
}

#[derive(Default)]
struct Generations {
    since: Millis,
    current: HashSet<u64>,
    previous: HashSet<u64>,
}

impl Beats {
    /// Heartbeats at most once per `min(1 s, idle timeout / 10)` per ticket.
    pub fn new(idle_timeout: Millis) -> Self {
        Beats {
            interval: (idle_timeout / 10).clamp(1, 1000),
            inner: Mutex::default(),
        }
    }

    /// Whether this poll of `id` should carry its heartbeat; if so, it is remembered as sent.
    pub fn due(&self, id: TicketId, now: Millis) -> bool {
        // Ticket ids are random and signed, so their low 64 bits are as good a key as all 128.
        let key = id as u64;
        let mut g = self.inner.lock();
        if now - g.since >= self.interval {
            if now - g.since >= 2 * self.interval {
                g.previous.clear();
                g.current.clear();
            } else {
                let g = &mut *g;
                std::mem::swap(&mut g.current, &mut g.previous);
                g.current.clear();
            }
            g.since = now;
        }
        if g.previous.contains(&key) {
            return false;
        }
        g.current.insert(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_gets_one_heartbeat_per_interval_or_two() {
        let beats = Beats::new(10_000); // an interval of one second
        let (a, b) = (1u128, 2u128);
        assert!(beats.due(a, 5_000));
        assert!(!beats.due(a, 5_500), "within the interval");
        assert!(beats.due(b, 5_500), "another ticket is its own");
        assert!(!beats.due(a, 6_200), "the previous generation still counts");
        assert!(beats.due(a, 7_300), "two intervals on, it is due again");
        assert!(!beats.due(a, 7_400));
        assert!(beats.due(a, 20_000), "a long pause forgets everything");
    }

    #[test]
    fn the_interval_follows_a_short_idle_timeout() {
        let beats = Beats::new(700);
        assert!(beats.due(9, 1_000));
        assert!(!beats.due(9, 1_060));
        assert!(beats.due(9, 1_150), "an interval of 70 ms");
    }
}
