//! Response building shared by the front and the API handlers: the boxed body type, JSON
//! answers and the error body of each API family.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::{combinators::BoxBody, BodyExt, Full};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};
use serde_json::{json, Value};

pub type Body = BoxBody<Bytes, std::io::Error>;

/// The three API families, each with its own error body shape.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Family {
    V1,
    V2,
    Insights,
}

pub(crate) fn full(b: impl Into<Bytes>) -> Body {
    Full::new(b.into())
        .map_err(|e: Infallible| match e {})
        .boxed()
}

pub(crate) fn json_response(status: StatusCode, v: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    bytes_response(status, bytes)
}

pub(crate) fn bytes_response(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut r = Response::new(full(bytes));
    *r.status_mut() = status;
    r.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("application/json; charset=utf-8"),
    );
    r
}

/// The error body of each family (the reference: "shape varies by route: never assume one").
pub(crate) fn error(family: Family, status: StatusCode, message: &str) -> Response<Body> {
    let body = match family {
        Family::V1 => json!({"message": message}),
        Family::V2 => {
            json!({"message": message, "error": status.canonical_reason().unwrap_or("error")})
        }
        Family::Insights => {
            json!({"code": status.as_u16(), "message": message, "status": status.canonical_reason().unwrap_or("error")})
        }
    };
    json_response(status, &body)
}
