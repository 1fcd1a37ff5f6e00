//! The admission rate actually observed, for `estimatedWaitSeconds`: a sliding-window counter
//! (two one-minute buckets), constant in size so the Redis backend can keep the same numbers.

use serde::{Deserialize, Serialize};

use crate::clock::Millis;

const BUCKET: Millis = 60_000;

#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize, Deserialize)]
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

    /// Admissions over the sliding minute before `now`.
    pub fn last_minute(&self, now: Millis) -> u64 {
        let bucket = bucket_of(now);
        let (current, previous) = if bucket == self.bucket_start {
            (self.current, self.previous)
        } else if bucket == self.bucket_start + BUCKET {
            (0, self.current)
        } else {
            (0, 0)
        };
        let weight = (BUCKET - (now - bucket)) as f64 / BUCKET as f64;
        (current as f64 + previous as f64 * weight).round() as u64
    }

    /// Seconds until `position` waiters have been admitted at the rate of the last minute;
    /// `None` when nobody was admitted in that minute.
    pub fn estimate(&self, position: u64, now: Millis) -> Option<u64> {
        let first = self.first?;
        let bucket = bucket_of(now);
        let (current, previous) = if bucket == self.bucket_start {
            (self.current, self.previous)
        } else if bucket == self.bucket_start + BUCKET {
            (0, self.current)
        } else {
            (0, 0)
        };
        // The previous bucket counts for the part of it still inside the sliding minute.
        let weight = (BUCKET - (now - bucket)) as f64 / BUCKET as f64;
        let count = current as f64 + previous as f64 * weight;
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
    fn a_burst_is_spread_over_at_least_a_second() {
        let mut r = AdmissionRate::default();
        r.record(1000, 5_000);
        assert_eq!(r.estimate(2000, 5_000), Some(2));
    }
}
