//! HTTP plumbing shared by every feature: extractors, authentication, fallbacks, metrics, rate
//! limits, security headers.

pub mod auth;
pub mod extract;
pub mod fallback;
pub mod headers;
pub mod limits;
pub mod metrics;
pub mod serve;
pub mod text;
