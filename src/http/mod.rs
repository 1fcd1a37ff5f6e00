//! HTTP plumbing shared by every feature: extractors, authentication, fallbacks, metrics.

pub mod auth;
pub mod extract;
pub mod fallback;
pub mod metrics;
