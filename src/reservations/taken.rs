//! Seats this instance has just seen taken, so a crowd clicking one seat loses without a
//! database call once the winner's hold is committed — and, while one hold on a seat is on its
//! way to the database, the others clicking that seat through this instance wait for its answer
//! instead of each queueing for the database behind it.
//!
//! Only ever used to say "no": every win is still decided by the database's conditional update.
//! An entry lasts until the hold's `heldUntil` or one second, whichever is sooner, and a cancel
//! through this instance removes it at once. A cancel through another instance can therefore
//! make this one answer SEAT_UNAVAILABLE for at most a second after the seat came free, which a
//! fan cannot tell from losing the race to it.

use std::collections::HashMap;

use parking_lot::Mutex;
use quick_cache::sync::Cache;
use tokio::sync::watch;
use uuid::Uuid;

use crate::clock::{self, Millis};

type Seat = (Uuid, i64);

/// What a hold on a seat should do, given what this instance knows about that seat.
pub enum Turn<'a> {
    /// A hold committed here covers the seat: lose without asking the database.
    Taken,
    /// Ask the database; keep the guard until the answer is recorded, so that others clicking the
    /// same seat meanwhile wait for it rather than queue for the database.
    Lead(InFlight<'a>),
    /// The hold that was in flight did not take the seat (its fan hit the hold limit, or the
    /// database failed) or has not answered within `WAIT_MAX`: ask the database without waiting
    /// again.
    Ask,
}

/// A hold on its way to the database; dropping it lets the holds waiting on its seats go on.
pub struct InFlight<'a> {
    seats: &'a TakenSeats,
    schedule: Uuid,
    numbers: Vec<i64>,
    /// Never sent on: waiters learn that the hold is done when this is dropped.
    _done: watch::Sender<()>,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        // Only this guard's hold inserted these entries, and no other removes them.
        let mut in_flight = self.seats.in_flight.lock();
        for &n in &self.numbers {
            in_flight.remove(&(self.schedule, n));
        }
    }
}

/// How long another instance's cancel can go unnoticed here.
const TRUST_MS: Millis = 1000;
/// Seats remembered at most; the oldest are forgotten first, which only costs a database read.
const CAPACITY: usize = 100_000;
/// Longest a click waits on another hold of its seat (one takes milliseconds): past this, with
/// a database that hangs, it asks for itself rather than add the other's timeout to its own.
const WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(1);

pub struct TakenSeats {
    /// Seat → until when it is trusted taken, and by whom.
    recent: Cache<Seat, (Millis, Uuid)>,
    /// Seats with a hold through this instance on its way to the database.
    in_flight: Mutex<HashMap<Seat, watch::Receiver<()>>>,
}

impl Default for TakenSeats {
    fn default() -> Self {
        TakenSeats {
            recent: Cache::new(CAPACITY),
            in_flight: Mutex::default(),
        }
    }
}

impl TakenSeats {
    /// Whether to ask the database for these seats (one order) now. Waits, at most once, for a
    /// hold on one of them that is already on its way there (a hot seat's crowd then costs one
    /// database call per instance, not one per click), then answers from what that hold left
    /// behind.
    ///
    /// A seat this instance saw `fan` take is not "taken" for `fan`: their same order sent
    /// again goes to the database, which answers with their reservation.
    pub async fn turn(&self, schedule: Uuid, numbers: &[i64], fan: Uuid) -> Turn<'_> {
        let taken = |now| {
            numbers
                .iter()
                .any(|&n| self.taken_by(schedule, n, now).is_some_and(|by| by != fan))
        };
        if taken(clock::now()) {
            return Turn::Taken;
        }
        let mut done = {
            let mut in_flight = self.in_flight.lock();
            match numbers
                .iter()
                .find_map(|&n| in_flight.get(&(schedule, n)).cloned())
            {
                Some(rx) => rx,
                None => {
                    let (tx, rx) = watch::channel(());
                    for &n in numbers {
                        in_flight.insert((schedule, n), rx.clone());
                    }
                    return Turn::Lead(InFlight {
                        seats: self,
                        schedule,
                        numbers: numbers.to_vec(),
                        _done: tx,
                    });
                }
            }
        };
        // Nothing is ever sent: this returns when the hold in flight is done and its guard gone.
        let _ = tokio::time::timeout(WAIT_MAX, done.changed()).await;
        if taken(clock::now()) {
            Turn::Taken
        } else {
            Turn::Ask
        }
    }

    /// The fan whose hold, committed here moments ago, still covers the seat.
    pub fn taken_by(&self, schedule: Uuid, seat: i64, now: Millis) -> Option<Uuid> {
        self.recent
            .get(&(schedule, seat))
            .filter(|&(until, _)| until > now)
            .map(|(_, fan)| fan)
    }

    /// `fan`'s hold on these seats was committed.
    pub fn held(
        &self,
        schedule: Uuid,
        numbers: &[i64],
        fan: Uuid,
        held_until: Millis,
        now: Millis,
    ) {
        for &n in numbers {
            self.recent
                .insert((schedule, n), (held_until.min(now + TRUST_MS), fan));
        }
    }

    /// The seats were released (cancelled) through this instance.
    pub fn freed(&self, schedule: Uuid, numbers: &[i64]) {
        for &n in numbers {
            self.recent.remove(&(schedule, n));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAN: Uuid = Uuid::from_u128(1);
    const OTHER: Uuid = Uuid::from_u128(2);

    #[test]
    fn a_taken_seat_is_trusted_until_the_hold_lapses_or_a_second_passes() {
        let taken = TakenSeats::default();
        let (s, other) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(taken.taken_by(s, 1, 0).is_none());
        taken.held(s, &[1], FAN, 500, 0);
        assert!(taken.taken_by(s, 1, 499).is_some());
        assert!(
            taken.taken_by(s, 1, 500).is_none(),
            "the hold lapses at heldUntil"
        );
        assert!(taken.taken_by(s, 2, 0).is_none() && taken.taken_by(other, 1, 0).is_none());
        taken.held(s, &[1], FAN, 600_000, 0);
        assert!(taken.taken_by(s, 1, TRUST_MS - 1).is_some());
        assert!(
            taken.taken_by(s, 1, TRUST_MS).is_none(),
            "trusted for a second at most"
        );
    }

    #[test]
    fn a_cancel_here_frees_the_seat_at_once() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        taken.held(s, &[7], FAN, 600_000, 0);
        taken.freed(s, &[7]);
        assert!(taken.taken_by(s, 7, 1).is_none());
    }

    #[tokio::test]
    async fn clicks_on_a_seat_in_flight_wait_for_that_hold() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        let Turn::Lead(first) = taken.turn(s, &[3], OTHER).await else {
            panic!("the first click asks the database");
        };
        assert!(
            matches!(taken.turn(s, &[4], OTHER).await, Turn::Lead(_)),
            "another seat does not wait"
        );
        // The first hold wins: the click that waited on it loses without asking.
        let waiter = async { matches!(taken.turn(s, &[3], OTHER).await, Turn::Taken) };
        let winner = async {
            tokio::task::yield_now().await;
            taken.held(s, &[3], FAN, clock::now() + 60_000, clock::now());
            drop(first);
        };
        let (lost, ()) = tokio::join!(waiter, winner);
        assert!(lost);
        assert!(taken.in_flight.lock().is_empty());

        // A hold that does not take its seat lets the waiter ask for itself.
        let Turn::Lead(first) = taken.turn(s, &[5], OTHER).await else {
            panic!("a free seat");
        };
        let waiter = async { matches!(taken.turn(s, &[5], OTHER).await, Turn::Ask) };
        let loser = async {
            tokio::task::yield_now().await;
            drop(first);
        };
        let (asks, ()) = tokio::join!(waiter, loser);
        assert!(asks);
        assert!(matches!(taken.turn(s, &[5], OTHER).await, Turn::Lead(_)));
    }

    #[tokio::test]
    async fn the_fan_who_took_a_seat_may_ask_for_it_again() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        taken.held(s, &[1, 2], FAN, clock::now() + 60_000, clock::now());
        assert!(matches!(taken.turn(s, &[1, 2], OTHER).await, Turn::Taken));
        assert!(matches!(taken.turn(s, &[1, 2], FAN).await, Turn::Lead(_)));
    }

    #[tokio::test]
    async fn an_order_waits_on_a_hold_in_flight_of_any_of_its_seats() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        let Turn::Lead(first) = taken.turn(s, &[2, 3], OTHER).await else {
            panic!("the first order asks the database");
        };
        let waiter = async { matches!(taken.turn(s, &[3, 4], OTHER).await, Turn::Taken) };
        let winner = async {
            tokio::task::yield_now().await;
            taken.held(s, &[2, 3], FAN, clock::now() + 60_000, clock::now());
            drop(first);
        };
        let (lost, ()) = tokio::join!(waiter, winner);
        assert!(lost, "seat 3 went to the first order");
        assert!(
            taken.in_flight.lock().is_empty(),
            "the guard freed both seats"
        );
        assert!(matches!(taken.turn(s, &[4, 5], OTHER).await, Turn::Lead(_)));
    }

    #[tokio::test]
    async fn a_click_stops_waiting_on_a_hold_that_hangs() {
        let taken = TakenSeats::default();
        let s = Uuid::now_v7();
        let Turn::Lead(_hung) = taken.turn(s, &[9], OTHER).await else {
            panic!("a free seat");
        };
        let started = std::time::Instant::now();
        assert!(matches!(taken.turn(s, &[9], OTHER).await, Turn::Ask));
        assert!(
            started.elapsed() >= WAIT_MAX,
            "it waited for the hold first"
        );
    }
}
