//! The HTTP side: a client trusting exactly the server's certificate, requests with the
//! server's admin token, and responses read once into status, headers and JSON.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::server::Server;

/// An HTTP client; for HTTPS it trusts exactly the given certificate (the server's own).
pub fn http_client(trust: Option<&Path>) -> reqwest::Client {
    // The workspace links rustls with ring only; tell reqwest to use it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let mut b = reqwest::Client::builder().timeout(Duration::from_secs(60));
    if let Some(cert) = trust {
        let pem = std::fs::read(cert).expect("certificate");
        b = b.tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("PEM certificate")]);
    }
    b.build().expect("http client")
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.client.request(method, self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Resp::from(req.send().await.expect("request")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, Some(&self.token.clone()), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(&self.token.clone()), Some(body), &[])
            .await
    }

    pub async fn put(&self, path: &str, etag: &str, body: &Value) -> Resp {
        self.call(
            "PUT",
            path,
            Some(&self.token.clone()),
            Some(body),
            &[("if-match", etag)],
        )
        .await
    }

    /// POST that must answer 201; returns the created resource.
    pub async fn create(&self, path: &str, body: &Value) -> Value {
        let r = self.post(path, body).await;
        assert_eq!(r.status, 201, "POST {path} -> {} {}", r.status, r.body);
        r.body
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Resp {
    /// Reads a response sent with the client directly (a raw body, another media type).
    pub async fn from_response(r: reqwest::Response) -> Resp {
        Resp::from(r).await
    }

    async fn from(r: reqwest::Response) -> Resp {
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let text = r.text().await.unwrap_or_default();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    }

    /// Assert an RFC 9457 problem with this status; returns its JSON pointers.
    pub fn assert_problem(&self, status: u16) -> Vec<String> {
        assert_eq!(
            self.status, status,
            "expected {status}, got {} {}",
            self.status, self.text
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json"),
            "problem responses are application/problem+json: {}",
            self.text
        );
        assert_eq!(self.body["status"], status);
        assert!(
            self.body["type"]
                .as_str()
                .is_some_and(|t| t.starts_with("urn:revcycle:problem:"))
        );
        self.body["errors"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["pointer"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}
