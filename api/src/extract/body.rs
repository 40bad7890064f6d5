//! Reading request bodies within a size and a time limit, and feed bodies of any type.

use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::StreamExt;

use crate::problem::ApiError;
use crate::state::AppState;

pub(super) fn body_timeout(req: &HttpRequest) -> std::time::Duration {
    req.app_data::<web::Data<AppState>>()
        .map(|s| s.body_timeout)
        .unwrap_or(std::time::Duration::from_secs(15))
}

pub(super) fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// Reads a body of at most `limit` bytes (413 beyond, before reading if the length is declared)
/// within `timeout` (408 after): a client that sends its body slowly, or never finishes it,
/// does not hold a connection and a worker's attention for ever.
pub(super) async fn read_limited(
    payload: &mut Payload,
    declared_len: Option<usize>,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<web::BytesMut, ApiError> {
    if declared_len.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let read = async {
        let mut body = web::BytesMut::new();
        while let Some(chunk) = payload.next().await {
            let chunk =
                chunk.map_err(|_| ApiError::BadRequest("the body could not be read".into()))?;
            if body.len() + chunk.len() > limit {
                return Err(ApiError::PayloadTooLarge(limit));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    };
    actix_web::rt::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(ApiError::RequestTimeout))
}

/// Largest feed an import accepts: exports of a whole practice are large.
pub const FEED_BODY_LIMIT: usize = 64 << 20;

/// A feed body of any content type (FHIR JSON or NDJSON, HL7 v2), up to [`FEED_BODY_LIMIT`].
pub struct FeedBody(pub Vec<u8>);

impl FromRequest for FeedBody {
    type Error = ApiError;
    type Future = Pin<Box<dyn std::future::Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let declared_len = declared_length(req);
        let timeout = body_timeout(req);
        let mut payload = payload.take();
        Box::pin(async move {
            // A whole practice's export takes longer to send than a JSON body.
            let body =
                read_limited(&mut payload, declared_len, FEED_BODY_LIMIT, timeout * 8).await?;
            if body.is_empty() {
                return Err(ApiError::BadRequest("the feed is empty".into()));
            }
            Ok(FeedBody(body.to_vec()))
        })
    }
}
