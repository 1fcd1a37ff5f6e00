//! The web front, embedded in the binary: `web/index.html` at `/`, the box office
//! `web/admin.html` at `/admin`, every other file under `web/` at `/assets/<path>`. It uses only the public API.
//!
//! Release builds carry the files inside the binary; debug builds read them from `web/` on disk,
//! so a change to the front shows on reload without a rebuild.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::app::AppState;
use crate::error::Error;

#[derive(RustEmbed)]
#[folder = "web/"]
struct Files;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/",
            get(|headers: HeaderMap| async move { file("index.html", &headers) }),
        )
        // The box office: its own page, the same approach as the fan site.
        .route(
            "/admin",
            get(|headers: HeaderMap| async move { file("admin.html", &headers) }),
        )
        .route(
            "/assets/{*path}",
            get(
                |Path(path): Path<String>, headers: HeaderMap| async move { file(&path, &headers) },
            ),
        )
}

/// One file with its content type and a content-hash `ETag`, so a browser revalidates
/// (`no-cache`) and gets 304 until the file changes.
fn file(path: &str, headers: &HeaderMap) -> Response {
    let Some(found) = Files::get(path) else {
        return Error::RouteNotFound.into_response();
    };
    let etag = format!("\"{}\"", hex(&found.metadata.sha256_hash()[..16]));
    // The policy goes on a 304 too: a browser updates the cached answer's headers from it, and
    // without it the page would take the API's `default-src 'none'` and run no script.
    let cache = [
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        (
            header::ETAG,
            HeaderValue::from_str(&etag).expect("hex is a valid header value"),
        ),
        (
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(crate::http::headers::WEB_CSP),
        ),
    ];
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .is_some_and(|v| v.as_bytes() == etag.as_bytes());
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, content_type(path))];
    (cache, content_type, found.data).into_response()
}

fn content_type(path: &str) -> HeaderValue {
    let ext = path.rsplit_once('.').map_or("", |(_, ext)| ext);
    HeaderValue::from_static(match ext {
        "html" => "text/html; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
