//! Rate limits per client address and per API key, and the client address itself.
//!
//! Each limit is a keyed GCRA limiter (`governor`): `N/min` allows a burst of N, refilled evenly
//! over the minute. Limits are per instance: behind a balancer over K instances a client gets at
//! most K times the figure, which still bounds a flood. Keys not seen for a while are dropped by
//! [`Limits::forget_idle`], run periodically, so a flood of addresses costs memory only while it
//! lasts.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use uuid::Uuid;

use crate::app::AppState;
use crate::config::{Rate, Settings};
use crate::error::Error;

/// How often idle keys are dropped from the limiters.
pub const FORGET_EVERY: Duration = Duration::from_secs(60);

struct Keyed<K: std::hash::Hash + Eq + Clone>(DefaultKeyedRateLimiter<K>);

impl<K: std::hash::Hash + Eq + Clone> Keyed<K> {
    fn new(rate: Rate) -> Self {
        let period = rate.per / rate.count.get();
        let quota = Quota::with_period(period.max(Duration::from_nanos(1)))
            .expect("a period of at least 1 ns")
            .allow_burst(rate.count);
        Keyed(RateLimiter::keyed(quota))
    }

    fn check(&self, key: &K) -> Result<(), Error> {
        self.0.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Error::RateLimited {
                retry_after: wait.as_secs_f64().ceil().max(1.0) as u64,
            }
        })
    }

    fn forget_idle(&self) {
        self.0.retain_recent();
        self.0.shrink_to_fit();
    }
}

struct Limiters {
    signups: Keyed<IpAddr>,
    joins: Keyed<IpAddr>,
    bad_keys: Keyed<IpAddr>,
    per_key: Keyed<Uuid>,
}

/// Every rate limit of the service; all of them pass when `ENCORE_RATE_LIMITS=off`.
pub struct Limits {
    limiters: Option<Limiters>,
    trusted: Vec<IpNet>,
}

impl Limits {
    pub fn new(settings: &Settings) -> Self {
        let limiters = settings.rate_limits.then(|| Limiters {
            signups: Keyed::new(settings.rate_signups),
            joins: Keyed::new(settings.rate_joins),
            bad_keys: Keyed::new(settings.rate_bad_keys),
            per_key: Keyed::new(settings.rate_per_key),
        });
        Limits {
            limiters,
            trusted: settings.trusted_proxies.clone(),
        }
    }

    fn check<K: std::hash::Hash + Eq + Clone>(
        &self,
        pick: impl FnOnce(&Limiters) -> &Keyed<K>,
        key: &K,
    ) -> Result<(), Error> {
        match &self.limiters {
            Some(l) => pick(l).check(key),
            None => Ok(()),
        }
    }

    /// One sign-up from `client`.
    pub fn signup(&self, client: ClientAddr) -> Result<(), Error> {
        self.check(|l| &l.signups, &client.0)
    }

    /// One queue join from `client`.
    pub fn join(&self, client: ClientAddr) -> Result<(), Error> {
        self.check(|l| &l.joins, &client.0)
    }

    /// One API key that this instance has to look up in the database, from `client`.
    pub fn key_lookup(&self, client: ClientAddr) -> Result<(), Error> {
        self.check(|l| &l.bad_keys, &client.0)
    }

    /// One request authenticated as `user`.
    pub fn per_key(&self, user: Uuid) -> Result<(), Error> {
        self.check(|l| &l.per_key, &user)
    }

    /// Drops the state of keys whose limit has refilled: they would pass anyway.
    pub fn forget_idle(&self) {
        if let Some(l) = &self.limiters {
            l.signups.forget_idle();
            l.joins.forget_idle();
            l.bad_keys.forget_idle();
            l.per_key.forget_idle();
        }
    }

    /// The address a request came from: the socket's, or, when the socket is a trusted proxy,
    /// the last `X-Forwarded-For` hop that is not one (the hops left of it could be forged by
    /// the client).
    pub fn client_addr(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let mut client = peer;
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for hop in hops.iter().rev() {
            match parse_hop(hop) {
                Some(ip) if trusted(&ip) => client = ip,
                Some(ip) => return ip,
                // A hop that is no address: believe nothing further left.
                None => return client,
            }
        }
        client
    }
}

/// An `X-Forwarded-For` hop: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

/// The client's address as limits count it. An IPv6 client is counted by its /64, since one
/// subscriber usually gets a whole /64 to draw addresses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl ClientAddr {
    pub fn of(ip: IpAddr) -> Self {
        let ip = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
            v4 => v4,
        };
        ClientAddr(ip)
    }

    /// From a request's parts; a request that came through no socket (an in-process call)
    /// counts as the unspecified address.
    pub fn from_parts(parts: &Parts, limits: &Limits) -> Self {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::from([0, 0, 0, 0]), |c| c.0.ip());
        ClientAddr::of(limits.client_addr(peer, &parts.headers))
    }
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        Ok(ClientAddr::from_parts(parts, &state.limits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(trusted: &[&str], f: impl FnOnce(&mut Settings)) -> Limits {
        let mut s = Settings::defaults();
        s.trusted_proxies = trusted.iter().map(|t| t.parse().unwrap()).collect();
        f(&mut s);
        Limits::new(&s)
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let l = limits(&["10.0.0.0/8"], |_| {});
        let client = "203.0.113.7".parse().unwrap();
        // From a stranger the header is ignored.
        assert_eq!(l.client_addr(client, &xff("1.1.1.1")), client);
        // From a proxy: the last hop it did not add itself, skipping trusted hops.
        let proxy = "10.1.2.3".parse().unwrap();
        let got = l.client_addr(proxy, &xff("6.6.6.6, 203.0.113.7, 10.9.9.9"));
        assert_eq!(got, client);
        // Garbage stops the walk at the last trusted hop.
        let got = l.client_addr(proxy, &xff("203.0.113.7, bogus"));
        assert_eq!(got, proxy);
        // Addresses with ports are read.
        let got = l.client_addr(proxy, &xff("[2001:db8::1]:443"));
        assert_eq!(got, "2001:db8::1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn ipv6_clients_count_by_their_64() {
        let a = ClientAddr::of("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = ClientAddr::of("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        let mapped = ClientAddr::of("::ffff:192.0.2.1".parse().unwrap());
        assert_eq!(mapped.0, "192.0.2.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_burst_passes_then_429_with_a_retry_after() {
        let l = limits(&[], |s| s.rate_signups = "3/min".parse().unwrap());
        let c = ClientAddr::of("192.0.2.1".parse().unwrap());
        for _ in 0..3 {
            assert!(l.signup(c).is_ok());
        }
        match l.signup(c) {
            Err(Error::RateLimited { retry_after }) => assert!((1..=20).contains(&retry_after)),
            other => panic!("{other:?}"),
        }
        // Another address has its own budget.
        assert!(
            l.signup(ClientAddr::of("192.0.2.2".parse().unwrap()))
                .is_ok()
        );
    }

    #[test]
    fn off_lets_everything_through() {
        let l = limits(&[], |s| {
            s.rate_limits = false;
            s.rate_signups = "1/h".parse().unwrap();
        });
        let c = ClientAddr::of("192.0.2.1".parse().unwrap());
        for _ in 0..10 {
            assert!(l.signup(c).is_ok());
        }
    }
}
