//! Per-client rate limiting (429 + Retry-After), a bound on the requests one source address
//! may have in flight, and a time limit on reads (503).
//!
//! Only a verified token earns a budget of its own (org + client id, or subject), so many users
//! behind one NAT do not share one; everything else (no token, a token that does not verify)
//! shares its source address's budget. Keying on claims before checking the signature would
//! let a forger mint a fresh budget with every request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::auth::{Claims, Verifier, bearer_token};
use crate::problem::ApiError;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ClientKey {
    Verified(String),
    Source(Option<IpAddr>),
}

/// Forget idle clients every this many requests, so random keys cannot grow memory forever.
const SWEEP_EVERY: u64 = 10_000;

/// Claims of a token the limiter has verified, handed on to authentication so the signature
/// is checked once per request.
#[derive(Clone)]
pub struct VerifiedClaims(pub Claims);

pub struct RateLimiter {
    limiter: Option<DefaultKeyedRateLimiter<ClientKey>>,
    seen: AtomicU64,
    in_flight: Arc<Mutex<HashMap<Option<IpAddr>, usize>>>,
    max_in_flight: usize,
    trusted_proxies: Vec<IpAddr>,
}

impl RateLimiter {
    /// `per_second` sustained requests per client, bursts up to `burst` (no rate limit when
    /// `per_second` is 0); at most `max_in_flight` requests per source address at once;
    /// `X-Forwarded-For` believed only from `trusted_proxies`.
    pub fn new(
        per_second: u32,
        burst: u32,
        max_in_flight: usize,
        trusted_proxies: Vec<IpAddr>,
    ) -> Arc<RateLimiter> {
        let limiter = NonZeroU32::new(per_second).map(|rate| {
            let burst = NonZeroU32::new(burst.max(per_second)).unwrap_or(rate);
            DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
        });
        Arc::new(RateLimiter {
            limiter,
            seen: AtomicU64::new(0),
            in_flight: Arc::default(),
            max_in_flight: max_in_flight.max(1),
            trusted_proxies,
        })
    }

    /// `Err(seconds to wait)` when the client is over its budget.
    fn check(&self, key: &ClientKey) -> Result<(), u64> {
        let Some(limiter) = &self.limiter else {
            return Ok(());
        };
        if self.seen.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(limiter.clock().now());
            // Retry-After is whole seconds, rounded up; never tell a client to retry at once.
            (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
        })
    }

    /// The client's address: the peer, or, when the peer is a trusted proxy, the nearest
    /// address in `X-Forwarded-For` that is not one of our proxies.
    pub fn source(&self, req: &actix_web::HttpRequest) -> Option<IpAddr> {
        let peer = req.peer_addr().map(|a| a.ip());
        if !peer.is_some_and(|p| self.trusted_proxies.contains(&p)) {
            return peer;
        }
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) if self.trusted_proxies.contains(&ip) => continue,
                Ok(ip) => return Some(ip),
                // A hop we cannot read ends what we can believe.
                Err(_) => break,
            }
        }
        peer
    }

    /// Counts a request in flight from `source`, or `None` when it already has the most.
    fn enter(&self, source: Option<IpAddr>) -> Option<InFlight> {
        let mut map = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(source).or_insert(0);
        if *n >= self.max_in_flight {
            return None;
        }
        *n += 1;
        Some(InFlight {
            map: self.in_flight.clone(),
            source,
        })
    }
}

/// A request in flight; dropping it (the response is done, or the client went away) frees
/// its place.
struct InFlight {
    map: Arc<Mutex<HashMap<Option<IpAddr>, usize>>>,
    source: Option<IpAddr>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = map.get_mut(&self.source) {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.source);
            }
        }
    }
}

/// The address a request came from, as the limiter sees it (for the audit event).
#[derive(Clone, Copy, Debug)]
pub struct Source(pub Option<IpAddr>);

/// Middleware: refuse a client over its budget, or a source with too many requests in
/// flight, with 429 and `Retry-After`. A token `verifier` accepts earns its own budget.
pub async fn rate_limit(
    limiter: Arc<RateLimiter>,
    verifier: Verifier,
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let source = limiter.source(req.request());
    req.extensions_mut().insert(Source(source));
    let Some(_in_flight) = limiter.enter(source) else {
        return Ok(req.error_response(ApiError::TooManyRequests(1)));
    };
    let mut key = ClientKey::Source(source);
    if let Some(token) = bearer_token(req.headers())
        && let Ok(claims) = verifier.verify(token).await
    {
        let who = claims.client_id.as_deref().unwrap_or(&claims.sub);
        key = ClientKey::Verified(format!("{}/{who}", claims.org));
        req.extensions_mut().insert(VerifiedClaims(claims));
    }
    if let Err(wait) = limiter.check(&key) {
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
    fn a_budget_is_per_key_and_off_when_the_rate_is_zero() {
        let on = RateLimiter::new(1, 2, 8, vec![]);
        let alice = ClientKey::Verified("o1/alice".into());
        assert!(on.check(&alice).is_ok() && on.check(&alice).is_ok());
        let wait = on.check(&alice).unwrap_err();
        assert!((1..=2).contains(&wait), "{wait}");
        assert!(on.check(&ClientKey::Verified("o1/bob".into())).is_ok());
        let off = RateLimiter::new(0, 10, 8, vec![]);
        assert!((0..100).all(|_| off.check(&alice).is_ok()));
    }

    #[test]
    fn a_source_has_at_most_so_many_requests_in_flight() {
        let limiter = RateLimiter::new(0, 0, 2, vec![]);
        let a: Option<IpAddr> = Some("192.0.2.1".parse().unwrap());
        let b: Option<IpAddr> = Some("192.0.2.2".parse().unwrap());
        let first = limiter.enter(a).unwrap();
        let _second = limiter.enter(a).unwrap();
        assert!(limiter.enter(a).is_none());
        assert!(limiter.enter(b).is_some());
        drop(first);
        assert!(limiter.enter(a).is_some());
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let limiter = RateLimiter::new(0, 0, 2, vec![proxy]);
        let via = |peer: &str, xff: &str| {
            let req = actix_web::test::TestRequest::default()
                .peer_addr(format!("{peer}:4000").parse().unwrap())
                .insert_header(("x-forwarded-for", xff))
                .to_http_request();
            limiter.source(&req).map(|ip| ip.to_string())
        };
        // From the proxy: the nearest hop that is not ours, whatever the client wrote first.
        assert_eq!(
            via("10.0.0.5", "1.2.3.4, 198.51.100.7").as_deref(),
            Some("198.51.100.7")
        );
        assert_eq!(
            via("10.0.0.5", "198.51.100.7, 10.0.0.5").as_deref(),
            Some("198.51.100.7")
        );
        // From anyone else the header is the client's own word and is ignored.
        assert_eq!(
            via("203.0.113.9", "198.51.100.7").as_deref(),
            Some("203.0.113.9")
        );
    }
}
