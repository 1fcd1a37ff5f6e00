//! The OpenAPI 3.1 document, collected from the routers themselves: every route is declared with
//! `utoipa_axum::routes!`, which takes its path and method from the handler's `#[utoipa::path]`,
//! so a route cannot exist without its documentation.

use std::sync::OnceLock;

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::Response;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
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
/// status's reason phrase. The answers every operation of a kind can give (see
/// [`common_answers`]) are added here once, rather than on each handler.
fn problems(doc: &mut utoipa::openapi::OpenApi) {
    let problem = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("Problem")))
        .build();
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            credential_answers(op);
            common_answers(path, op);
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

/// The answers an operation's credentials give, so the annotations need not repeat them: its
/// security scheme's (401 without, 403 with a wrong admin or staff token) and, for a call that
/// takes `X-Queue-Token`, the queue gate's. A status a handler describes itself keeps its text;
/// one it names bare, or not at all, gets these.
fn credential_answers(op: &mut Operation) {
    let uses = |scheme: &str| {
        op.security
            .iter()
            .flatten()
            .any(|r| *r == SecurityRequirement::new(scheme, Vec::<String>::new()))
    };
    let (key, admin, staff) = (uses("apiKey"), uses("adminToken"), uses("staffToken"));
    let gate = op.parameters.iter().flatten().any(
        |p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Header && p.name == "X-Queue-Token"),
    );
    let mut unauthorized = Vec::new();
    let mut forbidden = Vec::new();
    if key {
        unauthorized.push("UNAUTHORIZED (no API key, or an unknown one)");
    }
    // A staff call also takes the admin token: the staff wording covers both.
    if admin && !staff {
        unauthorized.push("UNAUTHORIZED (no admin token)");
        forbidden.push("FORBIDDEN (not the admin token)");
    }
    if staff {
        unauthorized.push("UNAUTHORIZED (no staff or admin token)");
        forbidden.push("FORBIDDEN (neither the staff nor the admin token)");
    }
    if gate {
        unauthorized.push("QUEUE_TOKEN_REQUIRED or QUEUE_TOKEN_INVALID (X-Queue-Token missing, or not one this service signed)");
        if key {
            forbidden.push("QUEUE_NOT_ACTIVE (the ticket is still waiting) or QUEUE_TOKEN_MISMATCH (another fan's ticket, or another concert's)");
        }
    }
    let mut answer = |status: &str, causes: &[&str]| {
        if causes.is_empty() {
            return;
        }
        let response = op
            .responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new("")));
        if let RefOr::T(r) = response
            && r.description.is_empty()
        {
            r.description = causes.join("; ");
        }
    };
    answer("401", &unauthorized);
    answer("403", &forbidden);
    if gate {
        answer(
            "410",
            &["QUEUE_TOKEN_EXPIRED: the ticket left, expired or was used"],
        );
    }
}

/// The answers that come from the HTTP layer rather than the handler, stated on every
/// operation they can reach: 422 for a malformed id in the path or a bad query or header,
/// 413 and 415 for a request body, 429 (with `Retry-After`) and 503 (the request deadline, the
/// connection cap) for every API call. Also the `Idempotency-Key` header's form.
fn common_answers(path: &str, op: &mut Operation) {
    let mut add = |status: &str, description: &str| {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(Response::new(description)));
    };
    let params = op.parameters.as_deref().unwrap_or_default();
    let in_path = params
        .iter()
        .any(|p| matches!(p, RefOr::T(p) if p.parameter_in == ParameterIn::Path));
    let validated = !params.is_empty();
    let has_body = op.request_body.is_some();
    if in_path || validated || has_body {
        add(
            "422",
            "VALIDATION_FAILED: a malformed id in the path, or a query, header or body value out of range",
        );
    }
    if has_body {
        add("413", "PAYLOAD_TOO_LARGE: a body over 1 MiB");
        add(
            "415",
            "UNSUPPORTED_MEDIA_TYPE: the body is not sent as Content-Type: application/json",
        );
    }
    if path.starts_with("/api/") {
        add(
            "503",
            "SERVICE_UNAVAILABLE (the request deadline, the connection cap), DATABASE_UNAVAILABLE or QUEUE_UNAVAILABLE",
        );
        let limited = op
            .responses
            .responses
            .entry("429".to_owned())
            .or_insert_with(|| {
                RefOr::T(Response::new(
                    "RATE_LIMITED: too many calls from this address or with this key",
                ))
            });
        if let RefOr::T(r) = limited {
            r.headers.insert(
                "Retry-After".into(),
                RefOr::T(Header::new(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(1)),
                )),
            );
        }
    }
    for param in op.parameters.iter_mut().flatten() {
        if let RefOr::T(p) = param
            && p.name == "Idempotency-Key"
        {
            p.description = Some(
                "1 to 255 visible ASCII characters; the same key with the same body replays the first answer"
                    .into(),
            );
            p.schema = Some(RefOr::T(Schema::Object(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$"))
                    .build(),
            )));
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
