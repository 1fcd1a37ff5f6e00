//! HTTP plumbing shared by every feature: extractors, authentication, fallbacks, metrics, rate
//! limits.

pub mod auth;
pub mod extract;
pub mod fallback;
pub mod limits;
pub mod metrics;
