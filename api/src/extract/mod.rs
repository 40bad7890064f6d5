//! Request extractors whose failures are problem+json with JSON pointers, never plain text.

mod body;
mod headers;
mod json_body;
mod pointers;
mod query;

pub use body::{FEED_BODY_LIMIT, FeedBody};
pub use headers::{IdempotencyKey, IfMatch, OptionalIfMatch, etag};
pub use json_body::{JsonBody, parse_json};
pub use query::{Query, parse_query};

#[cfg(test)]
mod tests;
