//! The hot seat for `bench/run`: 1,000 admitted fans click the same seat at the same instant,
//! each on a connection of its own that is already open (as a fan's browser has one to the seat
//! map). Prints one JSON line: how many won (201), lost (409), failed (5xx) or got anything else,
//! and the latency of the clicks.
//!
//! `BENCH_BASE=http://127.0.0.1:8080 BENCH_SCHEDULE=<id> BENCH_HOLDERS=<file of "apiKey
//! queueToken" lines> cargo bench --bench hot_seat`
//!
//! Why not k6 alone: the load generator shares two cores with the server, and k6 spends tens of
//! microseconds of JavaScript and Go per request, so 1,000 clicks from k6 take 50–70 ms before
//! encore does anything (`bench/run` measures that floor too). This racer runs on one thread and
//! only writes prepared requests and reads answers, so the clicks measure the server.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use tokio::sync::watch;

#[derive(Default)]
struct Outcome {
    won: u32,
    lost: u32,
    server_errors: u32,
    other: u32,
    latencies: Vec<Duration>,
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn main() {
    let env = |k: &str| std::env::var(k).unwrap_or_else(|_| panic!("{k} is required"));
    let (base, schedule) = (env("BENCH_BASE"), env("BENCH_SCHEDULE"));
    let seat: u32 = std::env::var("BENCH_SEAT").map_or(1, |s| s.parse().expect("BENCH_SEAT"));
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
    let outcome = runtime.block_on(race(base, schedule, seat, holders));
    let mut sorted = outcome.latencies;
    sorted.sort();
    println!(
        "{{\"won\": {}, \"lost\": {}, \"5xx\": {}, \"other\": {}, \"p50_ms\": {:.2}, \"p99_ms\": {:.2}, \"max_ms\": {:.2}}}",
        outcome.won,
        outcome.lost,
        outcome.server_errors,
        outcome.other,
        percentile_ms(&sorted, 0.50),
        percentile_ms(&sorted, 0.99),
        percentile_ms(&sorted, 1.0),
    );
}

async fn race(
    base: String,
    schedule: String,
    seat: u32,
    holders: Vec<(String, String)>,
) -> Outcome {
    // Every idle connection stays in the pool, so each racer's click reuses one the warm-up
    // opened: all 1,000 warm-ups are in flight together, so each needed its own connection.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(usize::MAX)
        .pool_idle_timeout(None)
        .build()
        .expect("client");
    let warm = holders.iter().map(|_| {
        let (client, url) = (client.clone(), format!("{base}/health"));
        async move { client.get(url).send().await.map(|r| r.status()) }
    });
    for status in futures_util::future::join_all(warm).await {
        assert_eq!(status.expect("warm-up"), StatusCode::OK);
    }
    let body = format!("{{\"scheduleId\":\"{schedule}\",\"seatNumber\":{seat}}}");
    let (go, ready) = watch::channel(false);
    let mut racers = Vec::with_capacity(holders.len());
    for (key, token) in holders {
        let request = client
            .post(format!("{base}/api/v1/reservations"))
            .bearer_auth(key)
            .header("X-Queue-Token", token)
            .header("Content-Type", "application/json")
            .body(body.clone());
        let mut ready = ready.clone();
        racers.push(tokio::spawn(async move {
            ready.wait_for(|go| *go).await.expect("start signal");
            let start = Instant::now();
            let res = request.send().await.expect("click");
            let status = res.status();
            res.bytes().await.expect("click answer");
            (status, start.elapsed())
        }));
    }
    tokio::task::yield_now().await;
    go.send(true).expect("racers are waiting");
    let mut outcome = Outcome::default();
    for racer in racers {
        let (status, took) = racer.await.expect("racer");
        outcome.latencies.push(took);
        match status {
            StatusCode::CREATED => outcome.won += 1,
            StatusCode::CONFLICT => outcome.lost += 1,
            s if s.is_server_error() => outcome.server_errors += 1,
            _ => outcome.other += 1,
        }
    }
    outcome
}
