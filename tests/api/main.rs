//! The HTTP conformance suite: every test runs the real router over HTTP on port 0 with its own
//! database. `cargo test` runs it on SQLite + the embedded queue and lists the tests that need
//! PostgreSQL + Redis as ignored; `ENCORE_TEST_BACKEND=postgres cargo test -- --include-ignored`
//! runs the same tests on PostgreSQL + Redis, and those too.

mod abuse;
mod boxoffice;
mod cancellations;
mod catalogue;
mod common;
mod connections;
mod errors;
mod onsale;
mod payments;
mod plans;
mod proxy;
mod queue;
mod queue_repair;
mod redis_cluster;
mod refunds;
mod reservations;
mod restart;
mod scaled;
mod tickets;
mod users;
mod venues;
mod waitlist;
mod wallet;
mod web;
mod webhooks;
