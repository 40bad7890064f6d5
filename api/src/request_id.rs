//! The request id: echoed from `X-Request-Id` when the client sent a usable one, else
//! generated; set on the request for its audit event and on the response.

/// The header that carries it, both ways.
pub const REQUEST_ID: &str = "x-request-id";

/// The request id, echoed from `X-Request-Id` or generated.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);
