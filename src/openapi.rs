//! The OpenAPI 3.1 document, collected from the routers themselves: every route is declared with
//! `utoipa_axum::routes!`, which takes its path and method from the handler's `#[utoipa::path]`,
//! so a route cannot exist without its documentation.

use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "encore", description = "Concert tickets with a fair waiting queue, seat holds and a prepaid wallet. \
        Every error is application/problem+json with a stable `code`. Malformed bodies, wrong types, missing fields \
        and out-of-range values are 422 VALIDATION_FAILED; bodies over 1 MiB are 413 PAYLOAD_TOO_LARGE; unknown \
        routes are 404 NOT_FOUND; a wrong method is 405 METHOD_NOT_ALLOWED. When PostgreSQL or Redis is \
        unreachable, calls that need it answer 503 DATABASE_UNAVAILABLE or QUEUE_UNAVAILABLE."),
    components(schemas(crate::error::Problem)),
    modifiers(&Security),
    tags((name = "queue", description = "One fair FIFO waiting queue per concert; gated calls need an ACTIVE ticket's X-Queue-Token."))
)]
pub struct ApiDoc;

/// The whole document, built once from [`crate::app::documented_routes`].
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, mut doc) = crate::app::documented_routes().split_for_parts();
        problems(&mut doc);
        doc
    })
}

/// Every 4xx and 5xx answer is a problem document: the annotations name only the status and the
/// codes it can carry (`(status = 409, description = "SEAT_UNAVAILABLE")`), and this gives each
/// one the `application/problem+json` body. Responses left without a description get the
/// status's reason phrase.
fn problems(doc: &mut utoipa::openapi::OpenApi) {
    let problem = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                if status.starts_with('4') || status.starts_with('5') {
                    response.content.clear();
                    response
                        .content
                        .insert("application/problem+json".into(), RefOr::T(problem.clone()));
                }
                // OpenAPI requires a description on every response.
                if response.description.is_empty() {
                    response.description = reason(status).to_owned();
                }
            }
        }
    }
}

fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|s| axum::http::StatusCode::from_u16(s).ok())
        .and_then(|s| s.canonical_reason())
        .unwrap_or("answer")
}

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
        c.add_security_scheme(
            "staffToken",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
