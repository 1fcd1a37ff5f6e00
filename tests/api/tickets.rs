//! Tickets and check-in: signed codes a gate checks offline, one entry per ticket however many
//! gates scan it, void once refunded.

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::*;
use encore::tickets::jws::{Claims, Signer, Verifier};

const STAFF: &str = "gate-token";

/// A fan who bought seats 1 and 2 of a schedule starting in 25 hours (refundable by default).
async fn two_seats_bought(app: &TestApp) -> (User, String, String) {
    let concert = app.concert().await;
    let schedule = app.schedule(&concert, 10, 30_000).await;
    let user = app.user().await;
    app.charge(&user, 100_000).await;
    let token = app.admitted(&user, &concert).await;
    let hold = app
        .post(
            "reservations",
            Some(&user),
            Some(&token),
            json!({"scheduleId": schedule, "seats": ["MAIN-1-1", "MAIN-1-2"]}),
        )
        .await;
    assert_eq!(hold.status, 201, "{}", hold.body);
    let rid = hold.str("id");
    let r = app
        .get(&format!("reservations/{rid}/tickets"), Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_CONFIRMED"));
    let paid = app.pay(&user, &rid, None).await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    (user, rid, schedule)
}

#[tokio::test]
async fn each_place_has_a_ticket_signed_with_the_published_key() {
    let app = spawn().await;
    let (user, rid, schedule) = two_seats_bought(&app).await;
    let items = app.tickets(&user, &rid).await;
    assert_eq!(items.len(), 2);
    let jwk = app.get("tickets/key", None, None).await;
    assert_eq!(jwk.status, 200);
    assert_eq!(
        (jwk.str("kty"), jwk.str("crv")),
        ("OKP".into(), "Ed25519".into())
    );
    let verifier = Verifier::from_key_text(&jwk.str("x")).unwrap();
    for (i, t) in items.iter().enumerate() {
        let code = t["code"].as_str().unwrap();
        let claims = verifier.verify(code).unwrap();
        let seat = format!("MAIN-1-{}", i + 1);
        assert_eq!(
            claims,
            Claims {
                tid: format!("{rid}.{}", i + 1),
                sid: schedule.clone(),
                seat: seat.clone(),
                name: "fan".into(),
            }
        );
        assert_eq!(t["ticketId"], json!(claims.tid));
        assert_eq!(t["seat"], json!(seat));
    }
    let stranger = app.user().await;
    let r = app
        .get(
            &format!("reservations/{rid}/tickets"),
            Some(&stranger),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (404, "RESERVATION_NOT_FOUND"));

    let tid = items[0]["ticketId"].as_str().unwrap();
    let qr = app
        .get(&format!("tickets/{tid}/qr.svg"), Some(&user), None)
        .await;
    assert_eq!(qr.status, 200);
    assert_eq!(qr.headers["content-type"], "image/svg+xml");
    assert!(qr.body.as_str().unwrap().contains("<svg"));
    let r = app
        .get(&format!("tickets/{tid}/qr.svg"), Some(&stranger), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "TICKET_NOT_FOUND"));
    let r = app
        .get(&format!("tickets/{rid}.9/qr.svg"), Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (404, "TICKET_NOT_FOUND"));
}

#[tokio::test]
async fn encore_verify_ticket_checks_a_code_offline() {
    let app = spawn().await;
    let (user, rid, _) = two_seats_bought(&app).await;
    let code = app.tickets(&user, &rid).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let jwk = app.get("tickets/key", None, None).await;
    let verify = |code: &str, key: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_encore"))
            .args(["verify-ticket", code, "--key", key])
            .output()
            .unwrap()
    };
    let out = verify(&code, &jwk.str("x"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let payload: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(payload["tid"], json!(format!("{rid}.1")));
    assert_eq!(payload["seat"], "MAIN-1-1");
    let out = verify(&code, &jwk.body.to_string());
    assert!(out.status.success());
    // One character of the signature changed (to one it is not already).
    let mut altered = code.clone();
    let at = code.len() - 3;
    let other_char = if &code[at..at + 1] == "A" { "B" } else { "A" };
    altered.replace_range(at..at + 1, other_char);
    assert_ne!(altered, code);
    let out = verify(&altered, &jwk.str("x"));
    assert_eq!(out.status.code(), Some(1));
    let other = Signer::new([9; 32]).verifier().jwk().x;
    assert_eq!(verify(&code, &other).status.code(), Some(1));
}

#[tokio::test]
async fn one_hundred_gates_scanning_one_ticket_let_it_in_once() {
    let app = spawn_with(|s| s.staff_token = Some(STAFF.into())).await;
    let (user, rid, schedule) = two_seats_bought(&app).await;
    let items = app.tickets(&user, &rid).await;
    let code = items[0]["code"].as_str().unwrap();
    let answers = futures_util::future::join_all((0..100).map(|_| app.scan(STAFF, code))).await;
    let ok: Vec<&Resp> = answers.iter().filter(|r| r.status == 200).collect();
    assert_eq!(ok.len(), 1);
    assert_eq!(ok[0].body["ticketId"], items[0]["ticketId"]);
    assert_eq!(ok[0].body["seat"], "MAIN-1-1");
    assert_eq!(ok[0].body["scheduleId"], json!(schedule));
    let at = ok[0].str("checkedInAt");
    for r in answers.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (r.status, r.code()),
            (409, "ALREADY_CHECKED_IN"),
            "{}",
            r.body
        );
        assert!(r.str("detail").contains(&at), "{} vs {at}", r.body);
    }
    // The other place is its own ticket; the admin token opens gates too.
    let r = app.scan(ADMIN, items[1]["code"].as_str().unwrap()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app
        .send(
            app.req(Method::POST, "checkins")
                .json(&json!({"code": code})),
        )
        .await;
    assert_eq!(r.status, 401);
    let r = app.scan(&user.key, code).await;
    assert_eq!(r.status, 403);
}

#[tokio::test]
async fn forged_altered_and_refunded_tickets_are_refused() {
    let app = spawn_with(|s| s.staff_token = Some(STAFF.into())).await;
    let (user, rid, schedule) = two_seats_bought(&app).await;
    let code = app.tickets(&user, &rid).await[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let forged = Signer::new([9; 32]).sign(&Claims {
        tid: format!("{rid}.1"),
        sid: schedule.clone(),
        seat: "MAIN-1-1".into(),
        name: "fan".into(),
    });
    let (header, rest) = code.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    let claims =
        json!({"tid": format!("{rid}.3"), "sid": schedule, "seat": "MAIN-1-3", "name": "fan"});
    let altered = format!(
        "{header}.{}.{sig}",
        base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            claims.to_string()
        )
    );
    for bad in [forged.as_str(), altered.as_str(), "not-a-code", "a.b.c", ""] {
        let r = app.scan(STAFF, bad).await;
        assert_eq!(
            (r.status, r.code()),
            (422, "TICKET_INVALID"),
            "{bad}: {}",
            r.body
        );
    }
    let r = app
        .send(with(
            app.req(Method::POST, &format!("reservations/{rid}/refund")),
            Some(&user),
            None,
        ))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = app.scan(STAFF, &code).await;
    assert_eq!((r.status, r.code()), (409, "TICKET_VOID"));
    let r = app
        .get(&format!("reservations/{rid}/tickets"), Some(&user), None)
        .await;
    assert_eq!((r.status, r.code()), (409, "RESERVATION_NOT_CONFIRMED"));
}
