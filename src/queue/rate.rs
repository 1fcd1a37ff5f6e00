//! The admission rate actually observed, for `estimatedWaitSeconds`.

use std::collections::VecDeque;

use crate::clock::Millis;

/// How far back admissions count towards the rate.
const WINDOW_MS: Millis = 60_000;

#[derive(Debug, Default, Clone)]
pub struct AdmissionRate {
    /// Admission times inside the window, oldest first (a count per millisecond keeps bursts small).
    admitted: VecDeque<(Millis, u32)>,
}

impl AdmissionRate {
    pub fn record(&mut self, at: Millis) {
        match self.admitted.back_mut() {
            Some((t, n)) if *t == at => *n += 1,
            _ => self.admitted.push_back((at, 1)),
        }
    }

    fn trim(&mut self, now: Millis) {
        while self
            .admitted
            .front()
            .is_some_and(|(t, _)| *t <= now - WINDOW_MS)
        {
            self.admitted.pop_front();
        }
    }

    /// Seconds until `position` waiters have been admitted at the observed rate; `None` if no
    /// admission has been seen within the window.
    pub fn estimate(&mut self, position: u64, now: Millis) -> Option<u64> {
        self.trim(now);
        let (first, _) = *self.admitted.front()?;
        let count: u64 = self.admitted.iter().map(|(_, n)| u64::from(*n)).sum();
        // Spread over at least one second so one burst does not promise an instant admission.
        let span_ms = (now - first).clamp(1_000, WINDOW_MS) as u64;
        Some((position * span_ms).div_ceil(count * 1_000))
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
            r.record(s * 1000);
        }
        assert_eq!(r.estimate(30, 10_000), Some(30));
        // Long after, nothing was seen within the window: unknown again.
        assert_eq!(r.estimate(30, 200_000), None);
    }
}
