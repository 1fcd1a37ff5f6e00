//! The accept loop: HTTP/1.1 and cleartext HTTP/2 (prior knowledge) connections with a
//! header-read deadline, a cap on open connections, and a drain deadline on shutdown.
//!
//! HTTP/2 lets a proxy or a client carry many requests, event streams above all, over one
//! connection: 50,000 waiting fans' streams fit in a few hundred file descriptors.
//!
//! `axum::serve` exposes none of these. Without them a client can hold a connection open for
//! ever by trickling a header byte at a time, and enough idle connections exhaust the file
//! descriptors, after which `accept` fails and even `/health` goes unanswered.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, Response, header};
use axum::response::IntoResponse;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::error::Error;

/// Connections past the cap that are still answered (503, or `/health`) before being closed;
/// beyond these, new connections are closed at once.
const OVERFLOW: usize = 512;
/// Longest an over-the-cap connection is kept: one short request and its answer.
const OVERFLOW_LIFETIME: Duration = Duration::from_secs(5);
/// File descriptors kept for everything but client connections: database pool, Redis, logs.
const RESERVED_FDS: u64 = 256;
/// Requests one HTTP/2 connection may have open at once (event streams included).
pub const H2_MAX_STREAMS: u32 = 256;
/// The first bytes of an HTTP/2 connection with prior knowledge (RFC 9113, section 3.4).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

pub struct ServeConfig {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub drain_timeout: Duration,
}

/// Raises the soft limit of open files to the hard limit, and returns how many client
/// connections fit under it next to the descriptors the process needs for itself.
pub fn connection_cap(wanted: u32, pool_size: u32) -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    let room = files
        .saturating_sub(RESERVED_FDS + u64::from(pool_size))
        .max(16);
    let cap = u64::from(wanted).min(room) as usize;
    if cap < wanted as usize {
        tracing::warn!(
            files,
            connections = cap,
            "the open-file limit allows fewer connections than ENCORE_MAX_CONNECTIONS; raise it \
             (ulimit -n, LimitNOFILE=) to serve more"
        );
    }
    cap
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets the connections in
/// flight finish for at most `drain_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(config.max_connections));
    let overflow = Arc::new(Semaphore::new(OVERFLOW));
    let graceful = GracefulShutdown::new();
    let mut h1 = http1::Builder::new();
    h1.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout);
    let mut h2 = http2::Builder::new(TokioExecutor::new());
    h2.timer(TokioTimer::new())
        .max_concurrent_streams(H2_MAX_STREAMS)
        // A peer that stops answering pings is gone: its streams and descriptor are freed.
        .keep_alive_interval(Duration::from_secs(20))
        .keep_alive_timeout(Duration::from_secs(20));
    let mut busy = http1::Builder::new();
    busy.timer(TokioTimer::new())
        .header_read_timeout(config.header_timeout.min(Duration::from_secs(2)))
        .keep_alive(false);
    let header_timeout = config.header_timeout;
    // Ends the wait for a new connection's first bytes when the server stops: such a connection
    // has no request to finish, and must not hold the drain up.
    let stopping = CancellationToken::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors or memory: wait for connections to close rather than
                    // spin on a failing accept.
                    tracing::warn!(error = %e, "accept failed; pausing 100 ms");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        if let Ok(permit) = permits.clone().try_acquire_owned() {
            let router = router.clone();
            let svc = service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(req)
            });
            let (h1, h2, watcher) = (h1.clone(), h2.clone(), graceful.watcher());
            let stopping = stopping.clone();
            tokio::spawn(async move {
                let h2c = tokio::select! {
                    h2c = speaks_h2(&stream, header_timeout) => h2c,
                    _ = stopping.cancelled() => None,
                };
                match h2c {
                    Some(true) => {
                        let _ = watcher
                            .watch(h2.serve_connection(TokioIo::new(stream), svc))
                            .await;
                    }
                    Some(false) => {
                        let _ = watcher
                            .watch(h1.serve_connection(TokioIo::new(stream), svc))
                            .await;
                    }
                    // Nothing decisive before the header deadline (or the stop): closed, as a slow
                    // header is.
                    None => {}
                }
                drop(permit);
            });
        } else if let Ok(permit) = overflow.clone().try_acquire_owned() {
            let conn = busy.serve_connection(TokioIo::new(stream), service_fn(over_the_cap));
            tokio::spawn(async move {
                let _ = tokio::time::timeout(OVERFLOW_LIFETIME, conn).await;
                drop(permit);
            });
        }
        // Past both: the stream is dropped, which closes it.
    }
    drop(listener);
    stopping.cancel();
    let open = config.max_connections - permits.available_permits();
    if tokio::time::timeout(config.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            connections = open,
            "requests still running at the drain deadline are cut off"
        );
    }
}

/// Whether the client opens with the HTTP/2 preface, read without taking it from the socket:
/// `None` if it closes, or sends nothing that decides, within `within`.
async fn speaks_h2(stream: &TcpStream, within: Duration) -> Option<bool> {
    let mut buf = [0u8; H2_PREFACE.len()];
    let decide = async {
        loop {
            let n = stream.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            if buf[..n] != H2_PREFACE[..n] {
                return Some(false);
            }
            if n == H2_PREFACE.len() {
                return Some(true);
            }
            // A prefix of the preface: peek returns at once until more arrives.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(within, decide).await.ok().flatten()
}

/// The one answer of a connection over the cap: `/health` still says the process serves;
/// anything else is 503 with `Retry-After`, and the connection closes.
async fn over_the_cap(req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let mut res = if req.uri().path() == "/health" {
        crate::ops::health().await.into_response()
    } else {
        Error::Overloaded("the server is at its connection limit").into_response()
    };
    res.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    crate::http::headers::add(res.headers_mut());
    Ok(res)
}

/// The per-request deadline: a request not answered within `limit` is answered 503. The event
/// stream is exempt; its answer starts at once and then lasts as long as the wait.
pub async fn deadline(
    axum::extract::State(limit): axum::extract::State<Duration>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    if req.uri().path() == EVENTS_PATH {
        return next.run(req).await;
    }
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            Error::Overloaded("the request took longer than the server allows").into_response()
        }
    }
}

/// The one route whose answer is meant to last.
const EVENTS_PATH: &str = "/api/v1/queue/events";
