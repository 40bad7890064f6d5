//! RFC 9457 problem details: the one place where errors become HTTP responses.
//! `detail` never carries PHI: core errors name fields and rules, never values.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use revcycle_core::error::CoreError;
use revcycle_core::validation::FieldError;
use serde::Serialize;

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"type": "urn:revcycle:problem:validation", "title": "Invalid request",
    "status": 422, "detail": "the request has 3 invalid field(s)",
    "errors": [{"pointer": "/npi", "message": "NPI check digit is wrong"},
        {"pointer": "/address/zip", "message": "required field is missing"},
        {"pointer": "/first_name", "message": "an organization has no first name"}]}))]
pub struct Problem {
    /// Stable identifier of the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// One entry per invalid field (validation problems only): every field to fix, in one
    /// answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// For version conflicts: the version the resource is at now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<i32>,
    /// For a refused claim status transition: the statuses the claim may move to from where
    /// it is (empty for a terminal status).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!(["ready", "voided"]))]
    pub allowed_next: Option<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Core(#[from] CoreError),
    /// A request with no credentials at all: its challenge carries no error code (RFC 6750
    /// section 3.1), unlike a token that was sent and refused.
    #[error("a bearer token is required")]
    NoToken,
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("this update needs an If-Match header with the resource's ETag")]
    PreconditionRequired,
    #[error("no route for this method and path")]
    NotFoundRoute,
    /// With the methods the path does allow, for the `Allow` header.
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    #[error("the Idempotency-Key was used with a different request body")]
    IdempotencyMismatch,
    #[error("too many requests from this client; retry after {0} s")]
    TooManyRequests(u64),
    #[error("the request took too long and was abandoned")]
    Timeout,
    /// The client took too long to send its request body.
    #[error("the request body was not received in time")]
    RequestTimeout,
    /// A connector plugin failed or did not answer in time.
    #[error("{0}")]
    BadGateway(String),
    #[error("internal error")]
    Internal,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, &'static str) {
        use CoreError as C;
        match self {
            ApiError::Core(C::NotFound { .. }) => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::Core(C::VersionMismatch { .. }) => (
                StatusCode::PRECONDITION_FAILED,
                "version-mismatch",
                "Version mismatch",
            ),
            ApiError::Core(C::Conflict(_)) => (StatusCode::CONFLICT, "conflict", "Conflict"),
            ApiError::Core(C::TransitionRefused { .. }) => (
                StatusCode::CONFLICT,
                "transition-refused",
                "Transition refused",
            ),
            ApiError::Core(C::Invalid(_)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid request",
            ),
            ApiError::Core(C::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
            ),
            ApiError::Core(C::Phi(_) | C::Db(_) | C::Internal(_)) | ApiError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
            ),
            ApiError::NoToken | ApiError::Unauthorized(_) => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "Unauthorized")
            }
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden", "Forbidden"),
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad-request", "Bad request"),
            ApiError::PayloadTooLarge(_) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Payload too large",
            ),
            ApiError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Unsupported media type",
            ),
            ApiError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "Precondition required",
            ),
            ApiError::NotFoundRoute => (StatusCode::NOT_FOUND, "not-found", "Not found"),
            ApiError::MethodNotAllowed(_) => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "Method not allowed",
            ),
            ApiError::TooManyRequests(_) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate-limited",
                "Too many requests",
            ),
            ApiError::Timeout => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "Request timed out",
            ),
            ApiError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "Request timeout",
            ),
            ApiError::BadGateway(_) => (
                StatusCode::BAD_GATEWAY,
                "connector-failed",
                "Connector failed",
            ),
            ApiError::IdempotencyMismatch => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency key reused",
            ),
        }
    }

    pub fn problem(&self) -> Problem {
        let (status, slug, title) = self.parts();
        let (detail, errors, current_version) = match self {
            ApiError::Core(CoreError::Invalid(errs)) => (self.to_string(), errs.clone(), None),
            ApiError::Core(CoreError::VersionMismatch { current }) => {
                (self.to_string(), vec![], Some(*current))
            }
            // Internal failures are logged with their cause; the client learns nothing more.
            ApiError::Core(CoreError::Phi(_) | CoreError::Db(_) | CoreError::Internal(_))
            | ApiError::Internal => (
                "the server could not complete the request".to_string(),
                vec![],
                None,
            ),
            other => (other.to_string(), vec![], None),
        };
        Problem {
            kind: format!("urn:revcycle:problem:{slug}"),
            title: title.to_string(),
            status: status.as_u16(),
            detail,
            errors,
            current_version,
            allowed_next: match self {
                ApiError::Core(CoreError::TransitionRefused { allowed_next, .. }) => {
                    Some(allowed_next.iter().map(|s| s.to_string()).collect())
                }
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let problem = self.problem();
        if problem.status >= 500 {
            // The Display of core errors carries no PHI; the diesel source may, so it is not logged.
            tracing::error!(error = %self, "request failed");
        }
        let mut resp = HttpResponse::build(self.status_code());
        resp.content_type(PROBLEM_JSON);
        if let ApiError::NoToken = self {
            resp.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"revcycle\""));
        }
        if let ApiError::Unauthorized(msg) = self {
            let challenge = format!(
                "Bearer realm=\"revcycle\", error=\"invalid_token\", error_description=\"{}\"",
                msg.replace('"', "'")
            );
            if let Ok(v) = HeaderValue::from_str(&challenge) {
                resp.insert_header((header::WWW_AUTHENTICATE, v));
            }
        }
        if let ApiError::TooManyRequests(secs) = self {
            resp.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let ApiError::MethodNotAllowed(allowed) = self {
            resp.insert_header((header::ALLOW, allowed.join(", ")));
        }
        if matches!(self, ApiError::RequestTimeout) {
            // What is left of the body is not worth reading.
            resp.insert_header((header::CONNECTION, "close"));
        }
        resp.json(problem)
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
