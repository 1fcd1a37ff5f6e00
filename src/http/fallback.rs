//! Answers for unknown routes, wrong methods and panics, all as problem documents.

use std::any::Any;

use axum::response::{IntoResponse, Response};

use crate::error::Error;

pub async fn not_found() -> Error {
    Error::RouteNotFound
}

pub async fn method_not_allowed() -> Error {
    Error::MethodNotAllowed
}

/// For `CatchPanicLayer`: log the panic and answer an opaque 500 problem.
pub fn panic_response(err: Box<dyn Any + Send + 'static>) -> Response {
    let msg = err
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| err.downcast_ref::<&str>().copied())
        .unwrap_or("unknown panic");
    Error::internal(format!("handler panicked: {msg}")).into_response()
}
