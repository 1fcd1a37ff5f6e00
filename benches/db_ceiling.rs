//! The database ceiling for `bench/run`: minimal one-row-UPDATE transactions through the same
//! pool encore builds (same size and timeouts), as many as `BENCH_CONCURRENCY` tasks manage in
//! `BENCH_SECONDS`. Prints one JSON line. Holds are compared against this figure.
//!
//! `BENCH_DATABASE_URL=postgres://… cargo bench --bench db_ceiling`

use std::time::{Duration, Instant};

use rand::Rng;

macro_rules! ceiling {
    ($pool:expr, $concurrency:expr, $seconds:expr) => {{
        let pool = $pool.clone();
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS bench_ceiling (id INTEGER PRIMARY KEY, n BIGINT NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("create bench table");
        sqlx::query(
            "INSERT INTO bench_ceiling (id, n)
             WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)
             SELECT i, 0 FROM s WHERE true ON CONFLICT DO NOTHING",
        )
        .execute(&pool)
        .await
        .expect("fill bench table");
        let deadline = Instant::now() + Duration::from_secs($seconds);
        let mut tasks = Vec::new();
        for _ in 0..$concurrency {
            let pool = pool.clone();
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                while Instant::now() < deadline {
                    let id: i32 = rand::rng().random_range(1..=1000);
                    let start = Instant::now();
                    let mut tx = pool.begin().await.expect("begin");
                    sqlx::query("UPDATE bench_ceiling SET n = n + 1 WHERE id = $1")
                        .bind(id)
                        .execute(&mut *tx)
                        .await
                        .expect("update");
                    tx.commit().await.expect("commit");
                    latencies.push(start.elapsed());
                }
                latencies
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.expect("task"));
        }
        all
    }};
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let url = std::env::var("BENCH_DATABASE_URL")
        .unwrap_or_else(|_| "sqlite:///tmp/encore-ceiling.db".into());
    let concurrency: usize = std::env::var("BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    let seconds: u64 = std::env::var("BENCH_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let pool_size: u32 = std::env::var("ENCORE_DB_POOL_SIZE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(16);
    let mut latencies = if url.starts_with("postgres") {
        let store = encore::store::postgres::connect(&url, pool_size, Duration::from_secs(5))
            .await
            .expect("connect");
        ceiling!(store.write_pool(), concurrency, seconds)
    } else {
        let store = encore::store::sqlite::connect(&url, pool_size)
            .await
            .expect("connect");
        ceiling!(store.write_pool(), concurrency, seconds)
    };
    latencies.sort();
    let rps = latencies.len() as f64 / seconds as f64;
    println!(
        "{{\"ops\": {}, \"rps\": {:.1}, \"p50_ms\": {:.3}, \"p99_ms\": {:.3}}}",
        latencies.len(),
        rps,
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99)
    );
}
