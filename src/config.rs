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
    pub code: String,
    /// The public key: the `x` of `GET /api/v1/tickets/key`, or that whole JWK as JSON.
    #[arg(long)]
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
    fn debug_output_hides_the_admin_token() {
        let mut s = Settings::defaults();
        s.admin_token = Some("very-secret-token".into());
        let shown = format!("{s:?}");
        assert!(!shown.contains("very-secret-token"), "{shown}");
        assert!(shown.contains("Secret(***)"));
    }
}
