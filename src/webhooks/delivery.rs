//! The delivery loop every instance runs: claim due deliveries, POST each signed, record the
//! outcome. A claim holds a delivery for twice the attempt timeout; an instance that dies
//! mid-attempt leaves it to be claimed again after that, so every event is delivered at least
//! once. Failed attempts are tried again after `ENCORE_WEBHOOK_RETRY_BASE`, doubling each
//! time, until 24 hours after the event.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{Delivery, Outcome, Webhook, WebhookStore, address, signature};
use crate::clock::{self, Millis};
use crate::config::Settings;
use crate::error::Result;

/// How long after its event a delivery is tried at most.
pub const GIVE_UP_AFTER: Millis = 24 * 3600 * 1000;
/// How often an instance looks for due deliveries.
const EVERY: Duration = Duration::from_secs(1);
/// Deliveries claimed per round, and attempted at once.
const BATCH: i64 = 32;
const IN_FLIGHT: usize = 16;

/// When the attempt after the `attempts`-th failure is due, or `None` past the 24 hours. The
/// waits double from `base`; the last attempt comes at the 24-hour mark.
pub fn next_attempt(
    base: Millis,
    created_at: Millis,
    attempts: i64,
    now: Millis,
) -> Option<Millis> {
    let deadline = created_at + GIVE_UP_AFTER;
    if now >= deadline {
        return None;
    }
    let doublings = (attempts - 1).clamp(0, 40) as u32;
    let wait = base.saturating_mul(1i64 << doublings.min(40));
    Some(now.saturating_add(wait).min(deadline))
}

pub struct Deliverer {
    store: Arc<dyn WebhookStore>,
    client: reqwest::Client,
    retry_base: Millis,
    timeout: Duration,
    allow_private: bool,
}

impl Deliverer {
    pub fn new(store: Arc<dyn WebhookStore>, settings: &Settings) -> Result<Deliverer> {
        let client = reqwest::Client::builder()
            .timeout(settings.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(address::resolver(settings.webhook_allow_private))
            .user_agent(concat!("encore-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(crate::error::Error::internal)?;
        Ok(Deliverer {
            store,
            client,
            retry_base: clock::millis(settings.webhook_retry_base),
            timeout: settings.webhook_timeout,
            allow_private: settings.webhook_allow_private,
        })
    }

    /// Runs until `stop`.
    pub fn spawn(self, stop: CancellationToken) {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                // A full batch means more are due: go on at once.
                loop {
                    match self.round().await {
                        Ok(n) if n as i64 == BATCH => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "webhook deliveries failed; retrying");
                            break;
                        }
                    }
                }
            }
        });
    }

    /// One claim and its attempts; how many were attempted.
    pub async fn round(&self) -> Result<usize> {
        let now = clock::now();
        let lease = clock::millis(self.timeout) * 2 + 1000;
        let due = self.store.claim_deliveries(now, now + lease, BATCH).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let hooks = self.store.webhooks().await?;
        let n = due.len();
        futures_util::stream::iter(due)
            .for_each_concurrent(IN_FLIGHT, |d| {
                let hook = hooks.iter().find(|h| h.id == d.webhook_id);
                async move {
                    // An endpoint deleted since the claim took its deliveries with it.
                    let Some(hook) = hook else { return };
                    let outcome = self.attempt(hook, &d).await;
                    let label = match &outcome {
                        Outcome::Delivered { .. } => "delivered",
                        Outcome::Failed { retry_at: Some(_), .. } => "retry",
                        Outcome::Failed { retry_at: None, .. } => "failed",
                    };
                    metrics::counter!("encore_webhook_attempts_total", "result" => label)
                        .increment(1);
                    if let Err(e) = self.store.record_attempt(&d, &outcome, clock::now()).await {
                        // The claim lapses and the delivery is tried again: at least once.
                        tracing::warn!(error = %e, event = %d.event_id, "could not record a webhook attempt");
                    }
                }
            })
            .await;
        Ok(n)
    }

    async fn attempt(&self, hook: &Webhook, d: &Delivery) -> Outcome {
        let failed = |status: Option<u16>, error: String| Outcome::Failed {
            status,
            error,
            retry_at: next_attempt(self.retry_base, d.created_at, d.attempts, clock::now()),
        };
        let url = match address::check_url(&hook.url, self.allow_private) {
            Ok(url) => url,
            Err(e) => return failed(None, e.to_string()),
        };
        let t = clock::now() / 1000;
        let sent = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("Encore-Signature", signature(&hook.secret, t, &d.body))
            .header("Encore-Event", d.kind.as_str())
            .header("Encore-Delivery", d.event_id.to_string())
            .body(d.body.clone())
            .send()
            .await;
        match sent {
            Ok(res) if res.status().is_success() => Outcome::Delivered {
                status: res.status().as_u16(),
            },
            Ok(res) => failed(
                Some(res.status().as_u16()),
                format!("answered {}", res.status()),
            ),
            Err(e) => failed(None, describe(&e)),
        }
    }
}

/// A transport error in a line, with its cause (reqwest's own text says only "error sending
/// request").
fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "could not connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text.chars().take(500).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_from_the_base_and_stop_at_24_hours() {
        let base = 5_000;
        let created = 1_000_000;
        assert_eq!(
            next_attempt(base, created, 1, created),
            Some(created + 5_000)
        );
        assert_eq!(
            next_attempt(base, created, 2, created + 5_000),
            Some(created + 15_000)
        );
        assert_eq!(
            next_attempt(base, created, 3, created + 15_000),
            Some(created + 35_000)
        );
        // Late on, the wait is cut to the deadline, and past it there is none.
        let late = created + GIVE_UP_AFTER - 60_000;
        assert_eq!(
            next_attempt(base, created, 14, late),
            Some(created + GIVE_UP_AFTER)
        );
        assert_eq!(
            next_attempt(base, created, 15, created + GIVE_UP_AFTER),
            None
        );
        // However many attempts, no overflow.
        assert!(next_attempt(base, created, i64::MAX, created + 1).is_some());
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_time_dot_body() {
        // HMAC-SHA256(key = "whsec_test", "1700000000.{}"), computed independently.
        let sig = signature("whsec_test", 1_700_000_000, "{}");
        assert_eq!(
            sig,
            "t=1700000000,v1=35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91"
        );
        assert_ne!(sig, signature("whsec_other", 1_700_000_000, "{}"));
        assert_ne!(sig, signature("whsec_test", 1_700_000_001, "{}"));
    }
}
