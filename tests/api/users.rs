//! Sign-up and `GET /users/me`.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn sign_up_returns_a_key_that_authenticates() {
    let app = spawn().await;
    let r = app
        .post("users", None, None, json!({"name": "김민지"}))
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["name"], "김민지");
    let user = User {
        id: r.str("id"),
        key: r.str("apiKey"),
    };
    assert!(user.key.len() >= 32, "key has at least 128 random bits");
    let me = app.get("users/me", Some(&user), None).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.body, json!({"id": user.id, "name": "김민지"}));
}

#[tokio::test]
async fn unknown_or_missing_keys_are_unauthorized() {
    let app = spawn().await;
    let r = app.get("users/me", None, None).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    let forged = User {
        id: String::new(),
        key: "enc_forged".into(),
    };
    let r = app.get("users/me", Some(&forged), None).await;
    assert_eq!((r.status, r.code()), (401, "UNAUTHORIZED"));
    assert_eq!(r.headers["content-type"], "application/problem+json");
}

#[tokio::test]
async fn names_must_be_one_to_hundred_characters() {
    let app = spawn().await;
    for bad in [
        json!({"name": ""}),
        json!({"name": "x".repeat(101)}),
        json!({}),
        json!({"name": 5}),
    ] {
        let r = app.post("users", None, None, bad.clone()).await;
        assert_eq!((r.status, r.code()), (422, "VALIDATION_FAILED"), "{bad}");
    }
    let r = app
        .post("users", None, None, json!({"name": "x".repeat(100)}))
        .await;
    assert_eq!(r.status, 201);
}
