//! Bad clients at the connection level: slow headers, slow bodies, too many connections, and a
//! start or a stop that must not lose anything.

use std::time::Duration;

use encore::Application;
use reqwest::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::*;

/// Generous bounds for "within the timeout": the assertion is that a connection closes at all,
/// where before it stayed open for as long as the client liked.
const WITHIN: Duration = Duration::from_secs(10);

fn addr(app: &TestApp) -> String {
    app.base.trim_start_matches("http://").to_owned()
}

/// Whether the server closed `stream` (EOF or reset) while `trickle` kept writing to it.
async fn closed_by_server(stream: &mut TcpStream, trickle: &[u8]) -> bool {
    let deadline = tokio::time::Instant::now() + WITHIN;
    let mut buf = [0u8; 1024];
    while tokio::time::Instant::now() < deadline {
        if !trickle.is_empty() && stream.write_all(trickle).await.is_err() {
            return true;
        }
        match tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            // An answer (a 408-like close) is read and the loop goes on to its EOF.
            Ok(Ok(_)) | Err(_) => {}
        }
    }
    false
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alives_are_closed() {
    let app = spawn_with(|s| s.header_timeout = Duration::from_secs(1)).await;
    // A header line every 200 ms never finishes the request.
    let mut slow = TcpStream::connect(addr(&app)).await.unwrap();
    slow.write_all(b"GET /health HTTP/1.1\r\n").await.unwrap();
    assert!(closed_by_server(&mut slow, b"X-Slow: 1\r\n").await);

    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = TcpStream::connect(addr(&app)).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    assert!(closed_by_server(&mut idle, b"").await);
}

#[tokio::test]
async fn a_body_that_never_arrives_is_answered_503_at_the_request_deadline() {
    let app = spawn_with(|s| s.request_timeout = Duration::from_secs(1)).await;
    let mut s = TcpStream::connect(addr(&app)).await.unwrap();
    s.write_all(
        b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
          Content-Length: 100\r\n\r\n{\"name\"",
    )
    .await
    .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(WITHIN, async {
        let mut buf = [0u8; 4096];
        loop {
            let n = s.read(&mut buf).await.unwrap_or(0);
            answer.extend_from_slice(&buf[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer while the body stalled");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 503"), "{text}");
}

/// A keep-alive connection that has been served once, so the server holds it open.
async fn held_connection(app: &TestApp) -> TcpStream {
    let mut s = TcpStream::connect(addr(app)).await.unwrap();
    s.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    s
}

#[tokio::test]
async fn connections_over_the_cap_get_503_and_health_keeps_answering() {
    let app = spawn_with(|s| s.max_connections = 4).await;
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(held_connection(&app).await);
    }
    // A fresh connection each time: the cap counts connections, not requests.
    let fresh = || {
        reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap()
    };
    let r = fresh()
        .get(format!("{}/api/v1/concerts", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["code"], "SERVICE_UNAVAILABLE");
    let health = fresh()
        .get(format!("{}/health", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);

    drop(held);
    let served = eventually(WITHIN, || async {
        let r = fresh()
            .get(format!("{}/api/v1/concerts", app.base))
            .send()
            .await;
        r.is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(served, "connections closed, the cap frees up");
}

#[tokio::test]
async fn shutdown_stops_waiting_for_a_stalled_request_at_the_drain_deadline() {
    let db = TestDb::new().await;
    let mut settings = db.settings();
    settings.drain_timeout = Duration::from_secs(1);
    settings.request_timeout = Duration::from_secs(3600);
    let app = Application::build(settings).await.unwrap();
    let address = app.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(
            b"POST /api/v1/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{",
        )
        .await
        .unwrap();
    // The request is in a handler, waiting for its body, when the stop comes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send(()).unwrap();
    let ended = tokio::time::timeout(WITHIN, running).await;
    assert!(ended.is_ok(), "shutdown waited past the drain deadline");
    ended.unwrap().unwrap().unwrap();
}

#[tokio::test]
async fn a_taken_port_is_named_in_the_startup_error_and_the_saved_queue_survives_it() {
    let db = std::sync::Arc::new(TestDb::new().await);
    // A line with a waiter, saved by a graceful stop.
    let app = Application::build(db.settings_with(|s| s.queue_active_limit = 1))
        .await
        .unwrap();
    let base = format!("http://{}", app.local_addr());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let t = TestApp {
        base,
        client: reqwest::Client::new(),
        db: db.clone(),
    };
    let concert = t.concert().await;
    t.admitted(&t.user().await, &concert).await;
    let waiter = t.join(&t.user().await, &concert).await.str("token");
    stop.send(()).unwrap();
    running.await.unwrap().unwrap();

    // A start on a port someone else holds fails, saying which address, and changes nothing.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let failed = Application::build(db.settings_with(|s| {
        s.queue_active_limit = 1;
        s.listen = taken_addr.clone();
    }))
    .await;
    let err = failed
        .err()
        .expect("a taken port fails the start")
        .to_string();
    assert!(err.contains(&taken_addr), "{err}");
    assert!(err.contains("already in use"), "{err}");

    // The next good start still has the waiter in line.
    let settings = db.settings_with(|s| s.queue_active_limit = 1);
    let again = spawn_on(db.clone(), settings).await;
    let r = again.get("queue", None, Some(&waiter)).await;
    assert_eq!(
        (r.status, &r.body["position"]),
        (200, &serde_json::json!(1)),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn postgres_without_redis_is_refused_unless_single_instance() {
    let mut settings = encore::Settings::defaults();
    settings.listen = "127.0.0.1:0".into();
    // Nothing listens there: the refusal must come before any connection is tried.
    settings.database_url = "postgres://postgres@127.0.0.1:1/nothing".into();
    settings.redis_url = None;
    let err = Application::build(settings.clone()).await.err().unwrap();
    assert!(err.to_string().contains("ENCORE_SINGLE_INSTANCE"), "{err}");

    settings.single_instance = true;
    let err = Application::build(settings).await.err().unwrap();
    assert!(!err.to_string().contains("ENCORE_SINGLE_INSTANCE"), "{err}");
}

#[tokio::test]
async fn unknown_methods_share_one_metrics_label() {
    let app = spawn().await;
    for i in 0..5 {
        let m = Method::from_bytes(format!("M{i}").as_bytes()).unwrap();
        app.send(app.req(m, "/health")).await;
    }
    let metrics = app.get("/metrics", None, None).await;
    let text = metrics.body.as_str().unwrap();
    assert!(text.contains("method=\"OTHER\""), "{text}");
    assert!(!text.contains("method=\"M1\""), "{text}");
}

#[tokio::test]
async fn one_ticket_opens_at_most_three_event_streams() {
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let token = app.join(&app.user().await, &concert).await.str("token");
    let open = || async {
        app.req(Method::GET, &format!("queue/events?token={token}"))
            .send()
            .await
            .unwrap()
    };
    let mut streams = Vec::new();
    for _ in 0..3 {
        let s = open().await;
        assert_eq!(s.status(), 200);
        streams.push(s);
    }
    let refused = open().await;
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    // A stream closed by its client gives its place back.
    drop(streams.pop());
    let reopened = eventually(WITHIN, || async { open().await.status() == 200 }).await;
    assert!(reopened);
}

#[tokio::test]
async fn event_streams_and_requests_are_served_over_cleartext_http2() {
    use futures_util::StreamExt;
    let app = spawn_with(|s| s.queue_active_limit = 1).await;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    // Prior knowledge: the client opens with the HTTP/2 preface, as a proxy speaking h2c does.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut streams = Vec::new();
    for _ in 0..5 {
        let token = app.join(&app.user().await, &concert).await.str("token");
        let res = h2
            .get(format!("{}/api/v1/queue/events?token={token}", app.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.version(), reqwest::Version::HTTP_2);
        assert_eq!(res.status(), 200);
        streams.push(res.bytes_stream());
    }
    // Every stream, all open at once, has its first event: the waiter's place in line.
    for (i, stream) in streams.iter_mut().enumerate() {
        let mut seen = String::new();
        while !seen.contains("\"position\"") {
            let chunk = tokio::time::timeout(WITHIN, stream.next())
                .await
                .expect("an event within the bound")
                .expect("the stream stays open")
                .unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
        assert!(seen.contains("WAITING"), "stream {i}: {seen}");
    }
    // Ordinary requests go over HTTP/2 beside the open streams.
    let health = h2.get(format!("{}/health", app.base)).send().await.unwrap();
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    assert_eq!(health.status(), 200);
}
