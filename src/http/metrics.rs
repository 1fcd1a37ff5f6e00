//! Per-route request counts and latency histograms, labelled by the matched route template.

use std::collections::HashMap;
use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics::{Counter, Histogram};
use parking_lot::RwLock;

/// The counter and histogram of one (method, status, route) series.
#[derive(Clone)]
struct Series {
    requests: Counter,
    duration: Histogram,
}

/// Registered series by (method, status), then route template. Looking a handle up here is a
/// read lock and two hash lookups with no allocation, where `counter!` with owned labels would
/// build and hash a new key on every request (a measurable share of the cheapest calls).
type Registry = RwLock<HashMap<(&'static str, u16), HashMap<Box<str>, Series>>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Registry::default)
}

/// The method as a label: the standard ones by name, any other string `OTHER`, since a client
/// may send any token as a method and each would otherwise become a series kept for ever.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] = [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
        Method::CONNECT,
        Method::TRACE,
    ];
    KNOWN
        .iter()
        .find(|m| *m == method)
        .map_or("OTHER", |m| m.as_str())
}

fn series(method: &Method, status: u16, route: &str) -> Series {
    let method = method_label(method);
    let key = (method, status);
    if let Some(s) = registry().read().get(&key).and_then(|m| m.get(route)) {
        return s.clone();
    }
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    let s = Series {
        requests: metrics::counter!("http_requests_total", &labels),
        duration: metrics::histogram!("http_request_duration_seconds", &labels),
    };
    registry()
        .write()
        .entry(key)
        .or_default()
        .insert(route.into(), s.clone());
    s
}

pub async fn track(req: Request, next: Next) -> Response {
    let start = Instant::now();
    // The template ("/api/v1/queue"), never the raw path, keeps label cardinality bounded.
    let route = req.extensions().get::<MatchedPath>().cloned();
    let method = req.method().clone();
    let res = next.run(req).await;
    let route = route.as_ref().map_or("unmatched", MatchedPath::as_str);
    let s = series(&method, res.status().as_u16(), route);
    s.requests.increment(1);
    s.duration.record(start.elapsed().as_secs_f64());
    res
}
