//! A hostile client: floods of sign-ups, joins and guessed keys meet 429s, and a cross-site form
//! cannot create an account.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

fn rate(s: &str) -> encore::config::Rate {
    s.parse().unwrap()
}

/// An app with the rate limits on, as in production, changed by `tweak`.
async fn limited(tweak: impl FnOnce(&mut encore::Settings)) -> TestApp {
    spawn_with(|s| {
        s.rate_limits = true;
        tweak(s);
    })
    .await
}

fn assert_limited(r: &Resp) {
    assert_eq!((r.status, r.code()), (429, "RATE_LIMITED"), "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(wait >= 1, "Retry-After: {wait}");
}

async fn sign_up(app: &TestApp, forwarded_for: Option<&str>) -> Resp {
    let mut rb = app.req(Method::POST, "users").json(&json!({"name": "bot"}));
    if let Some(f) = forwarded_for {
        rb = rb.header("x-forwarded-for", f);
    }
    app.send(rb).await
}

#[tokio::test]
async fn sign_ups_past_the_limit_are_429_with_retry_after() {
    let app = limited(|s| s.rate_signups = rate("3/min")).await;
    for _ in 0..3 {
        assert_eq!(sign_up(&app, None).await.status, 201);
    }
    assert_limited(&sign_up(&app, None).await);
}

#[tokio::test]
async fn one_address_takes_at_most_the_join_limit_of_places() {
    let app = limited(|s| s.rate_joins = rate("2/min")).await;
    let concert = app.concert().await;
    for _ in 0..2 {
        let fan = app.user().await;
        assert_eq!(app.join(&fan, &concert).await.status, 201);
    }
    let fan = app.user().await;
    assert_limited(&app.join(&fan, &concert).await);
}

#[tokio::test]
async fn guessed_keys_are_refused_before_the_database_and_good_keys_still_work() {
    let app = limited(|s| s.rate_bad_keys = rate("3/min")).await;
    let fan = app.user().await;
    let guess = |n: usize| User {
        id: String::new(),
        key: format!("enc_guess_{n}"),
    };
    for n in 0..3 {
        let r = app.get("users/me", Some(&guess(n)), None).await;
        assert_eq!(r.status, 401);
    }
    assert_limited(&app.get("users/me", Some(&guess(3)), None).await);
    // The fan's key is known to this instance: no lookup to count, no refusal.
    assert_eq!(app.get("wallet", Some(&fan), None).await.status, 200);
    assert_eq!(app.get("users/me", Some(&fan), None).await.status, 200);
}

#[tokio::test]
async fn each_api_key_has_its_own_request_budget() {
    let app = limited(|s| s.rate_per_key = rate("4/h")).await;
    let (a, b) = (app.user().await, app.user().await);
    for _ in 0..4 {
        assert_eq!(app.get("wallet", Some(&a), None).await.status, 200);
    }
    assert_limited(&app.get("wallet", Some(&a), None).await);
    assert_eq!(app.get("wallet", Some(&b), None).await.status, 200);
}

#[tokio::test]
async fn forwarded_for_counts_only_behind_a_trusted_proxy() {
    // Not trusted: the header is the client's own word and changes nothing.
    let app = limited(|s| s.rate_signups = rate("1/min")).await;
    assert_eq!(sign_up(&app, Some("198.51.100.1")).await.status, 201);
    assert_limited(&sign_up(&app, Some("198.51.100.2")).await);

    // Behind a trusted proxy (this test's loopback), each forwarded client has its own budget.
    let app = limited(|s| {
        s.rate_signups = rate("1/min");
        s.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    assert_eq!(sign_up(&app, Some("198.51.100.1")).await.status, 201);
    assert_limited(&sign_up(&app, Some("198.51.100.1")).await);
    // A forged left-most hop does not help: the proxy's own hop is what counts.
    assert_limited(&sign_up(&app, Some("203.0.113.9, 198.51.100.1")).await);
    assert_eq!(sign_up(&app, Some("198.51.100.2")).await.status, 201);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_415_and_creates_nothing() {
    let app = spawn().await;
    let body = r#"{"name":"csrf"}"#;
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut rb = app.req(Method::POST, "users").body(body);
        if let Some(ct) = ct {
            rb = rb.header("content-type", ct);
        }
        let r = app.send(rb).await;
        assert_eq!(
            (r.status, r.code()),
            (415, "UNSUPPORTED_MEDIA_TYPE"),
            "{ct:?}"
        );
    }
    assert_eq!(
        app.db_text("SELECT CAST(COUNT(*) AS TEXT) FROM users")
            .await,
        "0"
    );
    // JSON with a charset, or a +json type, is JSON.
    let rb = app.req(Method::POST, "users").body(body);
    let r = app
        .send(rb.header("content-type", "application/json; charset=utf-8"))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}

/// Finds the nonce a challenge asks for, as the web front's worker does.
fn solve(challenge: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    let c = challenge["challenge"].as_str().unwrap();
    let bits = challenge["bits"].as_u64().unwrap() as u32;
    let zeros = |d: &[u8]| {
        let mut n = 0;
        for b in d {
            if *b != 0 {
                return n + b.leading_zeros();
            }
            n += 8;
        }
        n
    };
    (0u64..)
        .map(|n| format!("{c}.{n}"))
        .find(|proof| zeros(&Sha256::digest(proof.as_bytes())) >= bits)
        .unwrap()
}

async fn join_with(app: &TestApp, fan: &User, concert: &str, proof: Option<&str>) -> Resp {
    let mut rb = with(
        app.req(Method::POST, &format!("concerts/{concert}/queue")),
        Some(fan),
        None,
    );
    if let Some(p) = proof {
        rb = rb.header("X-Queue-Proof", p);
    }
    app.send(rb).await
}

async fn challenge(app: &TestApp, fan: &User, concert: &str) -> serde_json::Value {
    let r = app
        .get(
            &format!("concerts/{concert}/queue/challenge"),
            Some(fan),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn with_proof_of_work_on_a_join_needs_a_fresh_solved_challenge_of_its_own() {
    let app = spawn_with(|s| s.queue_pow_bits = 8).await;
    let concert = app.concert().await;
    let (fan, other) = (app.user().await, app.user().await);

    let r = join_with(&app, &fan, &concert, None).await;
    assert_eq!((r.status, r.code()), (428, "PROOF_REQUIRED"));
    let c = challenge(&app, &fan, &concert).await;
    assert_eq!(c["bits"], 8);
    assert!(c["expiresAt"].is_string());
    let proof = solve(&c);

    // Someone else's proof, a wrong nonce, or garbage: 403.
    let r = join_with(&app, &other, &concert, Some(&proof)).await;
    assert_eq!((r.status, r.code()), (403, "PROOF_INVALID"));
    let unsolved = format!("{}.not-a-solution", c["challenge"].as_str().unwrap());
    let r = join_with(&app, &fan, &concert, Some(&unsolved)).await;
    assert_eq!((r.status, r.code()), (403, "PROOF_INVALID"));
    let r = join_with(&app, &fan, &concert, Some("garbage")).await;
    assert_eq!((r.status, r.code()), (403, "PROOF_INVALID"));

    // The fan's own: in. Again, after leaving: spent.
    let r = join_with(&app, &fan, &concert, Some(&proof)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let left = app
        .send(with(
            app.req(Method::DELETE, "queue"),
            None,
            Some(&r.str("token")),
        ))
        .await;
    assert_eq!(left.status, 204);
    let r = join_with(&app, &fan, &concert, Some(&proof)).await;
    assert_eq!((r.status, r.code()), (403, "PROOF_INVALID"));
    // A new challenge works again.
    let again = solve(&challenge(&app, &fan, &concert).await);
    assert_eq!(
        join_with(&app, &fan, &concert, Some(&again)).await.status,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL + Redis: run by .ci/run with --include-ignored"]
async fn a_proof_spent_on_one_instance_is_spent_on_every_instance() {
    let apps = spawn_cluster(2, |s| s.queue_pow_bits = 6).await;
    let concert = apps[0].concert().await;
    let fan = apps[0].user().await;
    let proof = solve(&challenge(&apps[0], &fan, &concert).await);
    let r = join_with(&apps[0], &fan, &concert, Some(&proof)).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let token = r.str("token");
    let left = apps[0]
        .send(with(
            apps[0].req(Method::DELETE, "queue"),
            None,
            Some(&token),
        ))
        .await;
    assert_eq!(left.status, 204);
    let r = join_with(&apps[1], &fan, &concert, Some(&proof)).await;
    assert_eq!((r.status, r.code()), (403, "PROOF_INVALID"));
}
