//! Seats this instance has just seen taken, so a crowd clicking one seat loses without a
//! database call once the winner's hold is committed.
//!
//! Only ever used to say "no": every win is still decided by the database's conditional update.
//! An entry lasts until the hold's `heldUntil` or one second, whichever is sooner, and a cancel
//! through this instance removes it at once. A cancel through another instance can therefore
//! make this one answer SEAT_UNAVAILABLE for at most a second after the seat came free, which a
//! fan cannot tell from losing the race to it.

use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::clock::Millis;

/// How long another instance's cancel can go unnoticed here.
const TRUST_MS: Millis = 1000;
/// Seats remembered at most; the oldest are forgotten first, which only costs a database read.
const CAPACITY: usize = 100_000;

pub struct TakenSeats(Cache<(Uuid, i64), Millis>);

impl Default for TakenSeats {
    fn default() -> Self {
        TakenSeats(Cache::new(CAPACITY))
    }
}

impl TakenSeats {
    /// Whether a hold committed here moments ago still covers the seat.
    pub fn is_taken(&self, schedule: Uuid, seat: i64, now: Millis) -> bool {
        self.0
            .get(&(schedule, seat))
            .is_some_and(|until| until > now)
    }

    /// A hold on the seat was committed.
    pub fn held(&self, schedule: Uuid, seat: i64, held_until: Millis, now: Millis) {
        self.0
            .insert((schedule, seat), held_until.min(now + TRUST_MS));
    }

    /// The seat was released (cancelled) through this instance.
    pub fn freed(&self, schedule: Uuid, seat: i64) {
        self.0.remove(&(schedule, seat));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_taken_seat_is_trusted_until_the_hold_lapses_or_a_second_passes() {
        let taken = TakenSeats::default();
        let (s, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(!taken.is_taken(s, 1, 0));
        taken.held(s, 1, 500, 0);
        assert!(taken.is_taken(s, 1, 499));
        assert!(!taken.is_taken(s, 1, 500), "the hold lapses at heldUntil");
        assert!(!taken.is_taken(s, 2, 0) && !taken.is_taken(other, 1, 0));
        taken.held(s, 1, 600_000, 0);
        assert!(taken.is_taken(s, 1, TRUST_MS - 1));
        assert!(
            !taken.is_taken(s, 1, TRUST_MS),
            "trusted for a second at most"
        );
    }

    #[test]
    fn a_cancel_here_frees_the_seat_at_once() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        taken.held(s, 7, 600_000, 0);
        taken.freed(s, 7);
        assert!(!taken.is_taken(s, 7, 1));
    }
}
