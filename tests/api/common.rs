//! The harness: a real encore on port 0 with its own database per test, driven over HTTP.
//!
//! `ENCORE_TEST_BACKEND=postgres` runs the same tests on PostgreSQL + Redis: each test gets a
//! fresh PostgreSQL database and its own Redis key prefix. The default is SQLite + the embedded
//! queue, which needs nothing installed. Tests that only make sense on PostgreSQL + Redis
//! (several instances, outages, query plans) are `#[ignore = "needs PostgreSQL + Redis…"]` and
//! always use it: `cargo test -- --include-ignored` runs them, as `.ci/run` does.

use std::sync::Arc;
use std::time::Duration;

use encore::config::Settings;
use reqwest::{Client, Method, RequestBuilder};
use serde_json::{Value, json};
use uuid::Uuid;

pub const ADMIN: &str = "test-admin-token";

/// The backend of the shared suite, from `ENCORE_TEST_BACKEND`.
pub fn backend_is_postgres() -> bool {
    std::env::var("ENCORE_TEST_BACKEND").is_ok_and(|b| b == "postgres")
}

pub fn pg_base_url() -> String {
    std::env::var("ENCORE_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("ENCORE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One Redis server, for the tests that put a proxy in front of it: a cluster tells clients its
/// nodes' own addresses, so a proxy cannot stand in for one. The suite's Redis when that is one
/// server, else `ENCORE_TEST_SINGLE_REDIS_URL` (default `redis://127.0.0.1:6379`).
pub fn single_redis_url() -> String {
    match std::env::var("ENCORE_TEST_SINGLE_REDIS_URL") {
        Ok(url) => url,
        Err(_) if !redis_url().contains(',') => redis_url(),
        Err(_) => "redis://127.0.0.1:6379".into(),
    }
}

/// Where one test's data lives; dropping it removes a SQLite directory (PostgreSQL databases
/// are named `encore_test_*` and removed by `.ci/run`).
pub struct TestDb {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// The shared suite's backend (`ENCORE_TEST_BACKEND`).
    pub async fn new() -> TestDb {
        if backend_is_postgres() {
            Self::scaled().await
        } else {
            Self::sqlite()
        }
    }

    /// PostgreSQL + Redis whatever `ENCORE_TEST_BACKEND` says: for the tests `#[ignore]`d as needing it.
    pub async fn scaled() -> TestDb {
        {
            let name = format!("encore_test_{}", Uuid::now_v7().simple());
            let admin_url = format!("{}/postgres", pg_base_url());
            let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin_url)
                .await
                .expect("PostgreSQL must be reachable on ENCORE_TEST_PG_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create database");
            TestDb {
                database_url: format!("{}/{name}", pg_base_url()),
                redis_url: Some(redis_url()),
                redis_prefix: format!("encore-test-{}", Uuid::now_v7().simple()),
                _dir: None,
            }
        }
    }

    fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        TestDb {
            database_url: format!("sqlite://{}", dir.path().join("encore.db").display()),
            redis_url: None,
            redis_prefix: "encore".into(),
            _dir: Some(dir),
        }
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// Settings for an app on this database, with the test admin token and a free port.
    pub fn settings(&self) -> Settings {
        let mut s = Settings::defaults();
        s.listen = "127.0.0.1:0".into();
        s.database_url = self.database_url.clone();
        s.redis_url = self.redis_url.clone();
        s.redis_prefix = self.redis_prefix.clone();
        s.admin_token = Some(ADMIN.into());
        s.sweep_interval = Duration::from_millis(200);
        // Tests sign many fans up from one address; `abuse.rs` turns the limits on.
        s.rate_limits = false;
        s
    }
}

impl TestDb {
    /// [`TestDb::settings`] changed by `tweak`.
    pub fn settings_with(&self, tweak: impl FnOnce(&mut Settings)) -> Settings {
        let mut s = self.settings();
        tweak(&mut s);
        s
    }
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    /// Shared by every instance of a multi-instance test; kept alive as long as any app.
    pub db: Arc<TestDb>,
}

pub struct Resp {
    pub status: u16,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn str(&self, field: &str) -> String {
        self.body[field]
            .as_str()
            .unwrap_or_else(|| panic!("no string {field} in {}", self.body))
            .to_owned()
    }
}

#[derive(Clone)]
pub struct User {
    pub id: String,
    pub key: String,
}

/// Starts an app with default settings changed by `tweak`.
pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_on_with(TestDb::new().await, tweak).await
}

/// As [`spawn_with`], on PostgreSQL + Redis whatever the suite's backend.
pub async fn spawn_scaled_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    spawn_on_with(TestDb::scaled().await, tweak).await
}

async fn spawn_on_with(db: TestDb, tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = db.settings();
    tweak(&mut settings);
    spawn_on(db, settings).await
}

pub async fn spawn() -> TestApp {
    spawn_with(|_| {}).await
}

pub async fn spawn_on(db: impl Into<Arc<TestDb>>, settings: Settings) -> TestApp {
    let app = encore::Application::build(settings)
        .await
        .expect("app builds");
    let base = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    TestApp {
        base,
        client: Client::new(),
        db: db.into(),
    }
}

/// `n` instances of encore on one PostgreSQL database and one Redis key prefix.
pub async fn spawn_cluster(n: usize, tweak: impl Fn(&mut Settings)) -> Vec<TestApp> {
    let db = Arc::new(TestDb::scaled().await);
    let mut apps = Vec::new();
    for _ in 0..n {
        let mut settings = db.settings();
        tweak(&mut settings);
        apps.push(spawn_on(db.clone(), settings).await);
    }
    apps
}

impl TestApp {
    /// `path` under `/api/v1` unless it starts with `/`.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        let url = if path.starts_with('/') {
            format!("{}{path}", self.base)
        } else {
            format!("{}/api/v1/{path}", self.base)
        };
        self.client.request(method, url)
    }

    pub async fn send(&self, rb: RequestBuilder) -> Resp {
        let res = rb.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            body,
            headers,
        }
    }

    pub async fn get(&self, path: &str, user: Option<&User>, token: Option<&str>) -> Resp {
        self.send(with(self.req(Method::GET, path), user, token))
            .await
    }

    pub async fn post(
        &self,
        path: &str,
        user: Option<&User>,
        token: Option<&str>,
        body: Value,
    ) -> Resp {
        self.send(with(self.req(Method::POST, path), user, token).json(&body))
            .await
    }

    pub async fn delete(&self, path: &str, user: Option<&User>, token: Option<&str>) -> Resp {
        self.send(with(self.req(Method::DELETE, path), user, token))
            .await
    }

    pub async fn admin_post(&self, path: &str, body: Value) -> Resp {
        self.send(self.req(Method::POST, path).bearer_auth(ADMIN).json(&body))
            .await
    }

    pub async fn admin_get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path).bearer_auth(ADMIN))
            .await
    }

    pub async fn admin_patch(&self, path: &str, body: Value) -> Resp {
        self.send(self.req(Method::PATCH, path).bearer_auth(ADMIN).json(&body))
            .await
    }

    /// `user` (with money enough) joins, holds seat `seat` of `schedule` and pays; returns the
    /// reservation id.
    pub async fn bought(&self, user: &User, concert: &str, schedule: &str, seat: i64) -> String {
        let token = self.admitted(user, concert).await;
        let hold = self.hold(user, &token, schedule, seat).await;
        assert_eq!(hold.status, 201, "{}", hold.body);
        let rid = hold.str("id");
        let paid = self.pay(user, &rid, None).await;
        assert_eq!(paid.status, 201, "{}", paid.body);
        rid
    }

    /// The tickets of a paid reservation.
    pub async fn tickets(&self, user: &User, rid: &str) -> Vec<Value> {
        let r = self
            .get(&format!("reservations/{rid}/tickets"), Some(user), None)
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["items"].as_array().unwrap().clone()
    }

    /// A gate's scan of `code` with `bearer` (the staff or admin token).
    pub async fn scan(&self, bearer: &str, code: &str) -> Resp {
        self.send(
            self.req(Method::POST, "checkins")
                .bearer_auth(bearer)
                .json(&json!({"code": code})),
        )
        .await
    }

    pub async fn user(&self) -> User {
        let r = self.post("users", None, None, json!({"name": "fan"})).await;
        assert_eq!(r.status, 201, "{}", r.body);
        User {
            id: r.str("id"),
            key: r.str("apiKey"),
        }
    }

    pub async fn concert(&self) -> String {
        let r = self
            .admin_post(
                "admin/concerts",
                json!({"title": "Show", "performer": "Band", "venue": "Hall"}),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.str("id")
    }

    /// A schedule whose booking window is open now.
    pub async fn schedule(&self, concert: &str, seats: u32, price: i64) -> String {
        let r = self
            .admin_post(
                &format!("admin/concerts/{concert}/schedules"),
                schedule_body(seats, price, -3600, 86_400),
            )
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.str("id")
    }

    pub async fn join(&self, user: &User, concert: &str) -> Resp {
        self.post(
            &format!("concerts/{concert}/queue"),
            Some(user),
            None,
            json!({}),
        )
        .await
    }

    /// Joins and asserts the ticket is ACTIVE at once (the cap is not full); returns its token.
    pub async fn admitted(&self, user: &User, concert: &str) -> String {
        let r = self.join(user, concert).await;
        assert!(r.status == 201 || r.status == 200, "{}", r.body);
        assert_eq!(r.body["status"], "ACTIVE", "{}", r.body);
        r.str("token")
    }

    /// `n` new fans, each admitted to `concert`, with their queue tokens.
    pub async fn admitted_fans(&self, concert: &str, n: usize) -> Vec<(User, String)> {
        let mut fans = Vec::with_capacity(n);
        for _ in 0..n {
            let user = self.user().await;
            let token = self.admitted(&user, concert).await;
            fans.push((user, token));
        }
        fans
    }

    pub async fn charge(&self, user: &User, amount: i64) -> Resp {
        self.post(
            "wallet/charges",
            Some(user),
            None,
            json!({"amount": amount}),
        )
        .await
    }

    pub async fn hold(&self, user: &User, token: &str, schedule: &str, seat: i64) -> Resp {
        self.post(
            "reservations",
            Some(user),
            Some(token),
            json!({"scheduleId": schedule, "seatNumber": seat}),
        )
        .await
    }

    pub async fn pay(&self, user: &User, reservation: &str, key: Option<&str>) -> Resp {
        let mut rb = with(self.req(Method::POST, "payments"), Some(user), None)
            .json(&json!({"reservationId": reservation}));
        if let Some(k) = key {
            rb = rb.header("Idempotency-Key", k);
        }
        self.send(rb).await
    }

    pub async fn seat_status(&self, user: &User, token: &str, schedule: &str, seat: i64) -> String {
        let r = self
            .get(
                &format!("schedules/{schedule}/seats"),
                Some(user),
                Some(token),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body["seats"][(seat - 1) as usize]["status"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// One text value read straight from the app's database, for what the API does not show.
    pub async fn db_text(&self, sql: &str) -> String {
        use sqlx::Connection;
        if self.db.is_postgres() {
            let mut c = sqlx::PgConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            sqlx::query_scalar(sql).fetch_one(&mut c).await.unwrap()
        }
    }

    /// Runs one statement straight on the app's database, for states the API cannot make.
    pub async fn db_exec(&self, sql: &str) {
        use sqlx::Connection;
        if self.db.is_postgres() {
            let mut c = sqlx::PgConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            sqlx::query(sql).execute(&mut c).await.unwrap();
        }
    }

    /// The query plan of `sql` on the app's database, as one text.
    /// PostgreSQL is told to avoid sequential scans, so the plan shows whether an index serves
    /// the statement at all rather than what is cheapest on a tiny table.
    pub async fn db_plan(&self, sql: &str) -> String {
        use sqlx::{Connection, Row};
        if self.db.is_postgres() {
            let mut c = sqlx::PgConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            sqlx::query("SET enable_seqscan = off")
                .execute(&mut c)
                .await
                .unwrap();
            let sql = format!("EXPLAIN {sql}");
            let rows = sqlx::query(&sql).fetch_all(&mut c).await.unwrap();
            rows.iter()
                .map(|r| r.get::<String, _>(0))
                .collect::<Vec<_>>()
                .join("\n")
        } else {
            let mut c = sqlx::SqliteConnection::connect(&self.db.database_url)
                .await
                .unwrap();
            let sql = format!("EXPLAIN QUERY PLAN {sql}");
            let rows = sqlx::query(&sql).fetch_all(&mut c).await.unwrap();
            rows.iter()
                .map(|r| r.get::<String, _>(3))
                .collect::<Vec<_>>()
                .join("\n")
        }
    }

    /// A seat's state and its reservation's status, from the database (tests with one schedule
    /// and one reservation per seat).
    pub async fn seat_rows(&self, seat: i64) -> (String, String) {
        let state = format!("SELECT state FROM seats WHERE number = {seat}");
        let status = format!("SELECT status FROM reservations WHERE seat_number = {seat}");
        (self.db_text(&state).await, self.db_text(&status).await)
    }
}

pub fn with(rb: RequestBuilder, user: Option<&User>, token: Option<&str>) -> RequestBuilder {
    let rb = match user {
        Some(u) => rb.bearer_auth(&u.key),
        None => rb,
    };
    match token {
        Some(t) => rb.header("X-Queue-Token", t),
        None => rb,
    }
}

/// A schedule body with the window from `opens_in` to `closes_in` seconds from now.
pub fn schedule_body(seats: u32, price: i64, opens_in: i64, closes_in: i64) -> Value {
    let now = chrono::Utc::now();
    let at = |s: i64| (now + chrono::Duration::seconds(s)).to_rfc3339();
    json!({
        "startsAt": at(closes_in + 3600),
        "bookingOpensAt": at(opens_in),
        "bookingClosesAt": at(closes_in),
        "seatCount": seats,
        "price": price,
    })
}

/// Polls `check` until it returns true or `within` passes; for waiting on background work
/// without asserting a duration.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
