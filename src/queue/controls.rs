//! What each concert's queue may do right now, as every instance sees it: the promoter's live
//! controls (active limit, admissions per minute, pause), the on-sale time, and the places
//! left. Read from the database at most a second ago, so every instance follows a change within
//! a second; places taken or freed through this instance count at once.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::clock::Millis;
use crate::error::Result;
use crate::store::Store;

/// How old the database read behind a policy may be.
pub const FRESH_MS: Millis = 1000;

/// The live controls a promoter sets (`PATCH /admin/concerts/{id}/queue`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ControlRow {
    /// `None`: the service's `ENCORE_QUEUE_ACTIVE_LIMIT`.
    pub active_limit: Option<i64>,
    /// `None`: no cap.
    pub admit_per_minute: Option<i64>,
    pub paused: bool,
}

/// A concert's places that can still be sold, over its schedules still open for booking.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Places {
    /// Neither sold nor under a live hold.
    pub free: i64,
    /// Under a live hold.
    pub held: i64,
    /// Sold, over every schedule.
    pub sold: i64,
    /// Every place of every schedule: 0 for a concert with no schedule yet, whose queue then
    /// admits by its active limit alone and is never sold out.
    pub total: i64,
}

#[async_trait]
pub trait OnSaleStore: Send + Sync {
    /// The concert's on-sale time and live controls (defaults when none were set); `None` for
    /// an unknown concert.
    async fn on_sale(&self, concert_id: Uuid) -> Result<Option<(Option<Millis>, ControlRow)>>;
    async fn set_controls(
        &self,
        concert_id: Uuid,
        controls: &ControlRow,
        now: Millis,
    ) -> Result<()>;
    async fn set_on_sale_at(&self, concert_id: Uuid, at: Option<Millis>) -> Result<()>;
    async fn places(&self, concert_id: Uuid, now: Millis) -> Result<Places>;
    /// Records that every place of the concert is sold (with its `concert.sold_out` event, in
    /// one transaction), or that places are back; true if this call changed the record, so
    /// however many instances see a sell-out, it is reported once.
    async fn record_sold_out(&self, concert_id: Uuid, sold_out: bool, now: Millis) -> Result<bool>;
}

/// Everything the queue needs to know about a concert at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub on_sale_at: Option<Millis>,
    /// The draw's seed, for a concert with an on-sale time; secret until then.
    pub seed: Option<[u8; 32]>,
    pub controls: ControlRow,
    pub places: Places,
    /// The service's default active limit.
    pub default_limit: u32,
    pub read_at: Millis,
}

impl Policy {
    pub fn active_limit(&self) -> u32 {
        self.controls
            .active_limit
            .map_or(self.default_limit, |l| l.clamp(0, u32::MAX as i64) as u32)
    }

    /// How many may be ACTIVE now: never more than the places not sold yet (free, or held —
    /// mostly by the ACTIVE fans themselves, who keep their slot while they pay), none while
    /// paused.
    pub fn admit_limit(&self) -> u32 {
        if self.controls.paused {
            return 0;
        }
        if self.places.total == 0 {
            return self.active_limit();
        }
        let unsold = (self.places.free.max(0) + self.places.held.max(0)).min(u32::MAX as i64);
        self.active_limit().min(unsold as u32)
    }

    /// Before the on-sale time: joins get PRE_QUEUE tickets.
    pub fn before_sale(&self, now: Millis) -> bool {
        self.on_sale_at.is_some_and(|at| now < at)
    }

    /// The concert has places, and every schedule open for booking has neither a free place
    /// nor a live hold.
    pub fn sold_out(&self) -> bool {
        self.places.total > 0 && self.places.free <= 0 && self.places.held <= 0
    }

    /// What the queue backend is told for one call at `now`.
    pub fn admission(&self, now: Millis) -> Admission {
        let sale = match (self.on_sale_at, self.seed) {
            (Some(at), Some(seed)) if now < at => Sale::Before(seed),
            (Some(_), Some(seed)) => Sale::Draw(seed),
            _ => Sale::Open,
        };
        Admission {
            now,
            limit: self.admit_limit(),
            per_minute: self
                .controls
                .admit_per_minute
                .map(|n| n.clamp(0, u32::MAX as i64) as u32),
            sale,
            sold_out: self.sold_out(),
        }
    }
}

/// Where a concert's sale stands, for the queue backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sale {
    /// Before the on-sale time: joins get PRE_QUEUE tickets, placed later by this seed.
    Before([u8; 32]),
    /// From the on-sale time: the pre-queue is drawn (once) with this seed before anything else.
    Draw([u8; 32]),
    /// No on-sale time: joins go straight into the line.
    Open,
}

/// The limits of one queue call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The time of the call these controls are for: the sale stands as of it.
    pub now: Millis,
    /// At most this many ACTIVE (the live limit, the free places, 0 while paused).
    pub limit: u32,
    /// Admissions per minute, over every instance.
    pub per_minute: Option<u32>,
    pub sale: Sale,
    /// Nothing is left to sell: every ticket not ACTIVE reads SOLD_OUT.
    pub sold_out: bool,
}

struct Entry {
    policy: Policy,
    /// Bumped whenever the policy changes what a waiter sees (sold out, paused, limits).
    changed: watch::Sender<u64>,
    refreshing: bool,
    /// Whether the last database read found the concert sold out (local patches aside).
    read_sold_out: bool,
}

pub struct Controls {
    store: Arc<dyn Store>,
    default_limit: u32,
    concerts: RwLock<HashMap<Uuid, Entry>>,
    /// Never changes: what a concert not read yet subscribes to.
    dormant: watch::Sender<u64>,
    /// Each concert's draw seed, fixed once (`SystemStore::secret`) and never changed.
    seeds: Mutex<HashMap<Uuid, [u8; 32]>>,
}

impl Controls {
    pub fn new(store: Arc<dyn Store>, default_limit: u32) -> Self {
        Controls {
            store,
            default_limit,
            concerts: RwLock::default(),
            dormant: watch::channel(0).0,
            seeds: Mutex::default(),
        }
    }

    /// The concert's policy, read again first when the last read is older than `FRESH_MS`
    /// (one caller reads; the others answer from the last read meanwhile).
    pub async fn policy(&self, concert_id: Uuid, now: Millis) -> Result<Policy> {
        // Every poll and join asks: the fresh case takes only the read lock.
        if let Some(e) = self.concerts.read().get(&concert_id)
            && (now - e.policy.read_at <= FRESH_MS || e.refreshing)
        {
            return Ok(e.policy);
        }
        let cached = {
            let mut concerts = self.concerts.write();
            match concerts.get_mut(&concert_id) {
                Some(e) if now - e.policy.read_at <= FRESH_MS || e.refreshing => {
                    return Ok(e.policy);
                }
                Some(e) => {
                    e.refreshing = true;
                    Some(e.policy)
                }
                None => None,
            }
        };
        let read = self.read(concert_id, now).await;
        let mut concerts = self.concerts.write();
        match read {
            Ok(policy) => {
                // The sold-out state is recorded where this instance's reads see it change (and
                // on its first read): a write now and then, not one a read.
                let seen = concerts.get(&concert_id).map(|e| e.read_sold_out);
                if seen != Some(policy.sold_out()) {
                    self.record_sold_out(concert_id, policy.sold_out(), now);
                }
                match concerts.get_mut(&concert_id) {
                    Some(e) => {
                        let before = e.policy;
                        e.policy = policy;
                        e.refreshing = false;
                        e.read_sold_out = policy.sold_out();
                        if differs(&before, &policy) {
                            e.changed.send_modify(|v| *v += 1);
                        }
                    }
                    None => {
                        concerts.insert(
                            concert_id,
                            Entry {
                                policy,
                                changed: watch::channel(0).0,
                                refreshing: false,
                                read_sold_out: policy.sold_out(),
                            },
                        );
                    }
                }
                Ok(policy)
            }
            Err(e) => {
                if let Some(entry) = concerts.get_mut(&concert_id) {
                    entry.refreshing = false;
                }
                // The last read still stands during a database hiccup.
                cached.ok_or(e)
            }
        }
    }

    /// Records the concert's sold-out state in the background (with its webhook event when it
    /// turns sold out). A failed record waits for the next change this instance sees.
    fn record_sold_out(&self, concert_id: Uuid, sold_out: bool, now: Millis) {
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(e) = store.record_sold_out(concert_id, sold_out, now).await {
                tracing::warn!(%concert_id, error = %e, "could not record the sold-out state");
            }
        });
    }

    /// Reads the policy again at once (after a change made here).
    pub async fn refresh(&self, concert_id: Uuid, now: Millis) -> Result<Policy> {
        if let Some(e) = self.concerts.write().get_mut(&concert_id) {
            e.policy.read_at = Millis::MIN / 2;
            e.refreshing = false;
        }
        self.policy(concert_id, now).await
    }

    /// Places taken (`delta` < 0) or given back (> 0) through this instance, counted at once.
    pub fn places_changed(&self, concert_id: Uuid, free: i64, held: i64) {
        if let Some(e) = self.concerts.write().get_mut(&concert_id) {
            e.policy.places.free += free;
            e.policy.places.held += held;
        }
    }

    /// Wakes when the concert's policy changes what its waiters see.
    pub fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        match self.concerts.read().get(&concert_id) {
            Some(e) => e.changed.subscribe(),
            None => self.dormant.subscribe(),
        }
    }

    /// Concerts whose policy was read within `within` ms: the ones in use.
    pub fn recent(&self, now: Millis, within: Millis) -> Vec<Uuid> {
        self.concerts
            .read()
            .iter()
            .filter(|(_, e)| now - e.policy.read_at <= within)
            .map(|(&id, _)| id)
            .collect()
    }

    async fn read(&self, concert_id: Uuid, now: Millis) -> Result<Policy> {
        let (on_sale_at, controls) = self
            .store
            .on_sale(concert_id)
            .await?
            .ok_or(crate::error::Error::ConcertNotFound)?;
        let places = self.store.places(concert_id, now).await?;
        let seed = match on_sale_at {
            Some(_) => Some(self.seed(concert_id).await?),
            None => None,
        };
        Ok(Policy {
            on_sale_at,
            seed,
            controls,
            places,
            default_limit: self.default_limit,
            read_at: now,
        })
    }

    /// The concert's draw seed: random, fixed by whichever instance asks first.
    async fn seed(&self, concert_id: Uuid) -> Result<[u8; 32]> {
        if let Some(seed) = self.seeds.lock().get(&concert_id) {
            return Ok(*seed);
        }
        let seed = self.store.secret(&format!("draw:{concert_id}")).await?;
        self.seeds.lock().insert(concert_id, seed);
        Ok(seed)
    }
}

fn differs(a: &Policy, b: &Policy) -> bool {
    a.sold_out() != b.sold_out()
        || a.controls != b.controls
        || a.on_sale_at != b.on_sale_at
        || a.places.free != b.places.free
}

/// `GET/PATCH /admin/concerts/{id}/queue`: what the queue is doing and its live controls.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueView {
    pub waiting: u64,
    pub active: u64,
    /// Admissions over the last minute.
    pub admitted_per_minute: u64,
    /// Places neither sold nor under a live hold, over schedules open for booking.
    pub free_places: i64,
    pub sold: i64,
    pub active_limit: i64,
    /// Null: no cap.
    pub admit_per_minute: Option<i64>,
    pub paused: bool,
}

/// Any of the controls; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuePatch {
    /// 0 to 1,000,000.
    #[schema(minimum = 0, maximum = 1_000_000)]
    pub active_limit: Option<i64>,
    /// 0 to 1,000,000 admissions a minute, shared by every instance; null removes the cap.
    #[serde(default, deserialize_with = "some_or_null")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 1_000_000)]
    pub admit_per_minute: Option<Option<i64>>,
    pub paused: Option<bool>,
}

/// Tells an absent field (`None`) from an explicit null (`Some(None)`).
fn some_or_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(free: i64, held: i64, controls: ControlRow) -> Policy {
        Policy {
            on_sale_at: Some(1000),
            seed: Some([7; 32]),
            controls,
            places: Places {
                free,
                held,
                sold: 0,
                total: 10,
            },
            default_limit: 100,
            read_at: 0,
        }
    }

    #[test]
    fn admissions_never_pass_the_free_places_nor_a_pause() {
        let p = policy(5, 0, ControlRow::default());
        assert_eq!(p.admit_limit(), 5);
        let p = policy(500, 0, ControlRow::default());
        assert_eq!(p.admit_limit(), 100, "the default limit");
        let limited = ControlRow {
            active_limit: Some(3),
            ..ControlRow::default()
        };
        assert_eq!(policy(500, 0, limited).admit_limit(), 3);
        let paused = ControlRow {
            paused: true,
            ..ControlRow::default()
        };
        assert_eq!(policy(500, 0, paused).admit_limit(), 0);
        assert!(policy(0, 0, ControlRow::default()).sold_out());
        assert!(
            !policy(0, 2, ControlRow::default()).sold_out(),
            "held places may come back"
        );
        let mut empty = policy(0, 0, ControlRow::default());
        empty.places.total = 0;
        assert!(!empty.sold_out(), "no schedule yet");
        assert_eq!(empty.admit_limit(), 100);
        assert!(p.before_sale(999) && !p.before_sale(1000));
        assert_eq!(p.admission(999).sale, Sale::Before([7; 32]));
        assert_eq!(p.admission(1000).sale, Sale::Draw([7; 32]));
    }
}
