//! Command line and environment settings: every setting is an `ENCORE_*` variable and a `serve` flag.

use std::time::Duration;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "encore",
    version,
    about = "Concert ticket reservations with a fair waiting queue"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings for the default `serve` command when no subcommand is given.
    #[command(flatten)]
    pub serve: Settings,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the HTTP API (the default).
    Serve(Box<Settings>),
    /// Check a ticket code offline against the public key; prints the payload. Exit 0 when the
    /// signature verifies, 1 otherwise.
    VerifyTicket(VerifyTicket),
}

#[derive(Debug, Args)]
pub struct VerifyTicket {
    /// The ticket's code (a compact JWS).
    #[arg(allow_hyphen_values = true)]
    pub code: String,
    /// The public key: the `x` of `GET /api/v1/tickets/key`, or that whole JWK as JSON.
    /// Base64url may begin with `-`, so a value starting with one is taken as the key.
    #[arg(long, allow_hyphen_values = true)]
    pub key: String,
}

fn duration(s: &str) -> Result<Duration, String> {
    let d = humantime::parse_duration(s).map_err(|e| e.to_string())?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    // Times are epoch milliseconds in i64; a year keeps every `now + ttl` far from overflow.
    if d > Duration::from_secs(366 * 24 * 3600) {
        return Err("must be at most a year".into());
    }
    Ok(d)
}

/// Everything `encore serve` can be told. Field docs are the `--help` text.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Address to serve on.
    #[arg(long, env = "ENCORE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// `sqlite://FILE` (embedded, one instance) or `postgres://…` (any number of instances).
    #[arg(
        long,
        env = "ENCORE_DATABASE_URL",
        default_value = "sqlite://encore.db"
    )]
    pub database_url: String,
    /// Redis URL: set, the waiting queue lives in Redis; unset, an embedded queue is used.
    #[arg(long, env = "ENCORE_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments (or tests) can share one Redis.
    #[arg(long, env = "ENCORE_REDIS_PREFIX", default_value = "encore")]
    pub redis_prefix: String,
    /// Admin bearer token; unset, one is generated at start and logged once.
    #[arg(long, env = "ENCORE_ADMIN_TOKEN")]
    pub admin_token: Option<Secret>,
    /// Bearer token of check-in gates (`POST /checkins`); the admin token works there too.
    #[arg(long, env = "ENCORE_STAFF_TOKEN")]
    pub staff_token: Option<Secret>,
    /// How long a seat hold lasts.
    #[arg(long, env = "ENCORE_HOLD_TTL", default_value = "5m", value_parser = duration)]
    pub hold_ttl: Duration,
    /// ACTIVE queue tickets per concert.
    #[arg(long, env = "ENCORE_QUEUE_ACTIVE_LIMIT", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub queue_active_limit: u32,
    /// How long an admitted user may stay.
    #[arg(long, env = "ENCORE_QUEUE_ACTIVE_TTL", default_value = "10m", value_parser = duration)]
    pub queue_active_ttl: Duration,
    /// A WAITING ticket not polled or streamed for this long is dropped.
    #[arg(long, env = "ENCORE_QUEUE_IDLE_TIMEOUT", default_value = "2m", value_parser = duration)]
    pub queue_idle_timeout: Duration,
    /// Live holds per user per schedule.
    #[arg(long, env = "ENCORE_MAX_HOLDS_PER_USER", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_holds_per_user: u32,
    /// Places in one reservation (an order), 1 to 20.
    #[arg(long, env = "ENCORE_MAX_SEATS_PER_ORDER", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_seats_per_order: u32,
    /// Live-held plus paid places per fan per concert, over all its schedules and queue rounds.
    #[arg(long, env = "ENCORE_MAX_TICKETS_PER_USER", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_tickets_per_user: u32,
    /// Largest single wallet charge, in won.
    #[arg(long, env = "ENCORE_MAX_CHARGE", default_value_t = 10_000_000, value_parser = clap::value_parser!(i64).range(1..=1_000_000_000_000))]
    pub max_charge: i64,
    /// Database connection pool size (PostgreSQL; SQLite uses it for readers).
    #[arg(long, env = "ENCORE_DB_POOL_SIZE", default_value_t = 16)]
    pub db_pool_size: u32,
    /// Longest a single SQL statement may run (PostgreSQL `statement_timeout`).
    #[arg(long, env = "ENCORE_DB_STATEMENT_TIMEOUT", default_value = "5s", value_parser = duration)]
    pub db_statement_timeout: Duration,
    /// How often expired holds are marked EXPIRED in the database (answers never wait for it).
    #[arg(long, env = "ENCORE_SWEEP_INTERVAL", default_value = "1s", value_parser = duration)]
    pub sweep_interval: Duration,
    /// Log format: `text` or `json`.
    #[arg(long, env = "ENCORE_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
    /// Seed a few sample concerts with open schedules into an empty database.
    #[arg(long)]
    pub demo: bool,
    /// `on` or `off`: `off` turns every rate limit below off (tests and benchmarks, which send
    /// many calls from one address).
    #[arg(long, env = "ENCORE_RATE_LIMITS", default_value = "on", value_parser = on_off)]
    pub rate_limits: bool,
    /// Sign-ups per client address: `N/s`, `N/min` or `N/h`.
    #[arg(long, env = "ENCORE_RATE_SIGNUPS", default_value = "20/min")]
    pub rate_signups: Rate,
    /// Queue joins per client address.
    #[arg(long, env = "ENCORE_RATE_JOINS", default_value = "60/min")]
    pub rate_joins: Rate,
    /// API keys this instance does not know yet, looked up per client address: a guessing
    /// client is refused before its guesses reach the database.
    #[arg(long, env = "ENCORE_RATE_BAD_KEYS", default_value = "100/min")]
    pub rate_bad_keys: Rate,
    /// Requests per API key.
    #[arg(long, env = "ENCORE_RATE_PER_KEY", default_value = "50/s")]
    pub rate_per_key: Rate,
    /// Comma-separated CIDRs of reverse proxies whose `X-Forwarded-For` is believed; the client
    /// address is then the last hop not in these ranges. Unset: the socket's address.
    #[arg(long, env = "ENCORE_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// PostgreSQL without `ENCORE_REDIS_URL` keeps the waiting queue in this process, which is
    /// right for one instance only: start is refused unless this says so.
    #[arg(long, env = "ENCORE_SINGLE_INSTANCE", default_value = "off", value_parser = on_off,
          num_args = 0..=1, default_missing_value = "on")]
    pub single_instance: bool,
    /// Proof of work on join: leading zero bits of `sha256(challenge + "." + nonce)`, 0 (off)
    /// to 30. Each step doubles the work: 16 is well under a second in a browser.
    #[arg(long, env = "ENCORE_QUEUE_POW_BITS", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=30))]
    pub queue_pow_bits: u8,
    /// Open client connections at most; past it a connection gets one 503 answer (`/health`
    /// still answers) and is closed. Lowered at start to fit the process's file limit.
    #[arg(long, env = "ENCORE_MAX_CONNECTIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,
    /// Time a client has to send a request's headers, on a new connection or on a kept-alive
    /// idle one; past it the connection is closed.
    #[arg(long, env = "ENCORE_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_timeout: Duration,
    /// Longest a request may take before it is answered 503 (the event stream is exempt).
    #[arg(long, env = "ENCORE_REQUEST_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub request_timeout: Duration,
    /// On SIGTERM, how long requests in flight may finish before the process exits anyway.
    #[arg(long, env = "ENCORE_DRAIN_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub drain_timeout: Duration,
    /// `on` lets webhooks target loopback, private and link-local addresses (a webhook URL is
    /// otherwise refused when it names one, and a delivery when its host resolves to one).
    #[arg(long, env = "ENCORE_WEBHOOK_ALLOW_PRIVATE", default_value = "off", value_parser = on_off)]
    pub webhook_allow_private: bool,
    /// The wait after a webhook delivery's first failed attempt; each next wait doubles, and
    /// attempts stop 24 hours after the event.
    #[arg(long, env = "ENCORE_WEBHOOK_RETRY_BASE", default_value = "5s", value_parser = duration)]
    pub webhook_retry_base: Duration,
    /// How long one webhook delivery attempt may take (connect, send, answer).
    #[arg(long, env = "ENCORE_WEBHOOK_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub webhook_timeout: Duration,
}

fn on_off(s: &str) -> Result<bool, String> {
    match s.to_ascii_lowercase().as_str() {
        "on" | "true" | "1" | "yes" => Ok(true),
        "off" | "false" | "0" | "no" => Ok(false),
        _ => Err("must be on or off".into()),
    }
}

/// A rate limit: `N` calls per second, minute or hour (`20/min`), allowed in a burst and
/// refilled evenly over the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: std::num::NonZeroU32,
    pub per: Duration,
}

impl std::str::FromStr for Rate {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?} is not N/s, N/min or N/h with N > 0");
        let (n, unit) = s.trim().split_once('/').ok_or_else(bad)?;
        let count = n.trim().parse().map_err(|_| bad())?;
        let per = match unit.trim() {
            "s" | "sec" => Duration::from_secs(1),
            "min" | "m" => Duration::from_secs(60),
            "h" | "hour" => Duration::from_secs(3600),
            _ => return Err(bad()),
        };
        Ok(Rate { count, per })
    }
}

/// A setting that must never reach a log: `Debug` prints `Secret(***)`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Self {
        Secret(s.to_owned())
    }
}

impl Settings {
    /// Defaults as `encore serve` with no flags and no environment would have them.
    pub fn defaults() -> Self {
        let cli = Cli::parse_from(["encore"]);
        cli.serve
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_ticket_takes_a_key_that_begins_with_a_hyphen() {
        let cli = Cli::try_parse_from(["encore", "verify-ticket", "eyJ.a.b", "--key", "-6Xk"])
            .expect("a base64url key may begin with '-'");
        match cli.command {
            Some(Command::VerifyTicket(v)) => {
                assert_eq!((v.code.as_str(), v.key.as_str()), ("eyJ.a.b", "-6Xk"))
            }
            other => panic!("parsed as {other:?}"),
        }
    }

    #[test]
    fn debug_output_hides_the_admin_token() {
        let mut s = Settings::defaults();
        s.admin_token = Some("very-secret-token".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("Secret(***)"));
    }

    #[test]
    fn rates_read_per_second_minute_and_hour() {
        let r: Rate = "20/min".parse().unwrap();
        assert_eq!((r.count.get(), r.per), (20, Duration::from_secs(60)));
        assert_eq!("50/s".parse::<Rate>().unwrap().per, Duration::from_secs(1));
        assert_eq!(
            "3/h".parse::<Rate>().unwrap().per,
            Duration::from_secs(3600)
        );
        for bad in ["0/s", "x/s", "5", "5/day", "-1/min"] {
            assert!(bad.parse::<Rate>().is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_turn_limits_on_and_trust_no_proxy() {
        let s = Settings::defaults();
        assert!(s.rate_limits);
        assert!(s.trusted_proxies.is_empty());
        assert!(!s.single_instance);
    }
}
