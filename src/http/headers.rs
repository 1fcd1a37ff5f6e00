//! Security headers on every answer, and the web front's Content-Security-Policy.

use axum::extract::Request;
use axum::http::header::{
    CONTENT_SECURITY_POLICY, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

/// The web front's policy: its own scripts, styles, workers and API only, no inline script or
/// style attribute, never framed. The front keeps the API key in `localStorage`, so an injected
/// script must have nowhere to come from and nowhere to send it.
pub const WEB_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; worker-src 'self'; frame-ancestors 'none'; \
     base-uri 'none'; form-action 'self'";

/// Every other answer is data, never a page: nothing may load from it or frame it.
const API_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// Adds the headers every answer carries; a Content-Security-Policy already set (the web
/// front's) is kept.
pub async fn secure(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    add(res.headers_mut());
    res
}

/// The headers every answer carries, for answers made outside the router.
pub fn add(h: &mut HeaderMap) {
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(API_CSP));
}
