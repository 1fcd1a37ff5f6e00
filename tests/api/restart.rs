//! Restarts of the real binary: SIGTERM keeps everyone's place in the queue; kill -9 never loses
//! an acknowledged payment, hold or balance.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::*;

/// The `encore` binary serving on a free port of this test's database.
pub struct Server {
    child: Child,
    pub app: TestApp,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn start(db: impl Into<std::sync::Arc<TestDb>>, extra: &[(&str, &str)]) -> Server {
    let db: std::sync::Arc<TestDb> = db.into();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_encore"));
    cmd.arg("serve")
        .env("ENCORE_LISTEN", format!("127.0.0.1:{port}"))
        .env("ENCORE_DATABASE_URL", &db.database_url)
        .env("ENCORE_REDIS_PREFIX", &db.redis_prefix)
        .env("ENCORE_ADMIN_TOKEN", ADMIN)
        .env("ENCORE_RATE_LIMITS", "off")
        .env_remove("ENCORE_REDIS_URL")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = &db.redis_url {
        cmd.env("ENCORE_REDIS_URL", url);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    let child = cmd.spawn().expect("encore binary starts");
    let app = TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::new(),
        db,
    };
    let up = eventually(Duration::from_secs(20), || async {
        app.client
            .get(format!("{}/health", app.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
    })
    .await;
    assert!(up, "encore answered /health");
    Server { child, app }
}

impl Server {
    fn signal(&mut self, sig: &str) {
        let ok = Command::new("kill")
            .arg(sig)
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig}");
    }

    /// Stops the process and hands its database over for the next start.
    pub fn stop(mut self, sig: &str) -> std::sync::Arc<TestDb> {
        self.signal(sig);
        let status = self.child.wait().unwrap();
        if sig == "-TERM" {
            assert!(status.success(), "graceful shutdown exits 0: {status}");
        }
        self.app.db
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_restart_keeps_every_place_in_the_queue() {
    let server = start(TestDb::new().await, &[("ENCORE_QUEUE_ACTIVE_LIMIT", "1")]).await;
    let app = &server.app;
    let concert = app.concert().await;
    let active = app.admitted(&app.user().await, &concert).await;
    let second = app.join(&app.user().await, &concert).await.str("token");
    let third = app.join(&app.user().await, &concert).await.str("token");
    let before = app.get("queue", None, Some(&active)).await.body;

    let db = server.stop("-TERM");
    let server = start(db, &[("ENCORE_QUEUE_ACTIVE_LIMIT", "1")]).await;
    let app = &server.app;
    let after = app.get("queue", None, Some(&active)).await.body;
    assert_eq!(after["status"], "ACTIVE");
    assert_eq!(after["activeUntil"], before["activeUntil"]);
    assert_eq!(
        app.get("queue", None, Some(&second)).await.body["position"],
        1
    );
    assert_eq!(
        app.get("queue", None, Some(&third)).await.body["position"],
        2
    );
    // The line still works: the active fan leaves, the next one is in.
    app.send(
        app.req(reqwest::Method::DELETE, "queue")
            .header("X-Queue-Token", &active),
    )
    .await;
    assert_eq!(
        app.get("queue", None, Some(&second)).await.body["status"],
        "ACTIVE"
    );
    drop(server.stop("-TERM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_open_event_streams_and_still_saves_the_queue() {
    let server = start(TestDb::new().await, &[("ENCORE_QUEUE_ACTIVE_LIMIT", "1")]).await;
    let app = &server.app;
    let concert = app.concert().await;
    app.admitted(&app.user().await, &concert).await;
    let token = app.join(&app.user().await, &concert).await.str("token");
    let res = app
        .req(reqwest::Method::GET, &format!("queue/events?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // A connection that has sent nothing yet has no request to finish: it holds nothing up.
    let idle = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let mut server = server;
    server.signal("-TERM");
    let exited = tokio::task::spawn_blocking(move || {
        for _ in 0..100 {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Some((status, server.app.db));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = server.child.kill();
        None
    })
    .await
    .unwrap();
    let (status, db) = exited.expect("encore exited within 10 s although a stream was open");
    assert!(status.success());
    drop((res, idle));
    let server = start(db, &[("ENCORE_QUEUE_ACTIVE_LIMIT", "1")]).await;
    assert_eq!(
        server.app.get("queue", None, Some(&token)).await.body["position"],
        1
    );
    drop(server.stop("-TERM"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acknowledged_payment_survives_kill_9() {
    let server = start(TestDb::new().await, &[]).await;
    let app = &server.app;
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 5, 7000).await;
    let user = app.user().await;
    assert_eq!(app.charge(&user, 10_000).await.status, 200);
    let token = app.admitted(&user, &concert).await;
    let held = app.hold(&user, &token, &schedule, 2).await.str("id");
    let other = app.user().await;
    let other_token = app.admitted(&other, &concert).await;
    let kept_hold = app.hold(&other, &other_token, &schedule, 3).await;
    assert_eq!(kept_hold.status, 201);
    let paid = app.pay(&user, &held, Some("pay-before-crash")).await;
    assert_eq!(paid.status, 201);

    let db = server.stop("-KILL");
    let server = start(db, &[]).await;
    let app = &server.app;
    let r = app
        .get(&format!("reservations/{held}"), Some(&user), None)
        .await;
    assert_eq!(r.body["status"], "CONFIRMED");
    let p = app
        .get(&format!("payments/{}", paid.str("id")), Some(&user), None)
        .await;
    assert_eq!(p.body, paid.body);
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        3000
    );
    let ledger = app.get("wallet/transactions", Some(&user), None).await.body["items"].clone();
    assert_eq!(ledger.as_array().unwrap().len(), 2);
    // The replay after the crash is the same answer, and charges nothing.
    let again = app.pay(&user, &held, Some("pay-before-crash")).await;
    assert_eq!((again.status, again.body), (201, paid.body.clone()));
    assert_eq!(
        app.get("wallet", Some(&user), None).await.body["balance"],
        3000
    );
    // The other fan's hold is still theirs.
    let r = app
        .get(
            &format!("reservations/{}", kept_hold.str("id")),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(r.body["status"], "HELD");
    let fresh = app.user().await;
    let fresh_token = app.admitted(&fresh, &concert).await;
    assert_eq!(
        app.hold(&fresh, &fresh_token, &schedule, 3).await.code(),
        "SEAT_UNAVAILABLE"
    );
    assert_eq!(
        app.seat_status(&fresh, &fresh_token, &schedule, 2).await,
        "SOLD"
    );
    drop(server.stop("-TERM"));
}
