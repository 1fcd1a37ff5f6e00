//! The web front and every other answer carry security headers; the front needs nothing a strict
//! Content-Security-Policy forbids.

use std::path::Path;

use reqwest::Method;

use crate::common::*;

fn assert_secure(r: &Resp, what: &str) {
    for (name, value) in [
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
    ] {
        assert_eq!(
            r.headers.get(name).map(|v| v.to_str().unwrap()),
            Some(value),
            "{what}: {name}"
        );
    }
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = spawn().await;
    for path in [
        "/",
        "/assets/js/main.js",
        "/health",
        "concerts",
        "/no/such/route",
        "/openapi.json",
    ] {
        let r = app.get(path, None, None).await;
        assert_secure(&r, path);
        assert!(r.headers.contains_key("content-security-policy"), "{path}");
    }
    let page = app.get("/", None, None).await;
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    for directive in [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "worker-src 'self'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let api = app.get("concerts", None, None).await;
    assert_eq!(
        api.headers["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn a_revalidated_page_keeps_its_policy() {
    // A browser replaces a cached page's headers with a 304's: the 304 must carry the page's
    // policy, or the reloaded page would run under the API's `default-src 'none'`.
    let app = spawn().await;
    for path in ["/", "/assets/js/main.js"] {
        let first = app.get(path, None, None).await;
        let etag = first.headers["etag"].to_str().unwrap().to_owned();
        let again = app
            .send(app.req(Method::GET, path).header("if-none-match", etag))
            .await;
        assert_eq!(again.status, 304, "{path}");
        assert_eq!(
            again.headers["content-security-policy"], first.headers["content-security-policy"],
            "{path}"
        );
    }
}

#[tokio::test]
async fn the_page_links_a_favicon_that_is_served() {
    let app = spawn().await;
    let page = app.get("/", None, None).await;
    let html = page.body.as_str().unwrap();
    assert!(
        html.contains(r#"<link rel="icon" href="/assets/favicon.svg""#),
        "{html}"
    );
    let icon = app.get("/assets/favicon.svg", None, None).await;
    assert_eq!(icon.status, 200);
    assert_eq!(icon.headers["content-type"], "image/svg+xml");
}

/// Every file of the front, read from the source tree.
fn front_files(dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            front_files(&path, out);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            out.push((path.display().to_string(), text));
        }
    }
}

#[test]
fn the_front_has_no_inline_script_or_style_attribute() {
    let mut files = Vec::new();
    front_files(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("web"),
        &mut files,
    );
    assert!(files.len() > 5);
    for (path, text) in files {
        // Markup whose style attribute `style-src 'self'` would drop (CSSOM `el.style.x` is fine).
        assert!(!text.contains("style=\""), "{path} has a style attribute");
        assert!(
            !text.contains("setAttribute('style'"),
            "{path} sets a style attribute"
        );
        if path.ends_with(".html") {
            for (i, _) in text.match_indices("<script") {
                let tag = &text[i..text[i..].find('>').map_or(text.len(), |e| i + e)];
                assert!(tag.contains("src="), "{path}: inline <script>");
            }
            assert!(
                !text.contains(" onclick=") && !text.contains(" onload="),
                "{path}"
            );
        } else if path.ends_with(".js") {
            assert!(!text.contains("eval("), "{path} uses eval");
            assert!(
                !text.contains("new Function("),
                "{path} builds code from text"
            );
        }
    }
}
