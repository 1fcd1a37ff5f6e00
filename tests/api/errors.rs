//! Bad input of every kind is a 4xx problem and changes nothing; operations endpoints answer.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn malformed_bodies_are_validation_problems_and_change_nothing() {
    let app = spawn().await;
    let user = app.user().await;
    let bodies = [
        "{",
        "[]",
        "null",
        "{\"amount\": \"10\"}",
        "{\"amount\": 1.5}",
        "{\"amount\": -1}",
        "{\"amount\": 0}",
        "{\"amount\": 10000001}",
        "{\"amount\": 99999999999999999999}",
        "{}",
    ];
    for body in bodies {
        let rb = with(app.req(Method::POST, "wallet/charges"), Some(&user), None)
            .header("content-type", "application/json")
            .body(body);
        let r = app.send(rb).await;
        assert!(r.status == 400 || r.status == 422, "{body}: {}", r.status);
        assert_eq!(r.code(), "VALIDATION_FAILED", "{body}");
        assert_eq!(r.headers["content-type"], "application/problem+json");
    }
    let wallet = app.get("wallet", Some(&user), None).await;
    assert_eq!(wallet.body["balance"], 0);
    let ledger = app.get("wallet/transactions", Some(&user), None).await;
    assert_eq!(ledger.body["items"], json!([]));
}

#[tokio::test]
async fn oversized_bodies_are_413() {
    let app = spawn().await;
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let rb = app
        .req(Method::POST, "users")
        .header("content-type", "application/json");
    let r = app.send(rb.body(big)).await;
    assert_eq!((r.status, r.code()), (413, "PAYLOAD_TOO_LARGE"));
}

#[tokio::test]
async fn unknown_routes_wrong_methods_and_bad_ids_are_problems() {
    let app = spawn().await;
    let r = app.get("/no/such/route", None, None).await;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    let r = app.get("nothing-here", None, None).await;
    assert_eq!((r.status, r.code()), (404, "NOT_FOUND"));
    let r = app.send(app.req(Method::PATCH, "concerts")).await;
    assert_eq!((r.status, r.code()), (405, "METHOD_NOT_ALLOWED"));
    let r = app.get("concerts/not-a-uuid", None, None).await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    let user = app.user().await;
    let r = app.get("reservations?limit=0", Some(&user), None).await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    let r = app.get("reservations?limit=abc", Some(&user), None).await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
    let r = app
        .get("wallet/transactions?cursor=%%%", Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"));
}

#[tokio::test]
async fn health_ready_and_metrics_answer() {
    let app = spawn().await;
    assert_eq!(
        app.get("/health", None, None).await.body,
        json!({"status": "ok"})
    );
    assert_eq!(app.get("/ready", None, None).await.status, 200);
    let user = app.user().await;
    let concert = app.concert().await;
    app.join(&user, &concert).await;
    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(
        text.contains("http_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "encore_queue_active{{concert_id=\"{concert}\"}} 1"
        )),
        "{text}"
    );
}

#[tokio::test]
async fn openapi_describes_every_contract_path() {
    let app = spawn().await;
    let doc: Value = app.get("/openapi.json", None, None).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/users", "post"),
        ("/api/v1/users/me", "get"),
        ("/api/v1/admin/concerts", "post"),
        ("/api/v1/admin/concerts/{concertId}/schedules", "post"),
        ("/api/v1/concerts", "get"),
        ("/api/v1/concerts/{concertId}", "get"),
        ("/api/v1/concerts/{concertId}/schedules", "get"),
        ("/api/v1/schedules/{scheduleId}/seats", "get"),
        ("/api/v1/concerts/{concertId}/queue", "post"),
        ("/api/v1/queue", "get"),
        ("/api/v1/queue", "delete"),
        ("/api/v1/queue/events", "get"),
        ("/api/v1/reservations", "post"),
        ("/api/v1/reservations", "get"),
        ("/api/v1/reservations/{reservationId}", "get"),
        ("/api/v1/reservations/{reservationId}", "delete"),
        ("/api/v1/wallet", "get"),
        ("/api/v1/wallet/charges", "post"),
        ("/api/v1/wallet/transactions", "get"),
        ("/api/v1/payments", "post"),
        ("/api/v1/payments/{paymentId}", "get"),
        ("/health", "get"),
        ("/ready", "get"),
        ("/metrics", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "missing {method} {path}"
        );
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            for (status, response) in op["responses"].as_object().unwrap() {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object().unwrap();
                    assert_eq!(
                        content.keys().collect::<Vec<_>>(),
                        ["application/problem+json"],
                        "{method} {path} {status} is a problem document"
                    );
                    assert!(!response["description"].as_str().unwrap().is_empty());
                }
            }
        }
    }
    let text = doc.to_string();
    for code in [
        "QUEUE_UNAVAILABLE",
        "DATABASE_UNAVAILABLE",
        "SEAT_UNAVAILABLE",
        "IDEMPOTENCY_KEY_REUSED",
    ] {
        assert!(text.contains(code), "{code} is documented");
    }
}

#[tokio::test]
async fn openapi_states_what_the_server_enforces() {
    let app = spawn().await;
    let doc = app.get("/openapi.json", None, None).await.body;
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let answers = &op["responses"];
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let what = format!("{method} {path}");
            if params.iter().any(|p| p["in"] == "path") {
                assert!(
                    answers.get("422").is_some(),
                    "{what}: a malformed id is 422"
                );
            }
            if op.get("requestBody").is_some() {
                assert!(answers.get("415").is_some(), "{what}: 415");
                assert!(answers.get("413").is_some(), "{what}: 413");
            }
            if path.starts_with("/api/") {
                let limited = &answers["429"];
                assert!(
                    limited["headers"].get("Retry-After").is_some(),
                    "{what}: 429"
                );
                assert!(answers.get("503").is_some(), "{what}: 503");
            }
            for p in &params {
                match p["name"].as_str().unwrap() {
                    "limit" => {
                        assert_eq!(
                            (&p["schema"]["minimum"], &p["schema"]["maximum"]),
                            (&json!(1), &json!(200)),
                            "{what}"
                        );
                    }
                    "Idempotency-Key" => {
                        assert_eq!(p["schema"]["maxLength"], 255, "{what}");
                        assert_eq!(p["schema"]["pattern"], "^[!-~]+$", "{what}");
                    }
                    _ => {}
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 20);
    let schemas = &doc["components"]["schemas"];
    assert_eq!(schemas["NewUser"]["properties"]["name"]["maxLength"], 100);
    assert_eq!(schemas["NewCharge"]["properties"]["amount"]["minimum"], 1);
    assert_eq!(
        schemas["NewConcert"]["properties"]["title"]["maxLength"],
        200
    );
}
