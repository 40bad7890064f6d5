//! Where the payer connector moves files, from its `config` in `connectors.toml`: the
//! connector-level default route and each payer's own (outbox or submit URL, clearinghouse
//! URL and its bearer token source, inbox, envelope ids).

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;
use uuid::Uuid;

/// Where a bearer token is read from when a request is made (never the TOML itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    File(PathBuf),
    Env(String),
}

impl TokenSource {
    /// The token, read now (a rotated file is picked up on the next request). A file must
    /// not be readable by group or others.
    pub(super) fn read(&self) -> Result<String, String> {
        let token = match self {
            TokenSource::File(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let meta = std::fs::metadata(path)
                        .map_err(|e| format!("bearer token file: {}", e.kind()))?;
                    if meta.permissions().mode() & 0o077 != 0 {
                        return Err(
                            "the bearer token file is readable or writable by group or others \
                             (chmod 600 it)"
                                .into(),
                        );
                    }
                }
                std::fs::read_to_string(path)
                    .map_err(|e| format!("bearer token file: {}", e.kind()))?
            }
            TokenSource::Env(name) => std::env::var(name)
                .map_err(|_| format!("the bearer token variable {name} is not set"))?,
        };
        let token = token.trim().to_string();
        if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err("the bearer token is empty or not one line".into());
        }
        Ok(token)
    }
}

/// An HTTP endpoint of a clearinghouse API and the token it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub url: String,
    pub token: Option<TokenSource>,
}

/// How 837Ps reach a payer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Submission {
    Outbox(PathBuf),
    Http(Endpoint),
}

/// The transport of one payer (or, at the connector level, of every payer without an entry).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Route {
    pub submission: Option<Submission>,
    pub clearinghouse: Option<Endpoint>,
    pub inbox: Option<PathBuf>,
    /// ISA06/GS02 for this payer's files (the plugin's `sender_id` otherwise).
    pub sender_id: Option<String>,
    pub receiver_id: Option<String>,
    pub receiver_name: Option<String>,
}

pub(super) const ROUTE_KEYS: &[&str] = &[
    "outbox",
    "submit_url",
    "clearinghouse_url",
    "bearer_token_file",
    "bearer_token_env",
    "inbox",
    "sender_id",
    "receiver_id",
    "receiver_name",
    "org",
];

impl Route {
    /// One level of configuration; `what` names it in errors (never a value).
    fn of(config: &Value, what: &str) -> Result<Route, String> {
        if config.get("bearer_token").is_some() {
            return Err(format!(
                "{what}: a bearer_token in connectors.toml is refused; give bearer_token_file \
                 (mode 0600) or bearer_token_env"
            ));
        }
        let text = |k: &str| -> Result<Option<String>, String> {
            match config.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_string())),
                Some(_) => Err(format!("{what}: {k} must be a non-empty string")),
            }
        };
        let token = match (text("bearer_token_file")?, text("bearer_token_env")?) {
            (Some(_), Some(_)) => {
                return Err(format!(
                    "{what}: give bearer_token_file or bearer_token_env, not both"
                ));
            }
            (Some(f), None) => Some(TokenSource::File(PathBuf::from(f))),
            (None, Some(v)) => Some(TokenSource::Env(v)),
            (None, None) => None,
        };
        let url = |k: &str| -> Result<Option<Endpoint>, String> {
            let Some(u) = text(k)? else {
                return Ok(None);
            };
            let parsed =
                reqwest::Url::parse(&u).map_err(|_| format!("{what}: {k} is not a URL"))?;
            if parsed.scheme() != "https" && !is_loopback(&parsed) {
                return Err(format!(
                    "{what}: {k} must be https (plain http only on loopback)"
                ));
            }
            Ok(Some(Endpoint {
                url: u.trim_end_matches('/').to_string(),
                token: token.clone(),
            }))
        };
        let submission = match (text("outbox")?, url("submit_url")?) {
            (Some(_), Some(_)) => {
                return Err(format!("{what}: give outbox or submit_url, not both"));
            }
            (Some(dir), None) => Some(Submission::Outbox(PathBuf::from(dir))),
            (None, Some(e)) => Some(Submission::Http(e)),
            (None, None) => None,
        };
        for (k, max) in [
            ("sender_id", 15),
            ("receiver_id", 15),
            ("receiver_name", 60),
        ] {
            if text(k)?.is_some_and(|v| v.len() > max) {
                return Err(format!("{what}: {k} has more than {max} characters"));
            }
        }
        Ok(Route {
            submission,
            clearinghouse: url("clearinghouse_url")?,
            inbox: text("inbox")?.map(PathBuf::from),
            sender_id: text("sender_id")?,
            receiver_id: text("receiver_id")?,
            receiver_name: text("receiver_name")?,
        })
    }
}

pub(super) fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

/// An inbox directory to poll, and the organization its files belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbox {
    pub dir: PathBuf,
    pub org: Option<Uuid>,
}

/// Where the payer connector moves files: the connector-level default and each payer's own.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    pub default: Route,
    /// Keyed by payer id (UUID) or payer code (the payer's X12 id), as configured.
    pub payers: Vec<(String, Route)>,
    pub poll: Duration,
    pub org: Option<Uuid>,
    /// The plugin's own `sender_id` (ISA06 when a payer has none of its own).
    pub sender_id: String,
    /// Payer entries whose org differs from the connector's, for their inboxes.
    payer_orgs: Vec<(String, Uuid)>,
}

impl Transport {
    pub fn of(config: &Value) -> Result<Transport, String> {
        let org = |v: &Value, what: &str| -> Result<Option<Uuid>, String> {
            match v.get("org") {
                None => Ok(None),
                Some(o) => o
                    .as_str()
                    .and_then(|s| Uuid::parse_str(s).ok())
                    .map(Some)
                    .ok_or_else(|| format!("{what}: org must be an organization id")),
            }
        };
        let mut payers = Vec::new();
        let mut payer_orgs = Vec::new();
        match config.get("payers") {
            None => {}
            Some(Value::Object(map)) => {
                for (key, entry) in map {
                    let what = &format!("payers.\"{key}\"");
                    let Some(fields) = entry.as_object() else {
                        return Err("payers: each entry must be a table".into());
                    };
                    if let Some(k) = fields
                        .keys()
                        .find(|k| !ROUTE_KEYS.contains(&k.as_str()) && *k != "bearer_token")
                    {
                        return Err(format!("{what}: unknown key {k}"));
                    }
                    if key.trim().is_empty() {
                        return Err("payers: an entry has an empty key".into());
                    }
                    if let Some(o) = org(entry, what)? {
                        payer_orgs.push((key.trim().to_string(), o));
                    }
                    payers.push((key.trim().to_string(), Route::of(entry, what)?));
                }
            }
            Some(_) => return Err("payers must be a table of payer entries".into()),
        }
        Ok(Transport {
            default: Route::of(config, "connector config")?,
            payers,
            poll: Duration::from_secs(
                config
                    .get("poll_seconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(5)
                    .max(1),
            ),
            org: org(config, "connector config")?,
            sender_id: config
                .get("sender_id")
                .and_then(Value::as_str)
                .unwrap_or("REVCYCLE")
                .to_string(),
            payer_orgs,
        })
    }

    /// The payer's own entry, by its id or its payer code (case-insensitive), if it has one.
    fn entry(&self, payer_id: Uuid, payer_code: Option<&str>) -> Option<&Route> {
        let id = payer_id.to_string();
        self.payers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&id))
            .or_else(|| {
                let code = payer_code?.trim();
                self.payers
                    .iter()
                    .find(|(k, _)| !code.is_empty() && k.eq_ignore_ascii_case(code))
            })
            .map(|(_, r)| r)
    }

    /// The transport for one payer: its entry where it says, the connector's default for the
    /// rest. A URL comes with the token of the level that names it (a payer's endpoint never
    /// gets the default token, nor the default endpoint a payer's).
    pub fn route(&self, payer_id: Uuid, payer_code: Option<&str>) -> Route {
        let Some(own) = self.entry(payer_id, payer_code) else {
            return self.default.clone();
        };
        Route {
            submission: own
                .submission
                .clone()
                .or_else(|| self.default.submission.clone()),
            clearinghouse: own
                .clearinghouse
                .clone()
                .or_else(|| self.default.clearinghouse.clone()),
            inbox: own.inbox.clone().or_else(|| self.default.inbox.clone()),
            sender_id: own
                .sender_id
                .clone()
                .or_else(|| self.default.sender_id.clone()),
            receiver_id: own
                .receiver_id
                .clone()
                .or_else(|| self.default.receiver_id.clone()),
            receiver_name: own
                .receiver_name
                .clone()
                .or_else(|| self.default.receiver_name.clone()),
        }
    }

    /// ISA06 of a route's files: the counter its control numbers come from.
    pub fn sender_of(&self, route: &Route) -> String {
        route
            .sender_id
            .clone()
            .unwrap_or_else(|| self.sender_id.clone())
    }

    /// Whether any payer can be submitted to at all.
    pub(super) fn can_submit(&self) -> bool {
        self.default.submission.is_some() || self.payers.iter().any(|(_, r)| r.submission.is_some())
    }

    /// Every inbox to poll (the connector's and the payers' own), each once.
    pub fn inboxes(&self) -> Vec<Inbox> {
        let mut out: Vec<Inbox> = Vec::new();
        let mut add = |dir: &PathBuf, org: Option<Uuid>| {
            if !out.iter().any(|i| &i.dir == dir) {
                out.push(Inbox {
                    dir: dir.clone(),
                    org,
                });
            }
        };
        if let Some(d) = &self.default.inbox {
            add(d, self.org);
        }
        for (key, r) in &self.payers {
            if let Some(d) = &r.inbox {
                let org = self
                    .payer_orgs
                    .iter()
                    .find(|(k, _)| k == key)
                    .map(|(_, o)| *o)
                    .or(self.org);
                add(d, org);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_payers_entry_overrides_the_default_transport() {
        let t = Transport::of(&json!({
            "outbox": "/x/out", "inbox": "/x/in", "sender_id": "ME",
            "clearinghouse_url": "https://ch.example/api", "bearer_token_env": "DEFAULT_TOKEN",
            "payers": {
                "60054": {"outbox": "/acme/out", "inbox": "/acme/in"},
                "87726": {"submit_url": "https://b.example/837", "bearer_token_file": "/s/b.token",
                          "receiver_id": "BEACON", "sender_id": "ME2"},
                "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02": {"inbox": "/x/in"}
            }
        }))
        .unwrap();
        let payer = Uuid::now_v7();
        // No entry: the default.
        let r = t.route(payer, Some("11111"));
        assert_eq!(r.submission, Some(Submission::Outbox("/x/out".into())));
        assert_eq!(t.sender_of(&r), "ME");
        // By payer code (any case), own outbox, the default's clearinghouse with its token.
        let r = t.route(payer, Some("60054"));
        assert_eq!(r.submission, Some(Submission::Outbox("/acme/out".into())));
        let ch = r.clearinghouse.unwrap();
        assert_eq!(ch.url, "https://ch.example/api");
        assert_eq!(ch.token, Some(TokenSource::Env("DEFAULT_TOKEN".into())));
        // Its own endpoint comes with its own token, never the default's.
        let r = t.route(payer, Some("87726"));
        assert_eq!(
            r.submission,
            Some(Submission::Http(Endpoint {
                url: "https://b.example/837".into(),
                token: Some(TokenSource::File("/s/b.token".into())),
            }))
        );
        assert_eq!(r.receiver_id.as_deref(), Some("BEACON"));
        assert_eq!(t.sender_of(&r), "ME2");
        // By payer id.
        let id = Uuid::parse_str("0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02").unwrap();
        assert_eq!(t.route(id, None).inbox, Some("/x/in".into()));
        // Each inbox once.
        let dirs: Vec<PathBuf> = t.inboxes().into_iter().map(|i| i.dir).collect();
        assert_eq!(dirs, [PathBuf::from("/x/in"), PathBuf::from("/acme/in")]);
    }

    #[test]
    fn transport_configurations_that_are_refused() {
        for (config, says) in [
            (
                json!({"submit_url": "https://a/", "bearer_token": "s3cret"}),
                "bearer_token_file",
            ),
            (
                json!({"payers": {"1": {"bearer_token": "s3cret"}}}),
                "bearer_token_file",
            ),
            (
                json!({"outbox": "/o", "submit_url": "https://a/"}),
                "not both",
            ),
            (
                json!({"submit_url": "http://claims.example/837"}),
                "must be https",
            ),
            (
                json!({"bearer_token_file": "/a", "bearer_token_env": "B"}),
                "not both",
            ),
            (
                json!({"payers": {"1": {"outbx": "/o"}}}),
                "unknown key outbx",
            ),
            (json!({"payers": ["x"]}), "table"),
            (
                json!({"payers": {"1": {"receiver_id": "SIXTEEN-CHARS-XX"}}}),
                "receiver_id",
            ),
        ] {
            let err = Transport::of(&config).unwrap_err();
            assert!(err.contains(says), "{config}: {err}");
            assert!(!err.contains("s3cret"), "{err}");
        }
        // Plain HTTP is fine on loopback.
        assert!(Transport::of(&json!({"submit_url": "http://127.0.0.1:9/837"})).is_ok());
        assert!(Transport::of(&json!({"submit_url": "http://[::1]:9/837"})).is_ok());
    }

    #[test]
    fn bearer_token_files_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("revcycle-token-{}", Uuid::now_v7()));
        std::fs::write(&path, "abc123\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let source = TokenSource::File(path.clone());
        assert!(source.read().unwrap_err().contains("chmod 600"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(source.read().unwrap(), "abc123");
        std::fs::remove_file(&path).unwrap();
        let missing = TokenSource::Env("REVCYCLE_TEST_NO_SUCH_TOKEN_VARIABLE".into());
        assert!(missing.read().is_err());
    }
}
