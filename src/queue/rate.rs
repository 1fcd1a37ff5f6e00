//! The admission rate actually observed, for `estimatedWaitSeconds`: a sliding-window counter
//! (two one-minute buckets), constant in size so the Redis backend can keep the same numbers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::clock::Millis;

const BUCKET: Millis = 60_000;
/// Admissions over the last minute before the observed rate is trusted on its own.
const ENOUGH: u64 = 20;

/// What an admitted fan's slot costs before any rate is observed: a fan who finds a seat and
/// pays frees it in about `fast_ms` (half the hold time); one who uses all their time, in
/// `slow_ms` (the active time).
#[derive(Debug, Clone, Copy)]
pub struct Prior {
    pub fast_ms: Millis,
    pub slow_ms: Millis,
}

/// A wait estimate as a range of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct WaitRange {
    pub low: u64,
    pub high: u64,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdmissionRate {
    /// Start of the current one-minute bucket.
    pub bucket_start: Millis,
    pub current: u64,
    pub previous: u64,
    /// The first admission ever seen, so a young queue is not averaged over a whole minute.
    pub first: Option<Millis>,
}

fn bucket_of(t: Millis) -> Millis {
    t - t.rem_euclid(BUCKET)
}

impl AdmissionRate {
    pub fn record(&mut self, admitted: u64, now: Millis) {
        let bucket = bucket_of(now);
        if bucket == self.bucket_start {
            self.current += admitted;
        } else {
            self.previous = if bucket == self.bucket_start + BUCKET {
                self.current
            } else {
                0
            };
            self.current = admitted;
            self.bucket_start = bucket;
        }
        self.first.get_or_insert(now);
    }

    /// Admissions counted in the one-minute bucket `now` is in.
    pub fn this_minute(&self, now: Millis) -> u64 {
        if bucket_of(now) == self.bucket_start {
            self.current
        } else {
            0
        }
    }

    /// How long `position` waiters take to be let in, with `slots` ACTIVE places: from the
    /// rate observed once at least `ENOUGH` admissions were seen in the last minute; before
    /// that, from the prior, narrowed by whatever rate was observed. `None` while nobody can
    /// be let in (paused, or no place left).
    pub fn wait(&self, position: u64, now: Millis, slots: u32, prior: &Prior) -> Option<WaitRange> {
        if slots == 0 {
            return None;
        }
        let turns = position.div_ceil(u64::from(slots));
        let secs = |ms: Millis| (turns as f64 * ms as f64 / 1000.0).ceil() as u64;
        let (low, high) = (secs(prior.fast_ms), secs(prior.slow_ms));
        match self.estimate(position, now) {
            Some(e) if self.last_minute(now) >= ENOUGH => Some(WaitRange {
                low: e * 2 / 3,
                high: (e * 3).div_ceil(2).max(1),
            }),
            // A few admissions tell something: keep the prior's range around it.
            Some(e) => Some(WaitRange {
                low: e.min(low),
                high: high.max(e),
            }),
            None => Some(WaitRange { low, high }),
        }
    }

    /// Admissions over the sliding minute before `now`: the current bucket, and the previous
    /// one for the part of it still inside the minute.
    fn sliding(&self, now: Millis) -> f64 {
        let bucket = bucket_of(now);
        let (current, previous) = if bucket == self.bucket_start {
            (self.current, self.previous)
        } else if bucket == self.bucket_start + BUCKET {
            (0, self.current)
        } else {
            (0, 0)
        };
        let weight = (BUCKET - (now - bucket)) as f64 / BUCKET as f64;
        current as f64 + previous as f64 * weight
    }

    /// Admissions over the sliding minute before `now`.
    pub fn last_minute(&self, now: Millis) -> u64 {
        self.sliding(now).round() as u64
    }

    /// Seconds until `position` waiters have been admitted at the rate of the last minute;
    /// `None` when nobody was admitted in that minute.
    pub fn estimate(&self, position: u64, now: Millis) -> Option<u64> {
        let first = self.first?;
        let count = self.sliding(now);
        if count <= 0.0 {
            return None;
        }
        let window = (now - first).clamp(1_000, BUCKET) as f64;
        Some((position as f64 * window / count / 1_000.0).ceil() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_follows_the_observed_rate() {
        let mut r = AdmissionRate::default();
        assert_eq!(r.estimate(10, 0), None);
        // 10 admissions over 10 seconds: one a second.
        for s in 0..10 {
            r.record(1, s * 1000);
        }
        assert_eq!(r.estimate(30, 10_000), Some(30));
        // A minute later half of the previous bucket still counts: 5 in 60 s.
        assert_eq!(r.estimate(1, 90_000), Some(12));
        // Long after, nothing was seen within the window: unknown again.
        assert_eq!(r.estimate(30, 200_000), None);
    }

    #[test]
    fn a_young_queue_estimates_from_the_active_and_hold_times() {
        let prior = Prior {
            fast_ms: 150_000,
            slow_ms: 600_000,
        };
        let mut r = AdmissionRate::default();
        // Nothing seen yet, two ahead of me with one slot: two turns of 2.5 to 10 minutes.
        assert_eq!(
            r.wait(2, 0, 1, &prior),
            Some(WaitRange {
                low: 300,
                high: 1200
            })
        );
        // One admission a moment ago says "seconds"; the range still reaches the slow turn.
        r.record(1, 1_000);
        let w = r.wait(2, 2_000, 1, &prior).unwrap();
        assert!(w.low <= 300 && w.high >= 1200, "{w:?}");
        // Paused or out of places: no estimate.
        assert_eq!(r.wait(2, 2_000, 0, &prior), None);
        // A steady rate of 60 a minute, trusted on its own: ~30 s for 30 ahead.
        let mut r = AdmissionRate::default();
        for s in 0..60 {
            r.record(1, s * 1000);
        }
        let w = r.wait(30, 60_000, 10, &prior).unwrap();
        assert!(w.low <= 30 && w.high >= 30 && w.high <= 60, "{w:?}");
    }

    #[test]
    fn a_burst_is_spread_over_at_least_a_second() {
        let mut r = AdmissionRate::default();
        r.record(1000, 5_000);
        assert_eq!(r.estimate(2000, 5_000), Some(2));
    }
}
