//! Per-client rate limiting (429 + Retry-After) and a time limit on reads (503).
//!
//! Clients are told apart by who the token says they are (org + client id, or subject), so
//! many users behind one NAT do not share a budget; requests without a token share one
//! budget per address. The token is only read here, not verified: a forged token gains its
//! own budget but is refused with 401 a moment later, which is cheap.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::problem::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClientKey {
    Token(String),
    Address(Option<IpAddr>),
}

/// Forget idle clients every this many requests, so random keys cannot grow memory forever.
const SWEEP_EVERY: u64 = 10_000;

pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<ClientKey>,
    seen: AtomicU64,
}

impl RateLimiter {
    /// `per_second` sustained requests per client, bursts up to `burst`. `None` if disabled
    /// (`per_second` = 0).
    pub fn new(per_second: u32, burst: u32) -> Option<Arc<RateLimiter>> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
        Some(Arc::new(RateLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            seen: AtomicU64::new(0),
        }))
    }

    /// `Err(seconds to wait)` when the client is over its budget.
    fn check(&self, key: &ClientKey) -> Result<(), u64> {
        if self.seen.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            // Retry-After is whole seconds, rounded up; never tell a client to retry at once.
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }
}

/// Who the bearer token claims to be, without verifying it (see the module comment).
fn token_identity(req: &ServiceRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))?;
    let payload = token.split('.').nth(1)?;
    if payload.len() > 8192 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let org = claims.get("org")?.as_str()?;
    let who = claims
        .get("client_id")
        .and_then(|c| c.as_str())
        .or_else(|| claims.get("sub").and_then(|s| s.as_str()))?;
    Some(format!("{org}/{who}"))
}

fn client_key(req: &ServiceRequest) -> ClientKey {
    match token_identity(req) {
        Some(id) => ClientKey::Token(id),
        None => ClientKey::Address(req.peer_addr().map(|a| a.ip())),
    }
}

/// Middleware: refuse a client over its budget with 429 and `Retry-After`.
pub async fn rate_limit(
    limiter: Option<Arc<RateLimiter>>,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    if let Some(limiter) = limiter
        && let Err(wait) = limiter.check(&client_key(&req))
    {
        // A response, not an error, so the outer layers still add their headers.
        return Ok(req.error_response(ApiError::TooManyRequests(wait)));
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_boxed_body)
}

/// Runs a read, giving up with 503 after `limit`. Only reads are cut short: abandoning a
/// write could leave the client unsure whether it committed, so writes are bounded by the
/// database's own timeouts and commit or roll back as a whole.
pub async fn read_within<T>(
    limit: Duration,
    read: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    actix_web::rt::time::timeout(limit, read)
        .await
        .unwrap_or(Err(ApiError::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::middleware::from_fn;
    use actix_web::test as atest;
    use actix_web::{App, HttpResponse, web};

    #[actix_web::test]
    async fn a_client_over_budget_gets_429_with_retry_after_and_others_do_not() {
        let limiter = RateLimiter::new(1, 2).unwrap();
        let app = atest::init_service(
            App::new()
                .wrap(from_fn(move |req, next| {
                    rate_limit(Some(limiter.clone()), req, next)
                }))
                .route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        let token = |sub: &str| {
            let payload = URL_SAFE_NO_PAD.encode(format!(r#"{{"org":"o1","sub":"{sub}"}}"#));
            format!("Bearer e30.{payload}.sig")
        };
        let call = |sub: &'static str| {
            atest::TestRequest::get()
                .uri("/")
                .insert_header((header::AUTHORIZATION, token(sub)))
                .to_request()
        };
        for _ in 0..2 {
            assert_eq!(atest::call_service(&app, call("alice")).await.status(), 200);
        }
        let refused = atest::call_service(&app, call("alice")).await;
        assert_eq!(refused.status(), 429);
        let retry: u64 = refused
            .headers()
            .get("retry-after")
            .unwrap()
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=2).contains(&retry), "{retry}");
        assert_eq!(
            refused.headers().get("content-type").unwrap(),
            "application/problem+json"
        );
        // Another client has its own budget.
        assert_eq!(atest::call_service(&app, call("bob")).await.status(), 200);
    }

    #[actix_web::test]
    async fn slow_reads_are_abandoned() {
        let slow = read_within(Duration::from_millis(20), async {
            actix_web::rt::time::sleep(Duration::from_millis(500)).await;
            Ok(1)
        })
        .await;
        assert!(matches!(slow, Err(ApiError::Timeout)));
        let quick = read_within(Duration::from_secs(5), async { Ok(2) }).await;
        assert_eq!(quick.unwrap(), 2);
        let problem = ApiError::Timeout.problem();
        assert_eq!(
            (problem.status, problem.kind.as_str()),
            (503, "urn:revcycle:problem:timeout")
        );
    }

    #[test]
    fn disabled_when_rate_is_zero() {
        assert!(RateLimiter::new(0, 10).is_none());
    }
}
