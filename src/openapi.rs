//! The OpenAPI 3.1 document, generated from the handlers' `#[utoipa::path]` annotations.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::{catalogue, ops, payments, queue, reservations, users, wallet};

#[derive(OpenApi)]
#[openapi(
    info(title = "encore", description = "Concert tickets with a fair waiting queue, seat holds and a prepaid wallet. \
        Every error is application/problem+json with a stable `code`. Malformed bodies, wrong types, missing fields \
        and out-of-range values are 422 VALIDATION_FAILED; bodies over 1 MiB are 413 PAYLOAD_TOO_LARGE; unknown \
        routes are 404 NOT_FOUND; a wrong method is 405 METHOD_NOT_ALLOWED. When PostgreSQL or Redis is \
        unreachable, calls that need it answer 503 DATABASE_UNAVAILABLE or QUEUE_UNAVAILABLE."),
    paths(
        users::handlers::create_user, users::handlers::me,
        catalogue::handlers::create_concert, catalogue::handlers::create_schedule,
        catalogue::handlers::list_concerts, catalogue::handlers::get_concert,
        catalogue::handlers::list_schedules, catalogue::handlers::seat_map,
        queue::handlers::join, queue::handlers::poll, queue::handlers::leave, queue::events::events,
        reservations::handlers::hold, reservations::handlers::list,
        reservations::handlers::detail, reservations::handlers::cancel,
        wallet::handlers::wallet, wallet::handlers::charge, wallet::handlers::transactions,
        payments::handlers::pay, payments::handlers::detail,
        ops::health, ops::ready, ops::metrics, ops::openapi,
    ),
    components(schemas(crate::error::Problem)),
    modifiers(&Security),
    tags((name = "queue", description = "One fair FIFO waiting queue per concert; gated calls need an ACTIVE ticket's X-Queue-Token."))
)]
pub struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let c = doc.components.get_or_insert_with(Default::default);
        c.add_security_scheme(
            "apiKey",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        c.add_security_scheme(
            "adminToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
