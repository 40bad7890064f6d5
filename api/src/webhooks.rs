//! Webhooks on the wire: which URLs a subscription may name (server-side request forgery
//! checks, with DNS), and sending one signed delivery (Standard Webhooks headers) to an address
//! checked again at connect time, so a name that re-resolves to an internal address (DNS
//! rebinding) is refused then too.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use revcycle_core::error::CoreError;
use revcycle_core::events::address::{allowed_host, is_loopback_host, refused_reason};
use revcycle_core::events::signing::signature_header;
use revcycle_core::model::common::now;
use revcycle_core::workflows::events::AttemptResult;
use zeroize::Zeroizing;

use crate::config::EventsConfig;

/// How long a subscription's host may take to resolve when it is checked.
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connecting to a receiver (within the whole attempt's timeout).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A URL a subscription may name: `https://` (plain `http://` to loopback only), no
/// credentials, and a host that is neither an internal address nor resolves to one, unless
/// the operator allowed it. Refusals point at `/url`.
pub async fn check_url(url: &str, cfg: &EventsConfig) -> Result<(), CoreError> {
    let refuse = |m: String| CoreError::invalid("/url", m);
    let parsed =
        reqwest::Url::parse(url.trim()).map_err(|_| refuse("is not a valid URL".into()))?;
    let host = parsed
        .host_str()
        .ok_or_else(|| refuse("has no host".into()))?
        .to_ascii_lowercase();
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback_host(&host) => {}
        _ => {
            return Err(refuse(
                "must be an https:// URL (plain http:// only to a loopback address)".into(),
            ));
        }
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(refuse("must not carry credentials".into()));
    }
    if allowed_host(&host, &cfg.allowed_hosts) {
        return Ok(());
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return match refused_reason(ip) {
            Some(why) => Err(refuse(format!(
                "points at {why}, which webhooks may not reach"
            ))),
            None => Ok(()),
        };
    }
    let port = parsed.port_or_known_default().unwrap_or(443);
    let addrs: Vec<SocketAddr> =
        match tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((bare, port))).await {
            Ok(Ok(a)) => a.collect(),
            _ => Vec::new(),
        };
    if addrs.is_empty() {
        return Err(refuse("its host does not resolve".into()));
    }
    if let Some(why) = addrs.iter().find_map(|a| refused_reason(a.ip())) {
        return Err(refuse(format!(
            "its host resolves to {why}, which webhooks may not reach"
        )));
    }
    Ok(())
}

/// The error a connection gets when its host resolves only to refused addresses.
#[derive(Debug)]
struct RefusedAddress;

impl std::fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the host resolves to an address webhooks may not reach")
    }
}

impl std::error::Error for RefusedAddress {}

/// Resolves receivers' names for the HTTP client, dropping addresses webhooks may not reach
/// (unless the host is allowed): the client connects only to an address checked here.
struct CheckedResolver {
    allowed: Vec<String>,
}

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let allowed = allowed_host(&host, &self.allowed);
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allowed || refused_reason(a.ip()).is_none())
                .collect();
            if found.is_empty() {
                return Err(Box::new(RefusedAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Sends deliveries: one HTTP client whose name resolution refuses internal addresses.
pub struct Sender {
    client: reqwest::Client,
    allowed: Vec<String>,
}

impl Sender {
    pub fn new(cfg: &EventsConfig) -> Result<Sender, String> {
        // reqwest is built without a crypto provider (one backend only): use ring, as the
        // server's TLS does.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .timeout(cfg.timeout)
            .connect_timeout(CONNECT_TIMEOUT.min(cfg.timeout))
            // A redirect could lead anywhere, internal addresses included.
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(CheckedResolver {
                allowed: cfg.allowed_hosts.clone(),
            }))
            .user_agent(concat!("revcycle-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot set up the webhook HTTP client: {e}"))?;
        Ok(Sender {
            client,
            allowed: cfg.allowed_hosts.clone(),
        })
    }

    /// One attempt: POSTs `body` signed with every secret in `secrets`, and says what
    /// happened. The response body is never read.
    pub async fn send(
        &self,
        url: &str,
        event_id: &str,
        body: &str,
        secrets: &[Zeroizing<String>],
    ) -> AttemptResult {
        let started = Instant::now();
        let at = now();
        let failed = |error: &'static str, started: Instant| AttemptResult {
            status_code: None,
            error: Some(error),
            latency: started.elapsed(),
            at,
        };
        let Ok(parsed) = reqwest::Url::parse(url) else {
            return failed("invalid_url", started);
        };
        // A literal address is never resolved: checked here instead of by the resolver.
        if let Some(host) = parsed.host_str() {
            let host = host.to_ascii_lowercase();
            let bare = host.trim_start_matches('[').trim_end_matches(']');
            if let Ok(ip) = bare.parse::<IpAddr>()
                && refused_reason(ip).is_some()
                && !allowed_host(&host, &self.allowed)
            {
                return failed("refused_address", started);
            }
        }
        let timestamp = chrono::Utc::now().timestamp();
        let keys: Vec<&str> = secrets.iter().map(|s| s.as_str()).collect();
        let signature = signature_header(&keys, event_id, timestamp, body.as_bytes());
        let sent = self
            .client
            .post(parsed)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", event_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body.to_string())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status_code = Some(resp.status().as_u16());
                let latency = started.elapsed();
                discard_body(resp).await;
                AttemptResult {
                    status_code,
                    error: None,
                    latency,
                    at,
                }
            }
            Err(e) => failed(error_kind(&e), started),
        }
    }
}

/// Most of a receiver's answer read (and dropped unseen) so its connection can carry the next
/// delivery: a response dropped before its end closes the connection, and every delivery
/// to a receiver that answers `200 ok` would pay for a new one. A longer body is left unread.
const DISCARDED_BODY_MAX: usize = 64 * 1024;

async fn discard_body(mut resp: reqwest::Response) {
    let mut read = 0usize;
    while let Ok(Some(chunk)) = resp.chunk().await {
        read += chunk.len();
        if read > DISCARDED_BODY_MAX {
            return;
        }
    }
}

/// What failed, in a word (never the receiver's text).
fn error_kind(e: &reqwest::Error) -> &'static str {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<RefusedAddress>() {
            return "refused_address";
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(allowed: &[&str]) -> EventsConfig {
        EventsConfig {
            allowed_hosts: allowed.iter().map(|s| s.to_string()).collect(),
            retry_base: Duration::from_secs(1),
            retry_window: Duration::from_secs(10),
            disable_after: Duration::from_secs(10),
            secret_grace: Duration::from_secs(10),
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            installments_check: Duration::from_secs(1),
            nats: None,
        }
    }

    fn pointer_and_message(r: Result<(), CoreError>) -> (String, String) {
        match r {
            Err(CoreError::Invalid(e)) => (e[0].pointer.clone(), e[0].message.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn internal_addresses_are_refused_unless_allowed() {
        for url in [
            "http://10.0.0.5/hook",
            "https://10.0.0.5/hook",
            "https://169.254.169.254/",
            "https://[fd00::1]/x",
            "https://127.0.0.1:9/x",
            "https://localhost/x",
        ] {
            let (pointer, message) = pointer_and_message(check_url(url, &cfg(&[])).await);
            assert_eq!(pointer, "/url", "{url}");
            assert!(
                !message.contains("10.0.0.5"),
                "no address echoed: {message}"
            );
        }
        let (_, m) = pointer_and_message(check_url("http://10.0.0.5/hook", &cfg(&[])).await);
        assert!(m.contains("https"), "{m}");
        let (_, m) = pointer_and_message(check_url("ftp://example.com/", &cfg(&[])).await);
        assert!(m.contains("https"), "{m}");
        let (_, m) = pointer_and_message(check_url("https://u:p@93.184.216.34/", &cfg(&[])).await);
        assert!(m.contains("credentials"), "{m}");
        assert!(
            check_url("http://127.0.0.1:8080/h", &cfg(&["127.0.0.1"]))
                .await
                .is_ok()
        );
        assert!(
            check_url("https://93.184.216.34/h", &cfg(&[]))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn the_sender_refuses_an_internal_address_at_connect_time() {
        let sender = Sender::new(&cfg(&[])).unwrap();
        let secret = revcycle_core::events::signing::new_secret();
        for url in ["http://127.0.0.1:9/x", "http://localhost:9/x"] {
            let r = sender
                .send(url, "e1", "{}", std::slice::from_ref(&secret))
                .await;
            assert_eq!(r.error, Some("refused_address"), "{url}");
            assert_eq!(r.status_code, None);
        }
    }

    /// A receiver on loopback answering each request `200` with an 8 KiB page; counts the
    /// connections it accepted.
    async fn chatty_receiver() -> (String, Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut conn = BufReader::new(conn);
                    loop {
                        let mut length = 0usize;
                        loop {
                            let mut line = String::new();
                            if conn.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let line = line.trim_end().to_ascii_lowercase();
                            if line.is_empty() {
                                break;
                            }
                            if let Some(v) = line.strip_prefix("content-length:") {
                                length = v.trim().parse().unwrap_or(0);
                            }
                        }
                        let mut body = vec![0u8; length];
                        if conn.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        // The body follows the head a moment later, as from a receiver that
                        // answers before it has rendered its page.
                        let page = "thanks! ".repeat(1024);
                        let head =
                            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", page.len());
                        let out = conn.get_mut();
                        if out.write_all(head.as_bytes()).await.is_err() {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        if out.write_all(page.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, accepted)
    }

    #[tokio::test]
    async fn deliveries_to_a_receiver_that_answers_with_a_body_share_one_connection() {
        let (url, accepted) = chatty_receiver().await;
        let sender = Sender::new(&cfg(&["127.0.0.1"])).unwrap();
        let secret = revcycle_core::events::signing::new_secret();
        for i in 0..5 {
            let r = sender
                .send(&url, &format!("e{i}"), "{}", std::slice::from_ref(&secret))
                .await;
            assert_eq!((r.status_code, r.error), (Some(200), None));
        }
        assert_eq!(accepted.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
