//! Open event streams for `bench/run`: one `GET /queue/events` per token, all kept open. Prints
//! `READY` once every stream has had its first event; from then on the line is still, so each
//! stream's next event is the admission wave's. Prints one JSON line when every stream has had
//! that event (or after `BENCH_WAIT_S`, 30 by default): how many streams, how many saw one, how
//! many turned ACTIVE, and the arrival time (epoch ms) of each next event.
//!
//! `BENCH_BASE=http://127.0.0.1:8080 BENCH_TOKENS=<file of queue tokens> cargo bench --bench streams`
//!
//! The streams go over cleartext HTTP/2, `BENCH_STREAMS_PER_CONN` (200 by default) to a
//! connection, as a proxy in front of encore would multiplex them: 50,000 streams are 250
//! connections, where HTTP/1.1 would need 50,000 file descriptors on each side. Streams are
//! opened 500 at a time; an event is a `data:` line.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Semaphore, mpsc};

#[path = "common/wire.rs"]
mod wire;

/// What one stream saw after its first event.
struct Next {
    at_ms: u64,
    active: bool,
}

/// Counts `data:` lines in `buf` from `from` on; returns the count and where the scan stopped.
fn events(buf: &[u8], from: usize) -> (usize, usize) {
    let key = b"data:";
    let mut n = 0;
    let mut at = from;
    while let Some(i) = buf[at..].windows(key.len()).position(|w| w == key) {
        n += 1;
        at += i + key.len();
    }
    (n, at)
}

async fn stream(
    client: reqwest::Client,
    url: String,
    connecting: Arc<Semaphore>,
    ready: Arc<AtomicUsize>,
    done: mpsc::UnboundedSender<Next>,
) {
    // Held while connecting; the first event gives it back.
    let mut permit = Some(connecting.acquire_owned().await.expect("semaphore"));
    let Ok(mut res) = client
        .get(url)
        .header("accept", "text/event-stream")
        .send()
        .await
    else {
        return;
    };
    let mut buf = Vec::with_capacity(2048);
    let mut seen = 0;
    let mut scanned = 0;
    while let Ok(Some(chunk)) = res.chunk().await {
        buf.extend_from_slice(&chunk);
        let (more, at) = events(&buf, scanned);
        scanned = at;
        if more == 0 {
            continue;
        }
        if seen == 0 {
            ready.fetch_add(1, Ordering::Relaxed);
            permit.take();
        }
        seen += more;
        if seen >= 2 {
            let text = String::from_utf8_lossy(&buf);
            let last = text.rsplit("data:").next().unwrap_or("");
            let _ = done.send(Next {
                at_ms: wire::epoch_ms(),
                active: last.contains("\"ACTIVE\""),
            });
            return;
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let base = std::env::var("BENCH_BASE").expect("BENCH_BASE");
    let per_conn: usize = std::env::var("BENCH_STREAMS_PER_CONN")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let wait = std::env::var("BENCH_WAIT_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30u64);
    let tokens: Vec<String> =
        std::fs::read_to_string(std::env::var("BENCH_TOKENS").expect("BENCH_TOKENS"))
            .expect("the tokens file")
            .lines()
            .map(str::to_owned)
            .collect();
    let n = tokens.len();
    let connecting = Arc::new(Semaphore::new(500));
    let ready = Arc::new(AtomicUsize::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel();
    // One client is one HTTP/2 connection (prior knowledge): its pool keeps one per host.
    let conns: Vec<reqwest::Client> = (0..n.div_ceil(per_conn))
        .map(|_| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .build()
                .expect("an HTTP/2 client")
        })
        .collect();
    for (i, token) in tokens.into_iter().enumerate() {
        tokio::spawn(stream(
            conns[i / per_conn].clone(),
            format!("{base}/api/v1/queue/events?token={token}"),
            connecting.clone(),
            ready.clone(),
            tx.clone(),
        ));
    }
    drop(tx);
    let opening = tokio::time::Instant::now() + Duration::from_secs(300);
    while ready.load(Ordering::Relaxed) < n {
        assert!(
            tokio::time::Instant::now() < opening,
            "{} of {n} streams open after 5 minutes",
            ready.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("READY");
    let mut arrivals = Vec::with_capacity(n);
    let mut active = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(wait);
    while arrivals.len() < n {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(next)) => {
                active += usize::from(next.active);
                arrivals.push(next.at_ms);
            }
            _ => break,
        }
    }
    let list: Vec<String> = arrivals.iter().map(u64::to_string).collect();
    println!(
        "{{\"streams\":{n},\"next_events\":{},\"active\":{active},\"arrivals_ms\":[{}]}}",
        arrivals.len(),
        list.join(",")
    );
}
