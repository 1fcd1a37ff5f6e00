//! encore: concert ticket reservations with a fair waiting queue, exact seat holds and a wallet.

pub mod app;
pub mod cancellations;
pub mod catalogue;
pub mod clock;
pub mod config;
pub mod demo;
pub mod error;
pub mod http;
pub mod idempotency;
pub mod money;
pub mod openapi;
pub mod ops;
pub mod page;
pub mod payments;
pub mod queue;
pub mod refunds;
pub mod reservations;
pub mod store;
pub mod telemetry;
pub mod tickets;
pub mod users;
pub mod waitlist;
pub mod wallet;
pub mod web;
pub mod webhooks;

pub use app::Application;
pub use config::Settings;
