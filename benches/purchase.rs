//! Whole purchases for `bench/run`: admitted fans, `BENCH_CONCURRENCY` at a time, each reads the
//! seat map, holds a seat the map shows AVAILABLE and pays it (with an `Idempotency-Key`, as the
//! web front does). A fan who loses the seat (409) reads the map again and tries another. Prints
//! one JSON line: completed purchases, purchases per second, p50/p99 of a whole purchase (map,
//! hold and payment), lost races, 5xx and other answers.
//!
//! `BENCH_BASE=http://127.0.0.1:8080 BENCH_SCHEDULE=<id> BENCH_FANS=<file of "apiKey queueToken"
//! lines, one admitted fan each, with the balance to pay> BENCH_CONCURRENCY=64 cargo bench --bench purchase`
//!
//! The schedule's plan is one section whose seats are numbered from 1 in row order: seat n is
//! the n-th letter of the section's `status` in the map. Each fan starts looking at its own place in the row, so fans spread over the map
//! as people clicking different seats do. Like `hot_seat.rs`, requests are formatted by hand on
//! raw keep-alive connections, so the client costs the server's cores little.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

#[path = "common/wire.rs"]
mod wire;

/// How many times a fan tries another seat after losing one.
const TRIES: usize = 20;

#[derive(Default)]
struct Tally {
    purchases: u64,
    lost_races: u64,
    server_errors: u64,
    other: u64,
    latencies: Vec<Duration>,
}

struct Run {
    host: String,
    schedule: String,
    fans: Vec<(String, String)>,
    next: AtomicUsize,
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn request(host: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: {host}\r\n");
    for (name, value) in headers {
        r.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// The first AVAILABLE seat of the map at or after `start` (wrapping), by number.
fn free_seat(map: &[u8], start: usize) -> Option<usize> {
    let key = b"\"status\":\"";
    let at = map.windows(key.len()).position(|w| w == key)? + key.len();
    let len = map[at..].iter().position(|&b| b == b'"')?;
    let row = &map[at..at + len];
    (0..len)
        .map(|k| (start + k) % len)
        .find(|&i| row[i] == b'A')
        .map(|i| i + 1)
}

/// The value of `"id":"…"` in a JSON body.
fn id_of(body: &[u8]) -> Option<String> {
    let key = b"\"id\":\"";
    let at = body.windows(key.len()).position(|w| w == key)? + key.len();
    let len = body[at..].iter().position(|&b| b == b'"')?;
    Some(String::from_utf8_lossy(&body[at..at + len]).into_owned())
}

/// One connection buying for one fan after another until every fan has bought.
async fn buyer(run: Arc<Run>, addr: String) -> Tally {
    let mut tally = Tally::default();
    let mut conn = TcpStream::connect(&addr).await.expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(64 * 1024);
    let map_path = format!("/api/v1/schedules/{}/seatmap", run.schedule);
    loop {
        let i = run.next.fetch_add(1, Ordering::Relaxed);
        let Some((key, token)) = run.fans.get(i) else {
            return tally;
        };
        let auth = format!("Bearer {key}");
        let started = Instant::now();
        let mut start = i * 7919;
        for _ in 0..TRIES {
            let map = request(
                &run.host,
                "GET",
                &map_path,
                &[("Authorization", &auth), ("X-Queue-Token", token)],
                "",
            );
            conn.write_all(&map).await.expect("write");
            let (status, body) = wire::read_answer(&mut conn, &mut buf).await;
            if status != 200 {
                tally.server_errors += u64::from(status >= 500);
                tally.other += u64::from(status < 500);
                break;
            }
            let Some(seat) = free_seat(&buf[body], start) else {
                break; // sold out
            };
            let hold = format!(
                "{{\"scheduleId\":\"{}\",\"seatNumber\":{seat}}}",
                run.schedule
            );
            let req = request(
                &run.host,
                "POST",
                "/api/v1/reservations",
                &[("Authorization", &auth), ("X-Queue-Token", token)],
                &hold,
            );
            conn.write_all(&req).await.expect("write");
            let (status, body) = wire::read_answer(&mut conn, &mut buf).await;
            if status == 409 {
                tally.lost_races += 1;
                start = seat;
                continue;
            }
            let reservation = (status == 201).then(|| id_of(&buf[body])).flatten();
            let Some(reservation) = reservation else {
                tally.server_errors += u64::from(status >= 500);
                tally.other += u64::from(status < 500);
                break;
            };
            let pay = format!("{{\"reservationId\":\"{reservation}\"}}");
            let idem = format!("pay-{reservation}");
            let req = request(
                &run.host,
                "POST",
                "/api/v1/payments",
                &[("Authorization", &auth), ("Idempotency-Key", &idem)],
                &pay,
            );
            conn.write_all(&req).await.expect("write");
            let (status, _) = wire::read_answer(&mut conn, &mut buf).await;
            match status {
                201 => {
                    tally.purchases += 1;
                    tally.latencies.push(started.elapsed());
                }
                s if s >= 500 => tally.server_errors += 1,
                _ => tally.other += 1,
            }
            break;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = std::env::var("BENCH_BASE").expect("BENCH_BASE");
    let addr = base.trim_start_matches("http://").to_owned();
    let schedule = std::env::var("BENCH_SCHEDULE").expect("BENCH_SCHEDULE");
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(64);
    let fans = std::fs::read_to_string(std::env::var("BENCH_FANS").expect("BENCH_FANS"))
        .expect("the fans file")
        .lines()
        .filter_map(|l| {
            let (key, token) = l.split_once(' ')?;
            Some((key.to_owned(), token.to_owned()))
        })
        .collect::<Vec<_>>();
    let run = Arc::new(Run {
        host: addr.clone(),
        schedule,
        fans,
        next: AtomicUsize::new(0),
    });
    let started = Instant::now();
    let buyers: Vec<_> = (0..concurrency)
        .map(|_| tokio::spawn(buyer(run.clone(), addr.clone())))
        .collect();
    let mut all = Tally::default();
    for b in buyers {
        let t = b.await.expect("a buyer");
        all.purchases += t.purchases;
        all.lost_races += t.lost_races;
        all.server_errors += t.server_errors;
        all.other += t.other;
        all.latencies.extend(t.latencies);
    }
    let seconds = started.elapsed().as_secs_f64();
    all.latencies.sort();
    println!(
        "{{\"concurrency\":{concurrency},\"fans\":{},\"purchases\":{},\"seconds\":{seconds:.3},\
         \"per_s\":{:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"lost_races\":{},\"5xx\":{},\"other\":{}}}",
        run.fans.len(),
        all.purchases,
        all.purchases as f64 / seconds,
        percentile_ms(&all.latencies, 0.50),
        percentile_ms(&all.latencies, 0.99),
        all.lost_races,
        all.server_errors,
        all.other,
    );
}
