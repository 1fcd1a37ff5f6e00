//! The waiting queue in Redis, for any number of stateless instances.
//!
//! Every operation is one Lua script (see `redis.lua` for the key layout) that first brings the
//! concert's line up to date — active TTL, idle drop, admission in join order — so whichever
//! instance is called does the due work atomically and no instance is in charge. Changes are
//! published on a channel every instance subscribes to, which wakes SSE streams everywhere.
//! Redis being away answers 503 `QUEUE_UNAVAILABLE` within a second: nobody is let in unchecked.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::{AsyncCommands, Script, Value};
use tokio::sync::{mpsc, oneshot, watch};
use uuid::Uuid;

use super::beats::Beats;
use super::controls::{Admission, Sale};
use super::notify::Notifier;
use super::rate::AdmissionRate;
use super::token::{TicketId, TokenCodec, Verified};
use super::{GateTicket, Joined, Queue, QueueConfig, QueueSize, Standing, Ticket, draw};
use crate::clock::{self, Millis};
use crate::error::{Error, Result};
use link::{Conn, Link};

pub mod link;

const PRELUDE: &str = include_str!("redis.lua");
/// Longest any queue call waits for Redis before answering 503.
const TIMEOUT: Duration = Duration::from_secs(1);
/// The budget of the draw: once per on-sale, one script copies the pre-queue (already in drawn
/// order) into the line, while the other calls wait for it.
const DRAW_TIMEOUT: Duration = Duration::from_secs(10);
/// Most tickets one script expires or admits per phase, so no script blocks Redis for long.
const BUDGET: u32 = 2000;

#[derive(Clone)]
struct Scripts {
    join_many: Script,
    view_many: Script,
    leave: Script,
    finish: Script,
    maintain: Script,
    forget: Script,
    draw: Script,
}

impl Scripts {
    fn new() -> Self {
        let s = |body: &str| Script::new(&format!("{PRELUDE}\n{body}"));
        Scripts {
            // ARGV 9.. triples of (user, new ticket id, its draw key before the on-sale time,
            // else ''). A user already in line keeps their ticket. Before the on-sale time (and
            // until the draw) a new ticket goes into the pre-queue instead of the line.
            // Answers 2 fields a join: the standing (`code_of`) and the ticket id of a user who
            // was in line already ('' when the caller's new ticket was added), then the rate.
            //
            // A new ticket goes to the back, so its position is the line's length just after it
            // was added: in a flash crowd (no free slot, so no admission) that saves the
            // lookups of `code_of` per join. Only when a slot is free does the line move, and
            // then every ticket is looked up after admission.
            join_many: s(r#"
                maintain()
                local joined, added = {}, false
                -- The join counter and the line's length are read once and kept here.
                local seq = tonumber(redis.call('HGET', KEYS[6], 'seq')) or 0
                local length = redis.call('ZCARD', KEYS[1])
                local drawn = redis.call('HGET', KEYS[6], 'drawn')
                for i = 9, #ARGV, 3 do
                  local id = redis.call('HGET', KEYS[5], ARGV[i])
                  -- A ticket whose owner entry is gone or that is in no line is no ticket: drop
                  -- the leftovers and give the user a new one.
                  if id and (redis.call('HGET', KEYS[4], id) ~= ARGV[i] or code_of(id) == 0) then
                    remove(id)
                    redis.call('HDEL', KEYS[5], ARGV[i])
                    id = nil
                  end
                  local position = nil
                  if not id then
                    id, added = ARGV[i + 1], true
                    seq = seq + 1
                    local key = ARGV[i + 2]
                    if key ~= '' and not drawn then
                      position = -1
                      redis.call('ZADD', KEYS[7], string.format('%d', seq), id)
                      redis.call('ZADD', KEYS[9], key, id)
                      if redis.call('ZCOUNT', KEYS[9], key, key) > 1 then
                        redis.call('SADD', KEYS[10], key)
                      end
                    else
                      length = length + 1
                      position = length
                      redis.call('ZADD', KEYS[1], string.format('%d', LATER + seq), id)
                      redis.call('ZADD', KEYS[3], ARGV[1], id)
                    end
                    redis.call('HSET', KEYS[4], id, ARGV[i])
                    redis.call('HSET', KEYS[5], ARGV[i], id)
                  end
                  joined[#joined + 1] = {id, position}
                end
                if added then redis.call('HSET', KEYS[6], 'seq', string.format('%d', seq)) end
                local moved = added and redis.call('ZCARD', KEYS[2]) < limit
                if moved then maintain() end
                local out, n = {}, 0
                for _, j in ipairs(joined) do
                  local code = j[2]
                  if not code or moved then code = code_of(j[1]) end
                  out[n + 1], out[n + 2] = code, j[2] and '' or j[1]
                  n = n + 2
                end
                return with_rate(out)"#),
            // ARGV 9.. pairs of (ticket, kind): 'b' a poll that is also the ticket's heartbeat,
            // 'p' a poll whose heartbeat this instance sent lately (see `beats.rs`), 'g' a gate
            // check, which needs the owner and is no heartbeat. Only a waiter has a heartbeat:
            // `seen` holds exactly the WAITING tickets.
            // Answers 2 fields a ticket, the standing (`code_of`) and the owner ('' unless a
            // gate check asked for it), then the rate.
            view_many: s(r#"
                maintain()
                local out, n = {}, 0
                for i = 9, #ARGV, 2 do
                  local id, kind = ARGV[i], ARGV[i + 1]
                  local code = code_of(id)
                  if kind == 'b' and code > 0 then redis.call('ZADD', KEYS[3], 'XX', ARGV[1], id) end
                  local owner = ''
                  if kind == 'g' and code ~= 0 then
                    owner = redis.call('HGET', KEYS[4], id)
                    -- A ticket nobody owns any more lets nobody in: it is gone.
                    if not owner then remove(id); code, owner = 0, '' end
                  end
                  out[n + 1], out[n + 2] = code, owner
                  n = n + 2
                end
                return with_rate(out)"#),
            // ARGV 9 ticket
            leave: s(r#"
                maintain()
                local gone = remove(ARGV[9])
                maintain()
                if gone == 1 then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
                return gone"#),
            // ARGV 9 user
            finish: s(r#"
                local id = redis.call('HGET', KEYS[5], ARGV[9])
                local gone = 0
                if id then gone = remove(id) end
                maintain()
                if gone == 1 then redis.call('PUBLISH', ARGV[6], ARGV[7]) end
                return gone"#),
            // Answers 2 when the line is empty afterwards (nobody waiting, admitted or in the pre-queue), so the
            // tick can let the registry forget it.
            maintain: s(r#"
                local changed = maintain()
                if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2])
                    + redis.call('ZCARD', KEYS[7]) == 0 then return 2 end
                if changed then return 1 else return 0 end"#),
            // KEYS[1] the registry; ARGV 1 concert, 2 the latest registration time that may go.
            // Atomic with registrations: a line registered again meanwhile stays.
            forget: Script::new(
                r#"local at = redis.call('ZSCORE', KEYS[1], ARGV[1])
                   if at and tonumber(at) <= tonumber(ARGV[2]) then
                     redis.call('ZREM', KEYS[1], ARGV[1])
                     return 1
                   end
                   return 0"#,
            ),
            // ARGV 9 how many tied draw keys the caller read, 10.. pairs of (ticket, score)
            // ordering the tickets of those keys by the whole HMAC (`draw::tie_scores`).
            // Once only. Answers how many tickets were drawn (0 if drawn already), or -1 when
            // keys have tied since the caller read them: it reads them again and retries.
            // The pre-queue is kept in drawn order as fans join (`order`), so the draw renames
            // it to the record and copies it into the line and the heartbeats (score 0: seen at
            // the draw): a few commands whatever its size, no Lua loop over 100,000 tickets.
            draw: s(r#"
                if redis.call('HGET', KEYS[6], 'drawn') then return 0 end
                if redis.call('SCARD', KEYS[10]) ~= tonumber(ARGV[9]) then return -1 end
                for i = 10, #ARGV, 2 do
                  redis.call('ZADD', KEYS[9], 'XX', ARGV[i + 1], ARGV[i])
                end
                local drawn = redis.call('ZCARD', KEYS[9])
                if drawn > 0 then
                  redis.call('RENAME', KEYS[9], KEYS[8])
                  if redis.call('EXISTS', KEYS[1]) == 0 then
                    redis.call('COPY', KEYS[8], KEYS[1])
                  else
                    redis.call('ZUNIONSTORE', KEYS[1], 2, KEYS[1], KEYS[8])
                  end
                  redis.call('ZUNIONSTORE', KEYS[3], 2, KEYS[3], KEYS[8], 'WEIGHTS', 1, 0)
                end
                redis.call('UNLINK', KEYS[7], KEYS[10])
                redis.call('HSET', KEYS[6], 'drawn', ARGV[1])
                maintain()
                redis.call('PUBLISH', ARGV[6], ARGV[7])
                return drawn"#),
        }
    }
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::QueueUnavailable(e.to_string())
}

/// Key names of one concert's line, and its id as a script argument.
struct KeyNames {
    keys: [String; 10],
    concert: String,
}

/// How old this instance's copy of a sold-out concert's ACTIVE tickets may be. Sold out means no
/// free place and no live hold, so nobody is admitted while it lasts; a fan admitted just before
/// by an instance whose view of the places was still a second old shows here within a second.
const ACTIVE_COPY_AGE: Millis = 1_000;

/// How often an instance that takes joins for a concert puts it in the registry again. Joins
/// keep a line's registration this fresh, so the tick never forgets a line someone just joined.
const REGISTER_EVERY: Millis = 10_000;
/// How long an empty line stays in the registry after its last registration; far longer than
/// `REGISTER_EVERY`, and longer than any clock skew between instances.
const FORGET_AFTER: Millis = 120_000;
/// A concert this instance has not been asked about for this long gives up its batchers; the
/// next call starts them again.
const LOCAL_IDLE: Millis = 300_000;

/// A sold-out concert's ACTIVE tickets and when each one's ACTIVE time ends.
type ActiveCopy = Arc<HashMap<TicketId, Millis>>;

/// What this instance keeps per concert: key names built once, when it last registered the
/// concert, the batchers that answer its polls and joins, the heartbeats it sent, and when it
/// was last asked about it.
struct ConcertState {
    names: Arc<KeyNames>,
    registered_at: AtomicI64,
    used_at: AtomicI64,
    /// The pre-queue is known drawn: no call needs to make sure of it again.
    drawn: AtomicBool,
    /// One draw at a time per instance: the calls that arrive meanwhile wait for it instead of
    /// each reading the whole pre-queue.
    drawing: tokio::sync::Mutex<()>,
    /// While the concert is sold out: its ACTIVE tickets and their ends, read from Redis at most
    /// [`ACTIVE_COPY_AGE`] ago. Every other ticket reads SOLD_OUT without a call to Redis.
    active_copy: parking_lot::Mutex<Option<(Millis, ActiveCopy)>>,
    /// One read of the ACTIVE tickets at a time per instance.
    copying: tokio::sync::Mutex<()>,
    views: mpsc::Sender<Pending>,
    joins: mpsc::Sender<Pending>,
    beats: Beats,
}

/// What every call needs; cheap to clone into a batcher task.
#[derive(Clone)]
struct Ctx {
    conn: Conn,
    /// For connections of their own (the draw's).
    link: Arc<Link>,
    config: QueueConfig,
    channel: Arc<str>,
}

impl Ctx {
    /// Runs a script for one concert with the common arguments (the time is `adm.now`) and
    /// `extra` after them, on `conn`: the shared connection with [`TIMEOUT`], or one of its
    /// own with a longer `budget`.
    async fn run<T: redis::FromRedisValue>(
        &self,
        conn: &mut impl redis::aio::ConnectionLike,
        budget: Duration,
        script: &Script,
        names: &KeyNames,
        adm: &Admission,
        extra: &[String],
    ) -> Result<T> {
        let mut inv = script.prepare_invoke();
        for k in &names.keys {
            inv.key(k);
        }
        inv.arg(adm.now)
            .arg(adm.limit)
            .arg(self.config.active_ttl)
            .arg(self.config.idle_timeout)
            .arg(BUDGET)
            .arg(&*self.channel)
            .arg(&names.concert)
            .arg(adm.per_minute.map_or(String::new(), |n| n.to_string()));
        for a in extra {
            inv.arg(a);
        }
        tokio::time::timeout(budget, inv.invoke_async(conn))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)
    }

    /// A connection of its own whose answers may take up to `budget`: the shared one gives up
    /// on an answer after [`TIMEOUT`], which a script that long (the draw) would outlive.
    async fn own_connection(&self, budget: Duration) -> Result<Conn> {
        self.link.own(budget).await
    }
}

/// One call's part of a batched answer: the ticket's standing as `code_of` in `redis.lua` gives
/// it, the call's text field (a gate check's owner, a re-join's ticket id, otherwise empty), and
/// the concert's admission rate.
struct Answer {
    code: i64,
    /// The script's second value for this call: the owner for a gate check, the ticket the user
    /// already holds for a join, otherwise empty. Read it through `owner` or `existing_ticket`.
    second: String,
    rate: AdmissionRate,
}

impl Answer {
    /// A gate check's ticket owner.
    fn owner(&self) -> Result<Uuid> {
        Uuid::parse_str(&self.second).map_err(|_| Error::internal("ticket without owner in Redis"))
    }

    /// A join's answer: the ticket the user already had in line, if any.
    fn existing_ticket(&self) -> Result<Option<TicketId>> {
        if self.second.is_empty() {
            return Ok(None);
        }
        TicketId::from_str_radix(&self.second, 16)
            .map(Some)
            .map_err(|_| Error::internal("bad ticket id from Redis"))
    }

    /// WAITING at a position, ACTIVE until a time, or gone (`QUEUE_TOKEN_EXPIRED`).
    fn standing(&self) -> Result<Standing> {
        match self.code {
            0 => Err(Error::QueueTokenExpired),
            -1 => Ok(Standing::PreQueue),
            n if n > 0 => Ok(Standing::Waiting {
                position: n as u64,
                rate: self.rate,
            }),
            n => Ok(Standing::Active { until: -n }),
        }
    }
}

fn text(v: &Value) -> &str {
    match v {
        Value::BulkString(b) => std::str::from_utf8(b).unwrap_or(""),
        _ => "",
    }
}

fn parse_rate(f: &[Value]) -> AdmissionRate {
    let at = |i: usize| {
        f.get(i)
            .and_then(|v| text(v).parse::<f64>().ok())
            .map(|n| n as i64)
    };
    AdmissionRate {
        bucket_start: at(0).unwrap_or(0),
        current: at(1).unwrap_or(0) as u64,
        previous: at(2).unwrap_or(0) as u64,
        first: at(3),
    }
}

/// The two fields of one call out of a batched answer.
fn answer(code: Value, field: Value, rate: AdmissionRate) -> Result<Answer> {
    let Value::Int(code) = code else {
        return Err(Error::internal("bad standing from Redis"));
    };
    let second = match field {
        Value::BulkString(b) => {
            String::from_utf8(b).map_err(|_| Error::internal("bad text from Redis"))?
        }
        _ => String::new(),
    };
    Ok(Answer { code, second, rate })
}

/// A call waiting for its concert's batcher: its script arguments (three for a join, two for a
/// view), and where its part of the answer goes.
struct Pending {
    args: [String; 3],
    adm: Admission,
    reply: oneshot::Sender<Result<Answer>>,
}

/// Most calls one script call answers.
const MAX_BATCH: usize = 256;

/// Answers a concert's calls of one kind (polls and gate checks, or joins) in batches: every
/// call that queued while the previous script call was in flight goes into the next one. Alone,
/// a call is sent at once; in a flash crowd, one round trip to Redis answers hundreds. The
/// script answers two fields per call, then the admission rate.
async fn batcher(
    ctx: Ctx,
    script: Script,
    joins: bool,
    names: Arc<KeyNames>,
    mut rx: mpsc::Receiver<Pending>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(r) => batch.push(r),
                Err(_) => break,
            }
        }
        // The latest call's limits, at the latest call's time, stand for the batch: all of one
        // concert, moments apart.
        let now = batch
            .iter()
            .map(|r| r.adm.now)
            .max()
            .unwrap_or_else(clock::now);
        let adm = Admission {
            now,
            ..batch[batch.len() - 1].adm
        };
        let per_call = if joins { 3 } else { 2 };
        let mut extra = Vec::with_capacity(batch.len() * per_call);
        for r in &mut batch {
            extra.extend(std::mem::take(&mut r.args).into_iter().take(per_call));
        }
        let mut conn = ctx.conn.clone();
        match ctx
            .run::<Vec<Value>>(&mut conn, TIMEOUT, &script, &names, &adm, &extra)
            .await
        {
            Ok(mut rows) if rows.len() == batch.len() * 2 + 4 => {
                let rate = parse_rate(&rows[batch.len() * 2..]);
                rows.truncate(batch.len() * 2);
                let mut fields = rows.into_iter();
                for r in batch {
                    let (Some(code), Some(field)) = (fields.next(), fields.next()) else {
                        break; // the length was checked above
                    };
                    let _ = r.reply.send(answer(code, field, rate));
                }
            }
            Ok(_) => {
                for r in batch {
                    let _ = r
                        .reply
                        .send(Err(Error::internal("short answer from Redis")));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for r in batch {
                    let _ = r.reply.send(Err(Error::QueueUnavailable(msg.clone())));
                }
            }
        }
    }
}

pub struct RedisQueue {
    ctx: Ctx,
    prefix: String,
    concerts: parking_lot::Mutex<HashMap<Uuid, Arc<ConcertState>>>,
    codec: TokenCodec,
    scripts: Scripts,
    notifier: Arc<Notifier>,
}

impl RedisQueue {
    pub async fn connect(
        url: &str,
        prefix: &str,
        codec: TokenCodec,
        config: QueueConfig,
    ) -> Result<Self> {
        let link = Arc::new(Link::open(url, TIMEOUT).await?);
        let conn = link.shared().await?;
        check_eviction(&mut conn.clone()).await?;
        let notifier = Arc::new(Notifier::default());
        let channel: Arc<str> = format!("{prefix}:queue-events").into();
        spawn_subscriber(link.clone(), channel.to_string(), notifier.clone());
        Ok(RedisQueue {
            ctx: Ctx {
                conn,
                link,
                config,
                channel,
            },
            prefix: prefix.to_owned(),
            concerts: Default::default(),
            codec,
            scripts: Scripts::new(),
            notifier,
        })
    }

    fn names(&self, concert: Uuid) -> KeyNames {
        let base = format!("{}:q:{{{concert}}}", self.prefix);
        KeyNames {
            keys: [
                "waiting", "active", "seen", "owners", "users", "meta", "pre", "record", "order",
                "ties",
            ]
            .map(|k| format!("{base}:{k}")),
            concert: concert.to_string(),
        }
    }

    fn concert(&self, concert: Uuid) -> Arc<ConcertState> {
        let state = self
            .concerts
            .lock()
            .entry(concert)
            .or_insert_with(|| {
                let names = Arc::new(self.names(concert));
                // One batcher task for the concert's polls and one for its joins.
                let start = |script: &Script, joins: bool| {
                    let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
                    let ctx = self.ctx.clone();
                    tokio::spawn(batcher(ctx, script.clone(), joins, names.clone(), rx));
                    tx
                };
                let views = start(&self.scripts.view_many, false);
                let joins = start(&self.scripts.join_many, true);
                Arc::new(ConcertState {
                    names,
                    registered_at: AtomicI64::new(0),
                    used_at: AtomicI64::new(clock::now()),
                    drawn: AtomicBool::new(false),
                    drawing: tokio::sync::Mutex::new(()),
                    active_copy: parking_lot::Mutex::new(None),
                    copying: tokio::sync::Mutex::new(()),
                    views,
                    joins,
                    beats: Beats::new(self.ctx.config.idle_timeout),
                })
            })
            .clone();
        // Written at most once a second, so a crowd's calls do not all write one cache line.
        let now = clock::now();
        if now - state.used_at.load(Ordering::Relaxed) > 1000 {
            state.used_at.store(now, Ordering::Relaxed);
        }
        state
    }

    /// The concerts whose lines every instance's tick maintains: a sorted set scored by the
    /// time each was last registered by a join.
    fn registry(&self) -> String {
        format!("{}:lines", self.prefix)
    }

    /// The registry's concerts.
    async fn registered(&self) -> Result<Vec<Uuid>> {
        let mut conn = self.ctx.conn.clone();
        let ids: Vec<String> = tokio::time::timeout(TIMEOUT, conn.zrange(self.registry(), 0, -1))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        Ok(ids.iter().filter_map(|c| Uuid::parse_str(c).ok()).collect())
    }

    /// The key names of a concert's line: this instance's own if it has them, else built for
    /// the call, so maintaining a line adds no state here.
    fn names_of(&self, concert: Uuid) -> Arc<KeyNames> {
        match self.concerts.lock().get(&concert) {
            Some(state) => state.names.clone(),
            None => Arc::new(self.names(concert)),
        }
    }

    /// Forgets an empty line unless a join registered it within `FORGET_AFTER`; atomic with
    /// registrations, so a line joined meanwhile stays.
    async fn forget_if_stale(&self, concert: Uuid, now: Millis) -> Result<()> {
        let mut conn = self.ctx.conn.clone();
        let _: i64 = tokio::time::timeout(
            TIMEOUT,
            self.scripts
                .forget
                .key(self.registry())
                .arg(concert.to_string())
                .arg(now - FORGET_AFTER)
                .invoke_async(&mut conn),
        )
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        Ok(())
    }

    /// Runs a script for a concert on the shared connection, its pre-queue drawn first if due.
    async fn run<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        concert: Uuid,
        adm: &Admission,
        extra: &[String],
    ) -> Result<T> {
        self.ready(concert, adm).await?;
        let mut conn = self.ctx.conn.clone();
        let names = &self.concert(concert).names;
        self.ctx
            .run(&mut conn, TIMEOUT, script, names, adm, extra)
            .await
    }

    /// Makes sure the pre-queue is drawn once the on-sale time has come, before any call moves
    /// the line: whichever instance gets there first draws, in one script, and every other
    /// call of every instance finds it done.
    async fn ready(&self, concert: Uuid, adm: &Admission) -> Result<()> {
        let Sale::Draw(seed) = adm.sale else {
            return Ok(());
        };
        let state = self.concert(concert);
        if state.drawn.load(Ordering::Acquire) {
            return Ok(());
        }
        let _one = tokio::time::timeout(DRAW_TIMEOUT * 2, state.drawing.lock())
            .await
            .map_err(unavailable)?;
        if state.drawn.load(Ordering::Acquire) {
            return Ok(());
        }
        // Copying 100,000 tickets blocks Redis for a while: the draw goes on a connection of its
        // own that waits for it. A draw that outlived its budget may still have run: the next
        // call finds it done.
        let mut conn = self.ctx.own_connection(DRAW_TIMEOUT).await?;
        let mut tries = 0;
        loop {
            let args = self.tie_scores(&mut conn, &state.names, &seed).await?;
            let drawn: i64 = self
                .ctx
                .run(
                    &mut conn,
                    DRAW_TIMEOUT,
                    &self.scripts.draw,
                    &state.names,
                    adm,
                    &args,
                )
                .await?;
            tries += 1;
            if drawn >= 0 {
                break;
            }
            // Keys tied meanwhile (a join through an instance still before the on-sale time).
            if tries == 5 {
                return Err(unavailable("the pre-queue kept changing during the draw"));
            }
        }
        state.drawn.store(true, Ordering::Release);
        Ok(())
    }

    /// The ACTIVE tickets of a sold-out concert, at most [`ACTIVE_COPY_AGE`] old: one read of
    /// at most the active limit's tickets a second, however many fans poll.
    async fn active_copy(&self, state: &ConcertState, now: Millis) -> Result<ActiveCopy> {
        let fresh = || {
            state
                .active_copy
                .lock()
                .as_ref()
                .filter(|(at, _)| now - at < ACTIVE_COPY_AGE)
                .map(|(_, copy)| copy.clone())
        };
        if let Some(copy) = fresh() {
            return Ok(copy);
        }
        let _one = tokio::time::timeout(TIMEOUT, state.copying.lock())
            .await
            .map_err(unavailable)?;
        if let Some(copy) = fresh() {
            return Ok(copy);
        }
        let read_at = clock::now();
        let mut conn = self.ctx.conn.clone();
        let rows: Vec<(String, f64)> =
            tokio::time::timeout(TIMEOUT, conn.zrange_withscores(&state.names.keys[1], 0, -1))
                .await
                .map_err(unavailable)?
                .map_err(unavailable)?;
        let copy: ActiveCopy = Arc::new(
            rows.iter()
                .filter_map(|(id, until)| {
                    Some((TicketId::from_str_radix(id, 16).ok()?, *until as Millis))
                })
                .collect(),
        );
        *state.active_copy.lock() = Some((read_at, copy.clone()));
        Ok(copy)
    }

    /// The draw script's arguments: how many draw keys tie in the pre-queue, then each tied
    /// ticket with the score that orders it by its whole HMAC.
    async fn tie_scores(
        &self,
        conn: &mut Conn,
        names: &KeyNames,
        seed: &[u8; 32],
    ) -> Result<Vec<String>> {
        let tied: Vec<u64> = tokio::time::timeout(DRAW_TIMEOUT, conn.smembers(&names.keys[9]))
            .await
            .map_err(unavailable)?
            .map_err(unavailable)?;
        let mut args = vec![tied.len().to_string()];
        for key in tied {
            let ids: Vec<String> =
                tokio::time::timeout(DRAW_TIMEOUT, conn.zrangebyscore(&names.keys[8], key, key))
                    .await
                    .map_err(unavailable)?
                    .map_err(unavailable)?;
            let ids = ids
                .iter()
                .filter_map(|id| TicketId::from_str_radix(id, 16).ok())
                .collect();
            for (id, score) in draw::tie_scores(seed, key, ids) {
                args.extend([draw::ticket_id(id), score.to_string()]);
            }
        }
        Ok(args)
    }

    /// A poll (`kind` 'b' or 'p', see `view_many`) or a gate check ('g') of a token's ticket.
    async fn view(
        &self,
        t: Verified<'_>,
        adm: &Admission,
        gate: bool,
    ) -> Result<(Uuid, TicketId, Answer)> {
        let (concert, id, now) = (t.concert, t.id, adm.now);
        self.ready(concert, adm).await?;
        let state = self.concert(concert);
        let kind = match gate {
            true => "g",
            false if state.beats.due(id, now) => "b",
            false => "p",
        };
        let args = [format!("{id:032x}"), kind.to_owned(), String::new()];
        let a = batched(&state.views, args, *adm).await?;
        Ok((concert, id, a))
    }
}

/// Queues one call for a concert's batcher and waits for its answer. One deadline covers the
/// wait in the queue and the answer: a Redis outage answers 503 quickly instead of piling calls up.
async fn batched(tx: &mpsc::Sender<Pending>, args: [String; 3], adm: Admission) -> Result<Answer> {
    let (reply, answer) = oneshot::channel();
    tokio::time::timeout(TIMEOUT * 2, async move {
        tx.send(Pending { args, adm, reply })
            .await
            .map_err(unavailable)?;
        answer.await.map_err(unavailable)?
    })
    .await
    .map_err(unavailable)?
}

/// Refuses a Redis that may evict the lines' keys under memory pressure: an evicted `owners` or
/// `active` would corrupt a line (a slot held for ever, a fan let in twice). Every primary of a
/// cluster is asked. A Redis whose `CONFIG` is disabled (some managed services) cannot be asked;
/// that is logged.
async fn check_eviction(conn: &mut Conn) -> Result<()> {
    let answer = tokio::time::timeout(TIMEOUT, conn.config_get("maxmemory-policy"))
        .await
        .map_err(unavailable)?;
    match answer {
        Ok(policies) => policies.iter().try_for_each(|p| eviction_policy_ok(p)),
        Err(_) => {
            tracing::warn!(
                "could not read Redis' maxmemory-policy; it must be noeviction, or Redis may drop \
                 queue keys when full"
            );
            Ok(())
        }
    }
}

/// `noeviction` is what encore needs. `volatile-*` policies evict only keys with a TTL, and
/// encore sets none, so they are safe too; `allkeys-*` would drop queue keys.
fn eviction_policy_ok(policy: &str) -> Result<()> {
    if policy == "noeviction" || policy.starts_with("volatile-") {
        return Ok(());
    }
    Err(Error::Startup(format!(
        "Redis' maxmemory-policy is {policy}: when full it would evict waiting-queue keys and \
         corrupt the lines; set maxmemory-policy noeviction (CONFIG SET maxmemory-policy \
         noeviction, and in redis.conf)"
    )))
}

/// Wakes local SSE streams when any instance changes a line; reconnects by itself, to the next
/// node named when one fails (a cluster passes every message on to all its nodes).
fn spawn_subscriber(link: Arc<Link>, channel: String, notifier: Arc<Notifier>) {
    tokio::spawn(async move {
        for node in link.nodes().iter().cycle() {
            match node.get_async_pubsub().await {
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
    fn codec(&self) -> &TokenCodec {
        &self.codec
    }

    async fn join(&self, user: Uuid, concert: Uuid, adm: &Admission) -> Result<Joined> {
        let now = adm.now;
        self.ready(concert, adm).await?;
        let id = TokenCodec::new_id();
        let state = self.concert(concert);
        // Before the on-sale time the ticket goes into the pre-queue under its draw key.
        let key = match adm.sale {
            Sale::Before(seed) => draw::key(&seed, id).to_string(),
            Sale::Draw(_) | Sale::Open => String::new(),
        };
        let args = [user.to_string(), format!("{id:032x}"), key];
        let a = batched(&state.joins, args, *adm).await?;
        // A user already in line gets their ticket back; otherwise the new one went in.
        let (id, created) = match a.existing_ticket()? {
            None => (id, true),
            Some(old) => (old, false),
        };
        // The registry lets every instance's tick find the line. Registered again every
        // `REGISTER_EVERY` while joins come, so a line in use is never forgotten; `GT` keeps
        // the latest time when instances race.
        if now - state.registered_at.load(Ordering::Relaxed) >= REGISTER_EVERY {
            let mut conn = self.ctx.conn.clone();
            let added: redis::RedisResult<i64> = redis::cmd("ZADD")
                .arg(self.registry())
                .arg("GT")
                .arg(now)
                .arg(concert.to_string())
                .query_async(&mut conn)
                .await;
            if added.is_ok() {
                state.registered_at.store(now, Ordering::Relaxed);
            }
        }
        let standing = a.standing()?;
        let token = self.codec.encode(concert, id);
        Ok((standing.into_ticket(token, concert, id), created))
    }

    /// Once the concert is sold out, a poll is answered from this instance's copy of the ACTIVE
    /// tickets: the crowd learns SOLD_OUT at the speed of this instance, not of one Redis.
    async fn poll(&self, t: Verified<'_>, adm: &Admission) -> Result<Ticket> {
        let now = adm.now;
        if adm.sold_out {
            let active = self.active_copy(&self.concert(t.concert), now).await?;
            let standing = match active.get(&t.id) {
                Some(&until) if until > now => Standing::Active { until },
                _ => Standing::SoldOut,
            };
            return Ok(standing.into_ticket(t.token.to_owned(), t.concert, t.id));
        }
        let (concert, id, a) = self.view(t, adm, false).await?;
        Ok(a.standing()?.into_ticket(t.token.to_owned(), concert, id))
    }

    async fn gate(&self, t: Verified<'_>, adm: &Admission) -> Result<GateTicket> {
        let (concert, _, a) = self.view(t, adm, true).await?;
        if a.code == 0 {
            return Err(Error::QueueTokenExpired);
        }
        Ok(GateTicket {
            user_id: a.owner()?,
            concert_id: concert,
            active: a.code < -1,
        })
    }

    async fn leave(&self, t: Verified<'_>, adm: &Admission) -> Result<()> {
        let (concert, id) = (t.concert, t.id);
        let gone: i64 = self
            .run(&self.scripts.leave, concert, adm, &[format!("{id:032x}")])
            .await?;
        if gone == 1 {
            Ok(())
        } else {
            Err(Error::QueueTokenExpired)
        }
    }

    async fn finish(&self, user_id: Uuid, concert_id: Uuid, adm: &Admission) -> Result<()> {
        let _: i64 = self
            .run(
                &self.scripts.finish,
                concert_id,
                adm,
                &[user_id.to_string()],
            )
            .await?;
        Ok(())
    }

    /// Maintains one line without taking a place in this instance's per-concert state (every
    /// instance ticks every line); an empty line may leave the registry.
    async fn tick(&self, concert_id: Uuid, adm: &Admission) -> Result<()> {
        self.ready(concert_id, adm).await?;
        let names = self.names_of(concert_id);
        let mut conn = self.ctx.conn.clone();
        let state: i64 = self
            .ctx
            .run(&mut conn, TIMEOUT, &self.scripts.maintain, &names, adm, &[])
            .await?;
        if state == 2 {
            self.forget_if_stale(concert_id, adm.now).await?;
        }
        Ok(())
    }

    /// The registered lines. Called once per tick, it also ends this instance's per-concert
    /// state (and so the batcher tasks) of concerts nobody asked it about for a while.
    async fn concerts(&self) -> Result<Vec<Uuid>> {
        let now = clock::now();
        self.concerts.lock().retain(|_, state| {
            Arc::strong_count(state) > 1 || now - state.used_at.load(Ordering::Relaxed) < LOCAL_IDLE
        });
        self.registered().await
    }

    async fn draw_list(&self, concert_id: Uuid) -> Result<(bool, Vec<TicketId>)> {
        let names = self.concert(concert_id).names.clone();
        let mut conn = self.ctx.conn.clone();
        let (drawn, list, pre): (Option<String>, Vec<String>, Vec<String>) = tokio::time::timeout(
            TIMEOUT,
            redis::pipe()
                .hget(&names.keys[5], "drawn")
                .zrange(&names.keys[7], 0, -1)
                .zrange(&names.keys[6], 0, -1)
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        let parse = |ids: Vec<String>| {
            ids.iter()
                .filter_map(|id| TicketId::from_str_radix(id, 16).ok())
                .collect()
        };
        Ok(match drawn {
            Some(_) => (true, parse(list)),
            None => (false, parse(pre)),
        })
    }

    fn changes(&self, concert_id: Uuid) -> watch::Receiver<u64> {
        self.notifier.subscribe(concert_id)
    }

    async fn size(&self, concert_id: Uuid, now: Millis) -> Result<QueueSize> {
        let names = self.names_of(concert_id);
        let mut conn = self.ctx.conn.clone();
        let (waiting, active, rate): (u64, u64, Vec<Value>) = tokio::time::timeout(
            TIMEOUT,
            redis::pipe()
                .zcard(&names.keys[0])
                .zcard(&names.keys[1])
                .hget(&names.keys[5], &["b", "c", "p", "f"])
                .query_async(&mut conn),
        )
        .await
        .map_err(unavailable)?
        .map_err(unavailable)?;
        Ok(QueueSize {
            concert_id,
            waiting,
            active,
            admitted_per_minute: parse_rate(&rate).last_minute(now),
        })
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.ctx.conn.clone();
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

#[cfg(test)]
mod tests {
    use super::*;

    /// 1,203 fans in the pre-queue; one leaves, one joins late through an instance whose clock
    /// is still before the on-sale time, and two tickets are made to share a draw key. The draw
    /// puts everyone still there in the published order (the tie by the whole HMAC), the record
    /// says the same, and a join after the draw goes behind.
    #[tokio::test]
    #[ignore = "needs Redis: run by .ci/run with --include-ignored"]
    async fn a_draw_puts_the_pre_queue_in_hmac_order_whatever_its_keys_share() {
        let url = std::env::var("ENCORE_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let prefix = format!("encore-test-draw-{}", Uuid::now_v7());
        let config = QueueConfig {
            active_limit: 10,
            active_ttl: 600_000,
            idle_timeout: 600_000,
            admit_per_minute: None,
        };
        let q = RedisQueue::connect(&url, &prefix, TokenCodec::new([7; 32]), config)
            .await
            .unwrap();
        let concert = Uuid::now_v7();
        let now = clock::now();
        let seed = [5; 32];
        let sale = |sale, now| Admission {
            now,
            limit: 0,
            per_minute: None,
            sale,
            sold_out: false,
        };
        let (before, after) = (sale(Sale::Before(seed), now), sale(Sale::Draw(seed), now));
        let mut tickets = Vec::new();
        for _ in 0..1_203 {
            let (t, _) = q.join(Uuid::now_v7(), concert, &before).await.unwrap();
            assert_eq!(t.status, super::super::TicketStatus::PreQueue);
            tickets.push(t);
        }
        let id = |t: &Ticket| TicketId::from_str_radix(&t.ticket_id, 16).unwrap();
        let left = tickets.remove(600);
        q.leave(q.verify(&left.token).unwrap(), &before)
            .await
            .unwrap();
        // Two tickets whose ids sort one way and whose HMACs the other share a key: Redis alone
        // would order them by id.
        let state = q.concert(concert);
        let mut conn = q.ctx.conn.clone();
        let (a, b) = (0..tickets.len() - 1)
            .map(|i| (id(&tickets[i]), id(&tickets[i + 1])))
            .find(|&(a, b)| (a < b) != (draw::order(&seed, vec![a, b])[0] == a))
            .expect("a pair in HMAC order against id order");
        let shared = draw::key(&seed, a);
        let _: i64 = conn
            .zadd(&state.names.keys[8], draw::ticket_id(b), shared)
            .await
            .unwrap();
        let _: i64 = conn.sadd(&state.names.keys[9], shared).await.unwrap();
        // The draw script called as if no key were tied.
        let draw_untied = || async {
            let mut own = q.ctx.own_connection(DRAW_TIMEOUT).await.unwrap();
            q.ctx
                .run::<i64>(
                    &mut own,
                    DRAW_TIMEOUT,
                    &q.scripts.draw,
                    &state.names,
                    &after,
                    &["0".to_owned()],
                )
                .await
                .unwrap()
        };
        // A draw whose caller read fewer tied keys than there are is refused, to be retried.
        assert_eq!(draw_untied().await, -1);
        let (late, _) = q.join(Uuid::now_v7(), concert, &before).await.unwrap();
        tickets.push(late);
        q.ready(concert, &after).await.unwrap();
        let (after_draw, _) = q.join(Uuid::now_v7(), concert, &after).await.unwrap();
        assert_eq!(after_draw.position, Some(tickets.len() as u64 + 1));

        let mut want: Vec<TicketId> = tickets.iter().map(id).collect();
        let keyed = |t: TicketId| if t == b { shared } else { draw::key(&seed, t) };
        // By key, and a tie by the whole HMAC: the order of `draw::order` on the two.
        want.sort_by(|&x, &y| {
            keyed(x).cmp(&keyed(y)).then_with(|| {
                let first = draw::order(&seed, vec![x, y])[0];
                if first == x {
                    std::cmp::Ordering::Less
                } else {
                    std::cmp::Ordering::Greater
                }
            })
        });
        let want: Vec<String> = want.into_iter().map(draw::ticket_id).collect();
        let line: Vec<String> = conn.zrange(&state.names.keys[0], 0, -1).await.unwrap();
        assert_eq!(line[..want.len()], want, "the drawn order");
        assert_eq!(
            line[want.len()..],
            [after_draw.ticket_id],
            "then the later join"
        );
        let (drawn, record) = q.draw_list(concert).await.unwrap();
        assert!(drawn);
        assert_eq!(
            record.into_iter().map(draw::ticket_id).collect::<Vec<_>>(),
            want
        );
        // Every drawn ticket has a heartbeat (the draw's), and none is dropped as idle.
        let seen: i64 = conn.zcard(&state.names.keys[2]).await.unwrap();
        assert_eq!(seen as usize, want.len() + 1);
        q.tick(concert, &sale(Sale::Draw(seed), now + 1))
            .await
            .unwrap();
        let waiting: i64 = conn.zcard(&state.names.keys[0]).await.unwrap();
        assert_eq!(waiting as usize, want.len() + 1);
        let pre: i64 = conn.zcard(&state.names.keys[6]).await.unwrap();
        assert_eq!(pre, 0);
        // Once only.
        assert_eq!(draw_untied().await, 0);
        // Idle once the draw is `idle` ago: the drawn who never polled go.
        q.tick(concert, &sale(Sale::Draw(seed), now + 600_001))
            .await
            .unwrap();
        let waiting: i64 = conn.zcard(&state.names.keys[0]).await.unwrap();
        assert!(waiting < want.len() as i64, "{waiting} still waiting");
        let _: () = redis::cmd("DEL")
            .arg(&state.names.keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }

    #[test]
    fn only_a_redis_that_keeps_our_keys_is_accepted() {
        assert!(eviction_policy_ok("noeviction").is_ok());
        assert!(eviction_policy_ok("volatile-lru").is_ok());
        for evicting in ["allkeys-lru", "allkeys-lfu", "allkeys-random"] {
            let err = eviction_policy_ok(evicting).unwrap_err().to_string();
            assert!(
                err.contains(evicting) && err.contains("noeviction"),
                "{err}"
            );
        }
    }
}
