//! The hot seat for `bench/run`: 1,000 admitted fans click the same seat at the same instant,
//! each on a connection of its own that is already open (as a fan's browser has one to the seat
//! map). Prints one JSON line: how many won (201), lost (409), failed (5xx) or got anything else,
//! and the latency of the clicks.
//!
//! `BENCH_BASE=http://127.0.0.1:8080 BENCH_SCHEDULE=<id> BENCH_WARM=seats BENCH_HOLDERS=<file of "apiKey
//! queueToken" lines> cargo bench --bench hot_seat`
//!
//! What each racer orders (`BENCH_ORDER`):
//! - `seat` (the default): `{"scheduleId", "seatNumber": BENCH_SEAT}` (1), the same for all.
//! - `shared`: orders of 2–4 seats by label that overlap in one seat only: racer i (from 0)
//!   sends `BENCH_SHARED_SEAT` (`H-1-1`) then `1 + i % 3` seats of its own,
//!   `{BENCH_OWN_SECTION}-{i + 1}-1` onwards (section `S`), so the plan needs that seat and, in
//!   the other section, rows `1` to the number of racers of 3 seats each. Exactly one order can
//!   be held.
//!
//! `BENCH_WARM`: `seats` reads part 1's `/seats` before the click, `seatmap` the compact map
//! (gzip, as a part-2 page reads it), anything else `GET /health` (the floor's racers).
//!
//! Why not k6 alone: the load generator shares two cores with the server, and k6 (like any
//! general HTTP client) spends tens of microseconds per request, so 1,000 clicks from k6 take
//! 20–70 ms before encore does anything (`bench/run` measures that floor too). This racer runs on
//! one thread and, like wrk, only writes requests formatted in advance and reads the answers'
//! status and length, so the clicks measure the server.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

#[path = "common/wire.rs"]
mod wire;

#[derive(Default)]
struct Outcome {
    won: u32,
    lost: u32,
    server_errors: u32,
    other: u32,
    latencies: Vec<Duration>,
    /// How long the winning click took: the losers who arrived first wait about that long.
    winner: Option<Duration>,
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

/// What the racers click.
enum Click {
    /// Every racer the same seat, by number.
    Seat(u32),
    /// Racer i: the shared seat, then `1 + i % 3` seats of its own in row `i + 1` of `section`.
    Shared { seat: String, section: String },
}

impl Click {
    fn body(&self, schedule: &str, racer: usize) -> String {
        match self {
            Click::Seat(n) => format!("{{\"scheduleId\":\"{schedule}\",\"seatNumber\":{n}}}"),
            Click::Shared { seat, section } => {
                let mut labels = format!("\"{seat}\"");
                for n in 1..=1 + racer % 3 {
                    labels.push_str(&format!(",\"{section}-{}-{n}\"", racer + 1));
                }
                format!("{{\"scheduleId\":\"{schedule}\",\"seats\":[{labels}]}}")
            }
        }
    }
}

/// The request a fan's page made before the click.
#[derive(Clone, Copy)]
enum Warm {
    Health,
    Seats,
    SeatMap,
}

fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is required"));
    let var = |k: &str, default: &str| std::env::var(k).unwrap_or_else(|_| default.to_owned());
    let (base, schedule) = (env("BENCH_BASE"), env("BENCH_SCHEDULE"));
    let click = match var("BENCH_ORDER", "seat").as_str() {
        "seat" => Click::Seat(var("BENCH_SEAT", "1").parse().expect("BENCH_SEAT")),
        "shared" => Click::Shared {
            seat: var("BENCH_SHARED_SEAT", "H-1-1"),
            section: var("BENCH_OWN_SECTION", "S"),
        },
        other => panic!("BENCH_ORDER is seat or shared, not {other}"),
    };
    let warm = match var("BENCH_WARM", "health").as_str() {
        "seats" => Warm::Seats,
        "seatmap" => Warm::SeatMap,
        _ => Warm::Health,
    };
    let holders: Vec<(String, String)> = std::fs::read_to_string(env("BENCH_HOLDERS"))
        .expect("read BENCH_HOLDERS")
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, t)| (k.to_owned(), t.to_owned()))
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let outcome = runtime.block_on(race(base, schedule, click, warm, holders));
    let mut sorted = outcome.latencies;
    sorted.sort();
    println!(
        "{{\"won\": {}, \"lost\": {}, \"5xx\": {}, \"other\": {}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"max_ms\": {:.2}, \"winner_ms\": {:.2}}}",
        outcome.won,
        outcome.lost,
        outcome.server_errors,
        outcome.other,
        percentile_ms(&sorted, 0.50),
        percentile_ms(&sorted, 0.99),
        percentile_ms(&sorted, 1.0),
        outcome.winner.map_or(0.0, |d| d.as_secs_f64() * 1000.0),
    );
}

async fn race(
    base: String,
    schedule: String,
    click: Click,
    warm: Warm,
    holders: Vec<(String, String)>,
) -> Outcome {
    let addr = base
        .strip_prefix("http://")
        .expect("BENCH_BASE is http://host:port")
        .trim_end_matches('/')
        .to_owned();
    let (go, ready) = watch::channel(false);
    let (warmed, mut warmed_rx) = mpsc::unbounded_channel::<()>();
    let mut racers = Vec::with_capacity(holders.len());
    for (i, (key, token)) in holders.into_iter().enumerate() {
        // Formatted before the race: at the start signal a racer only writes and reads.
        let body = click.body(&schedule, i);
        let request = format!(
            "POST /api/v1/reservations HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {key}\r\n\
             X-Queue-Token: {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        // The warm-up is what a fan's page did before the click: it read the seat map (which
        // also brings the schedule into the server's cache). The floor's racers, whose tokens
        // do not verify, warm up on `/health` instead.
        let warm_up = match warm {
            Warm::Seats => format!(
                "GET /api/v1/schedules/{schedule}/seats HTTP/1.1\r\nHost: {addr}\r\n\
                 Authorization: Bearer {key}\r\nX-Queue-Token: {token}\r\n\r\n"
            ),
            Warm::SeatMap => format!(
                "GET /api/v1/schedules/{schedule}/seatmap HTTP/1.1\r\nHost: {addr}\r\n\
                 Authorization: Bearer {key}\r\nX-Queue-Token: {token}\r\n\
                 Accept-Encoding: gzip\r\n\r\n"
            ),
            Warm::Health => format!("GET /health HTTP/1.1\r\nHost: {addr}\r\n\r\n"),
        };
        let (addr, mut ready, warmed) = (addr.clone(), ready.clone(), warmed.clone());
        racers.push(tokio::spawn(async move {
            let mut conn = TcpStream::connect(&addr).await.expect("connect");
            conn.set_nodelay(true).expect("nodelay");
            let mut buf = Vec::with_capacity(1024);
            conn.write_all(warm_up.as_bytes()).await.expect("warm-up");
            assert_eq!(
                wire::read_answer(&mut conn, &mut buf).await.0,
                200,
                "warm-up"
            );
            warmed.send(()).expect("main waits");
            drop(warmed);
            ready.wait_for(|go| *go).await.expect("start signal");
            let start = Instant::now();
            conn.write_all(request.as_bytes()).await.expect("click");
            let (status, _) = wire::read_answer(&mut conn, &mut buf).await;
            (status, start.elapsed())
        }));
    }
    // Every racer has its connection open and its warm-up answered before anyone clicks.
    drop(warmed);
    let mut count = 0;
    while warmed_rx.recv().await.is_some() {
        count += 1;
    }
    assert_eq!(count, racers.len(), "every racer warmed up");
    go.send(true).expect("racers are waiting");
    let mut outcome = Outcome::default();
    for racer in racers {
        let (status, took) = racer.await.expect("racer");
        outcome.latencies.push(took);
        match status {
            201 => {
                outcome.won += 1;
                outcome.winner = Some(took);
            }
            409 => outcome.lost += 1,
            500..=599 => outcome.server_errors += 1,
            _ => outcome.other += 1,
        }
    }
    outcome
}
