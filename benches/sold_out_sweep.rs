//! The flash sale's last figure for `bench/run`: after the sell-out, how soon every waiter has
//! seen `SOLD_OUT`. Watches a few waiting tickets from the start; the instant one answers
//! SOLD_OUT, polls every ticket of the line once (`GET /api/v1/queue`, many connections at
//! once) and counts what each answered. Prints one JSON line, times in epoch milliseconds.
//!
//! `BENCH_BASE=http://127.0.0.1:8080 BENCH_TOKENS=<file of queue tokens, one a line>
//! cargo bench --bench sold_out_sweep`
//! (`BENCH_CONNS`, default 64: connections of the sweep; `BENCH_DEPTH`, default 8: polls sent
//! back to back on each; `BENCH_WAIT_S`, default 900: how long to wait for the sell-out.)
//!
//! Why not k6: one sweep of 100,000 waiters takes k6 8–20 s on two cores it shares with the
//! server, so k6 measures itself. This client writes each poll as plain bytes, several at a
//! time, and only reads each answer's status and body, so a sweep measures how fast the service
//! tells everyone.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[path = "common/wire.rs"]
mod wire;

/// What the polls of the sweep answered.
#[derive(Default)]
struct Tally {
    sold_out: u64,
    waiting: u64,
    active: u64,
    gone: u64,
    server_errors: u64,
    other: u64,
}

impl Tally {
    fn count(&mut self, status: u16, body: &[u8]) {
        let says = |s: &str| body.windows(s.len()).any(|w| w == s.as_bytes());
        match status {
            200 if says("\"status\":\"SOLD_OUT\"") => self.sold_out += 1,
            200 if says("\"status\":\"WAITING\"") => self.waiting += 1,
            200 if says("\"status\":\"ACTIVE\"") => self.active += 1,
            410 => self.gone += 1,
            500..=599 => self.server_errors += 1,
            _ => self.other += 1,
        }
    }

    fn add(&mut self, o: Tally) {
        self.sold_out += o.sold_out;
        self.waiting += o.waiting;
        self.active += o.active;
        self.gone += o.gone;
        self.server_errors += o.server_errors;
        self.other += o.other;
    }
}

fn poll(addr: &str, token: &str) -> String {
    format!("GET /api/v1/queue HTTP/1.1\r\nHost: {addr}\r\nX-Queue-Token: {token}\r\n\r\n")
}

fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is required"));
    let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_owned());
    let base = env("BENCH_BASE");
    let addr = base
        .strip_prefix("http://")
        .expect("BENCH_BASE is http://host:port")
        .trim_end_matches('/')
        .to_owned();
    let tokens: Vec<String> = std::fs::read_to_string(env("BENCH_TOKENS"))
        .expect("read BENCH_TOKENS")
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    assert!(!tokens.is_empty(), "BENCH_TOKENS names no token");
    let conns: usize = var("BENCH_CONNS", "64").parse().expect("BENCH_CONNS");
    let depth: usize = var("BENCH_DEPTH", "8").parse().expect("BENCH_DEPTH");
    let wait = Duration::from_secs(var("BENCH_WAIT_S", "900").parse().expect("BENCH_WAIT_S"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async move {
        let first_seen = watch(&addr, &tokens, wait)
            .await
            .map_or("null".to_owned(), |at| at.to_string());
        let start = wire::epoch_ms();
        let began = Instant::now();
        let tally = sweep(&addr, Arc::new(tokens), conns, depth).await;
        let took = began.elapsed();
        println!(
            "{{\"first_seen_at\": {first_seen}, \"sweep_start_at\": {start}, \"sweep_end_at\": {}, \
             \"sweep_ms\": {:.1}, \"tickets\": {}, \"sold_out\": {}, \"waiting\": {}, \"active\": {}, \
             \"gone\": {}, \"5xx\": {}, \"other\": {}}}",
            start + took.as_millis() as u64,
            took.as_secs_f64() * 1000.0,
            tally.sold_out + tally.waiting + tally.active + tally.gone + tally.server_errors + tally.other,
            tally.sold_out,
            tally.waiting,
            tally.active,
            tally.gone,
            tally.server_errors,
            tally.other,
        );
    });
}

/// Polls a few tickets every 20 ms, from the end of the list, until one answers SOLD_OUT;
/// returns when, in epoch milliseconds. A watched ticket that is gone (bought, or left) is
/// replaced by the next; `None` when every ticket is gone (nobody was left waiting).
async fn watch(addr: &str, tokens: &[String], wait: Duration) -> Option<u64> {
    let mut unwatched = tokens.iter().rev();
    let mut watched: Vec<String> = unwatched.by_ref().take(8).map(|t| poll(addr, t)).collect();
    let deadline = Instant::now() + wait;
    let mut conn = TcpStream::connect(addr).await.expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(2048);
    while !watched.is_empty() {
        let mut i = 0;
        while i < watched.len() {
            conn.write_all(watched[i].as_bytes()).await.expect("poll");
            let (status, body) = wire::read_answer(&mut conn, &mut buf).await;
            let mut t = Tally::default();
            t.count(status, &buf[body]);
            if t.sold_out > 0 {
                return Some(wire::epoch_ms());
            }
            if t.gone > 0 {
                match unwatched.next() {
                    Some(next) => watched[i] = poll(addr, next),
                    None => {
                        watched.swap_remove(i);
                        continue;
                    }
                }
            }
            i += 1;
        }
        assert!(Instant::now() < deadline, "no SOLD_OUT within {wait:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

/// Every ticket polled once: `conns` connections, each sending `depth` polls back to back
/// (pipelined, as a load generator does so that the client is not what is measured) and taking
/// the next ones as their answers come.
async fn sweep(addr: &str, tokens: Arc<Vec<String>>, conns: usize, depth: usize) -> Tally {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::with_capacity(conns);
    for _ in 0..conns {
        let (addr, tokens, next) = (addr.to_owned(), tokens.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(&addr).await.expect("connect");
            conn.set_nodelay(true).expect("nodelay");
            let (mut buf, mut out) = (Vec::with_capacity(8192), String::with_capacity(4096));
            let mut tally = Tally::default();
            loop {
                let from = next.fetch_add(depth, Ordering::Relaxed);
                let batch = tokens
                    .get(from..(from + depth).min(tokens.len()))
                    .unwrap_or(&[]);
                if batch.is_empty() {
                    break;
                }
                out.clear();
                for token in batch {
                    out.push_str(&poll(&addr, token));
                }
                conn.write_all(out.as_bytes()).await.expect("poll");
                wire::read_answers(&mut conn, &mut buf, batch.len(), |status, body| {
                    tally.count(status, body)
                })
                .await;
            }
            tally
        }));
    }
    let mut tally = Tally::default();
    for w in workers {
        tally.add(w.await.expect("sweeper"));
    }
    tally
}
