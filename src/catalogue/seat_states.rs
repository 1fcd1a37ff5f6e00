//! Every schedule's place states as this instance knows them, for the seat map, the free-place
//! counts and best-available picks: read from the database again in the background once the
//! last read is a second old, and patched at once by the holds, payments and cancels made
//! through this instance.
//!
//! So under load a map costs no table read per request, a fan sees their own hold on the map
//! at once, and another instance's change shows within `STALE_MS`. A hold that lapses reads as
//! free from its `heldUntil` on, as everywhere. This is a view only: the database decides every
//! hold, and a pick made from a stale view just loses its race (409) like any other.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::{Error, Result};
use crate::store::Store;

/// How old the database read behind a view may be.
pub const STALE_MS: Millis = 1000;
/// Schedules whose states are kept (about 9 bytes a place).
const CAPACITY: usize = 2_000;

pub const AVAILABLE: u8 = b'A';
pub const HELD: u8 = b'H';
pub const SOLD: u8 = b'S';

/// The places of one schedule, index `number - 1`.
pub struct Board {
    data: Mutex<Data>,
    /// A reload is under way, in the background: every reader answers from the last read
    /// meanwhile, so no request waits for a 70,000-row read.
    reloading: AtomicBool,
}

struct Data {
    state: Vec<u8>,
    /// `heldUntil` of each HELD place.
    until: Vec<Millis>,
    /// When the database read behind `state` began.
    loaded_at: Millis,
    /// Changes made here since that read began, applied again after the next read.
    patches: Vec<Patch>,
    /// Counts every change, so an encoded map knows whether it is still current.
    changes: u64,
}

#[derive(Clone)]
struct Patch {
    at: Millis,
    numbers: Vec<i64>,
    state: u8,
    until: Millis,
}

impl Data {
    fn apply(&mut self, p: &Patch) {
        for &n in &p.numbers {
            if let Some(i) = usize::try_from(n - 1)
                .ok()
                .filter(|&i| i < self.state.len())
            {
                self.state[i] = p.state;
                self.until[i] = p.until;
            }
        }
        self.changes += 1;
    }
}

/// What a board says at one moment.
pub struct Snapshot {
    /// AVAILABLE, HELD or SOLD per place (index `number - 1`), lapsed holds read as AVAILABLE.
    pub state: Vec<u8>,
    /// The board's change count when taken.
    pub changes: u64,
    /// When the next live hold lapses, which changes what the board says without a write.
    pub next_lapse: Millis,
}

impl Snapshot {
    pub fn is_free(&self, number: i64) -> bool {
        usize::try_from(number - 1)
            .ok()
            .and_then(|i| self.state.get(i))
            .is_some_and(|&s| s == AVAILABLE)
    }

    /// Free places among `first..=last`.
    pub fn free_in(&self, first: i64, last: i64) -> i64 {
        let (a, b) = (
            (first - 1).max(0) as usize,
            (last.max(0) as usize).min(self.state.len()),
        );
        self.state
            .get(a..b)
            .map_or(0, |s| s.iter().filter(|&&c| c == AVAILABLE).count() as i64)
    }
}

pub struct SeatStates {
    store: Arc<dyn Store>,
    boards: Cache<Uuid, Arc<Board>>,
}

impl SeatStates {
    pub fn new(store: Arc<dyn Store>) -> Self {
        SeatStates {
            store,
            boards: Cache::new(CAPACITY),
        }
    }

    /// The schedule's places as of `now`, read again first when the last read is too old.
    pub async fn snapshot(&self, schedule: Uuid, places: i64, now: Millis) -> Result<Snapshot> {
        let board = self
            .boards
            .get_or_insert_async(&schedule, async {
                let data = read(self.store.as_ref(), schedule, places, now).await?;
                Ok::<_, Error>(Arc::new(Board {
                    data: Mutex::new(data),
                    reloading: AtomicBool::new(false),
                }))
            })
            .await?;
        self.reload_if_stale(&board, schedule, places, now);
        let data = board.data.lock();
        let mut next_lapse = Millis::MAX;
        let state = data
            .state
            .iter()
            .zip(&data.until)
            .map(|(&s, &until)| match s {
                HELD if until <= now => AVAILABLE,
                HELD => {
                    next_lapse = next_lapse.min(until);
                    HELD
                }
                other => other,
            })
            .collect();
        Ok(Snapshot {
            state,
            changes: data.changes,
            next_lapse,
        })
    }

    /// The schedule's change count, without copying its states (a cached seat map is current
    /// while it has not moved); starts a reload when the last read is too old. `None` before the
    /// first read.
    pub fn changes(&self, schedule: Uuid, places: i64, now: Millis) -> Option<u64> {
        let board = self.boards.get(&schedule)?;
        self.reload_if_stale(&board, schedule, places, now);
        Some(board.data.lock().changes)
    }

    fn reload_if_stale(&self, board: &Arc<Board>, schedule: Uuid, places: i64, now: Millis) {
        let stale = now - board.data.lock().loaded_at > STALE_MS;
        if stale && !board.reloading.swap(true, Ordering::AcqRel) {
            let (store, board) = (self.store.clone(), board.clone());
            tokio::spawn(async move {
                match read(store.as_ref(), schedule, places, now).await {
                    Ok(fresh) => board.replace(fresh),
                    Err(e) => tracing::debug!(error = %e, "seat states not read again; retrying"),
                }
                board.reloading.store(false, Ordering::Release);
            });
        }
    }

    /// Records a change made through this instance (a hold, payment or cancel just committed).
    pub fn patch(&self, schedule: Uuid, numbers: &[i64], state: u8, until: Millis, now: Millis) {
        if let Some(board) = self.boards.get(&schedule) {
            let p = Patch {
                at: now,
                numbers: numbers.to_vec(),
                state,
                until,
            };
            let mut data = board.data.lock();
            data.apply(&p);
            data.patches.push(p);
        }
    }
}

impl Board {
    /// Puts a fresh read in place, with the changes made here while it ran on top of it.
    fn replace(&self, mut fresh: Data) {
        let mut data = self.data.lock();
        let late: Vec<Patch> = data
            .patches
            .iter()
            .filter(|p| p.at >= fresh.loaded_at)
            .cloned()
            .collect();
        for p in &late {
            fresh.apply(p);
        }
        fresh.patches = late;
        fresh.changes = data.changes + 1;
        *data = fresh;
    }
}

/// Reads the schedule's places: the ones not AVAILABLE from the database, the rest free.
async fn read(store: &dyn Store, schedule: Uuid, places: i64, now: Millis) -> Result<Data> {
    let n = usize::try_from(places).unwrap_or(0);
    let mut data = Data {
        state: vec![AVAILABLE; n],
        until: vec![0; n],
        loaded_at: now,
        patches: Vec::new(),
        changes: 0,
    };
    for row in store.taken_seats(schedule).await? {
        let Some(i) = usize::try_from(row.number - 1).ok().filter(|&i| i < n) else {
            continue;
        };
        (data.state[i], data.until[i]) = match (row.state.as_str(), row.held_until) {
            // A cancelled schedule's places are never free again.
            ("SOLD" | "VOID", _) => (SOLD, 0),
            ("HELD", Some(until)) => (HELD, until),
            _ => (AVAILABLE, 0),
        };
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(state: &[u8]) -> Snapshot {
        Snapshot {
            state: state.to_vec(),
            changes: 0,
            next_lapse: Millis::MAX,
        }
    }

    #[test]
    fn free_places_are_counted_by_range() {
        let s = snapshot(b"AHSAA");
        assert!(s.is_free(1) && !s.is_free(2) && !s.is_free(3) && !s.is_free(6));
        assert_eq!(s.free_in(1, 5), 3);
        assert_eq!(s.free_in(2, 3), 0);
        assert_eq!(s.free_in(4, 99), 2);
    }

    #[test]
    fn patches_apply_to_their_places_only() {
        let mut d = Data {
            state: vec![AVAILABLE; 4],
            until: vec![0; 4],
            loaded_at: 0,
            patches: Vec::new(),
            changes: 0,
        };
        d.apply(&Patch {
            at: 1,
            numbers: vec![2, 4, 9],
            state: HELD,
            until: 50,
        });
        assert_eq!(d.state, b"AHAH");
        assert_eq!(d.until, [0, 50, 0, 50]);
        assert_eq!(d.changes, 1);
    }
}
