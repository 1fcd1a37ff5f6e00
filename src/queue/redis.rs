//! The waiting queue in Redis, for any number of stateless instances.
//!
//! Every operation is one Lua script (see `redis.lua` for the key layout) that first brings the
//! concert's line up to date — active TTL, idle drop, admission in join order — so whichever
//! instance is called does the due work atomically and no instance is in charge. Changes are
//! published on a channel every instance subscribes to, which wakes SSE streams everywhere.
//! Redis being away answers 503 `QUEUE_UNAVAILABLE` within a second: nobody is let in unchecked.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::watch;
use uuid::Uuid;

use super::notify::Notifier;
use super::rate::AdmissionRate;
use super::token::{TicketId, TokenCodec};
use super::{GateTicket, Queue, QueueConfig, QueueSize, Ticket, TicketStatus};
use crate::clock::Millis;
use crate::error::{Error, Result};

const PRELUDE: &str = include_str!("redis.lua");
/// Longest any queue call waits for Redis before answering 503.
const TIMEOUT: Duration = Duration::from_secs(1);
/// Most tickets one script expires or admits per phase, so no script blocks Redis for long.
const BUDGET: u32 = 2000;

struct Scripts {
    join: Script,
    view: Script,
    leave: Script,
    finish: Script,
    maintain: Script,
}

impl Scripts {
    fn new() -> Self {
        let s = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
        Scripts {
            // ARGV 8 user, 9 new ticket id
            join: s(r#"
                maintain()
                local existing = redis.call('HGET', KEYS[5], ARGV[8])
                if existing then
                  local v = view(existing)
                  table.insert(v, '0')
                  return v
                end
                local seq = redis.call('HINCRBY', KEYS[6], 'seq', 1)
                redis.call('ZADD', KEYS[1], seq, ARGV[9])
                redis.call('ZADD', KEYS[3], now, ARGV[9])
                redis.call('HSET', KEYS[4], ARGV[9], ARGV[8])
                redis.call('HSET', KEYS[5], ARGV[8], ARGV[9])
                maintain()
                local v = view(ARGV[9])
                table.insert(v, '1')
                return v"#),
            // ARGV 8 ticket, 9 heartbeat (1/0)
            view: s(r#"
                maintain()
                if ARGV[9] == '1' then redis.call('ZADD', KEYS[3], 'XX', now, ARGV[8]) end
                return view(ARGV[8])"#),
            // ARGV 8 ticket
            leave: s(r#"
                local gone = remove(ARGV[8])
                maintain()
                if gone == 1 then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
                return gone"#),
            // ARGV 8 user
            finish: s(r#"
                local id = redis.call('HGET', KEYS[5], ARGV[8])
                local gone = 0
                if id then gone = remove(id) end
                maintain()
                if gone == 1 then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
                return gone"#),
            maintain: s("if maintain() then return 1 else return 0 end"),
        }
    }
}

pub struct RedisQueue {
    conn: ConnectionManager,
    prefix: String,
    codec: TokenCodec,
    config: QueueConfig,
    scripts: Scripts,
    notifier: Arc<Notifier>,
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::QueueUnavailable(e.to_string())
}

/// One script result row: see `view` in `redis.lua`.
struct View {
    id: TicketId,
    status: &'static str,
    n: i64,
    owner: Option<Uuid>,
    rate: AdmissionRate,
}

impl View {
    fn parse(row: &[String]) -> Result<View> {
        let field = |i: usize| row.get(i).map(String::as_str).unwrap_or("");
        let num = |i: usize| field(i).parse::<f64>().ok().map(|f| f as i64);
        let id = TicketId::from_str_radix(field(0), 16)
            .map_err(|_| Error::internal("bad ticket id from Redis"))?;
        let status = match field(1) {
            "ACTIVE" => "ACTIVE",
            "WAITING" => "WAITING",
            _ => "GONE",
        };
        Ok(View {
            id,
            status,
            n: num(2).unwrap_or(0),
            owner: Uuid::parse_str(field(3)).ok(),
            rate: AdmissionRate {
                bucket_start: num(4).unwrap_or(0),
                current: num(5).unwrap_or(0) as u64,
                previous: num(6).unwrap_or(0) as u64,
                first: num(7),
            },
        })
    }
}

impl RedisQueue {
    pub async fn connect(
        url: &str,
        prefix: &str,
        codec: TokenCodec,
        config: QueueConfig,
    ) -> Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| Error::internal(format!("bad Redis URL: {e}")))?;
        let cm_config = ConnectionManagerConfig::new()
            .set_connection_timeout(TIMEOUT)
            .set_response_timeout(TIMEOUT)
            .set_number_of_retries(1);
        let conn = tokio::time::timeout(
            TIMEOUT * 5,
            ConnectionManager::new_with_config(client.clone(), cm_config),
        )
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        let notifier = Arc::new(Notifier::default());
        let queue = RedisQueue {
            conn,
            prefix: prefix.to_owned(),
            codec,
            config,
            scripts: Scripts::new(),
            notifier: notifier.clone(),
        };
        spawn_subscriber(client, queue.channel(), notifier);
        Ok(queue)
    }

    fn channel(&self) -> String {
        format!("{}:queue-events", self.prefix)
    }

    fn keys(&self, concert: Uuid) -> [String; 6] {
        let base = format!("{}:q:{{{concert}}}", self.prefix);
        ["waiting", "active", "seen", "owners", "users", "meta"].map(|k| format!("{base}:{k}"))
    }

    fn registry(&self) -> String {
        format!("{}:concerts", self.prefix)
    }

    /// Runs a script for one concert with the common arguments and `extra` after them.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        concert: Uuid,
        now: Millis,
        extra: &[String],
    ) -> Result<T> {
        let mut inv = script.prepare_invoke();
        for k in self.keys(concert) {
            inv.key(k);
        }
        inv.arg(now)
            .arg(self.config.active_limit)
            .arg(self.config.active_ttl)
            .arg(self.config.idle_timeout)
            .arg(BUDGET)
            .arg(self.channel())
            .arg(concert.to_string());
        for a in extra {
            inv.arg(a);
        }
        let mut conn = self.conn.clone();
        tokio::time::timeout(TIMEOUT, inv.invoke_async(&mut conn))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }

    fn ticket(&self, concert: Uuid, v: &View, now: Millis) -> Result<Ticket> {
        let (status, position, eta, active_until) = match v.status {
            "ACTIVE" => (TicketStatus::Active, None, None, Some(v.n)),
            "WAITING" => {
                let pos = v.n as u64;
                (
                    TicketStatus::Waiting,
                    Some(pos),
                    v.rate.estimate(pos, now),
                    None,
                )
            }
            _ => return Err(Error::QueueTokenExpired),
        };
        Ok(Ticket {
            token: self.codec.encode(concert, v.id),
            concert_id: concert,
            status,
            position,
            estimated_wait_seconds: eta,
            active_until,
        })
    }

    async fn view(&self, token: &str, now: Millis, heartbeat: bool) -> Result<(Uuid, View)> {
        let (concert, id) = self.codec.decode(token)?;
        let hb = if heartbeat { "1" } else { "0" };
        let row: Vec<String> = self
            .run(
                &self.scripts.view,
                concert,
                now,
                &[format!("{id:032x}"), hb.into()],
            )
            .await?;
        let v = View::parse(&row)?;
        if v.status == "GONE" {
            return Err(Error::QueueTokenExpired);
        }
        Ok((concert, v))
    }
}

/// Wakes local SSE streams when any instance changes a line; reconnects by itself.
fn spawn_subscriber(client: redis::Client, channel: String, notifier: Arc<Notifier>) {
    tokio::spawn(async move {
        loop {
            match client.get_async_pubsub().await {
                Ok(mut pubsub) => {
                    if pubsub.subscribe(&channel).await.is_ok() {
                        let mut messages = pubsub.on_message();
                        while let Some(msg) = messages.next().await {
                            if let Ok(concert) = msg.get_payload::<String>()
                                && let Ok(concert) = Uuid::parse_str(&concert)
                            {
                                notifier.bump(concert);
                            }
                        }
                    }
                }
                Err(e) => tracing::debug!(error = %e, "queue event subscription failed; retrying"),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[async_trait]
impl Queue for RedisQueue {
    async fn join(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<(Ticket, bool)> {
        let (id, _) = self.codec.issue(concert_id);
        let row: Vec<String> = self
            .run(
                &self.scripts.join,
                concert_id,
                now,
                &[user_id.to_string(), format!("{id:032x}")],
            )
            .await?;
        let created = row.get(8).is_some_and(|c| c == "1");
        let v = View::parse(&row)?;
        let mut conn = self.conn.clone();
        let _: redis::RedisResult<()> = conn.sadd(self.registry(), concert_id.to_string()).await;
        Ok((self.ticket(concert_id, &v, now)?, created))
    }

    async fn poll(&self, token: &str, now: Millis) -> Result<Ticket> {
        let (concert, v) = self.view(token, now, true).await?;
        self.ticket(concert, &v, now)
    }

    async fn gate(&self, token: &str, now: Millis) -> Result<GateTicket> {
        let (concert, v) = self.view(token, now, false).await?;
        Ok(GateTicket {
            user_id: v
                .owner
                .ok_or_else(|| Error::internal("ticket without owner in Redis"))?,
            concert_id: concert,
            active: v.status == "ACTIVE",
        })
    }

    async fn leave(&self, token: &str, now: Millis) -> Result<()> {
        let (concert, id) = self.codec.decode(token)?;
        let gone: i64 = self
            .run(&self.scripts.leave, concert, now, &[format!("{id:032x}")])
            .await?;
        if gone == 1 {
            Ok(())
        } else {
            Err(Error::QueueTokenExpired)
        }
    }

    async fn finish(&self, user_id: Uuid, concert_id: Uuid, now: Millis) -> Result<()> {
        let _: i64 = self
            .run(
                &self.scripts.finish,
                concert_id,
                now,
                &[user_id.to_string()],
            )
            .await?;
        Ok(())
    }

    async fn tick(&self, now: Millis) -> Result<()> {
        let mut conn = self.conn.clone();
        let concerts: Vec<String> = tokio::time::timeout(TIMEOUT, conn.smembers(self.registry()))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        for c in concerts.iter().filter_map(|c| Uuid::parse_str(c).ok()) {
            let _: i64 = self.run(&self.scripts.maintain, c, now, &[]).await?;
        }
        Ok(())
    }

    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        self.notifier.subscribe(concert_id)
    }

    async fn sizes(&self) -> Result<Vec<QueueSize>> {
        let mut conn = self.conn.clone();
        let concerts: Vec<String> = tokio::time::timeout(TIMEOUT, conn.smembers(self.registry()))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        let mut sizes = Vec::new();
        for c in concerts.iter().filter_map(|c| Uuid::parse_str(c).ok()) {
            let [waiting, active, ..] = self.keys(c);
            let (w, a): (u64, u64) = tokio::time::timeout(
                TIMEOUT,
                redis::pipe()
                    .zcard(waiting)
                    .zcard(active)
                    .query_async(&mut conn),
            )
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
            sizes.push(QueueSize {
                concert_id: c,
                waiting: w,
                active: a,
            });
        }
        Ok(sizes)
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.conn.clone();
        let _: String = tokio::time::timeout(TIMEOUT, redis::cmd("PING").query_async(&mut conn))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        Ok(())
    }

    /// Redis keeps the lines; nothing to save.
    async fn shutdown(&self) -> Result<()> {
        Ok(())
    }
}
