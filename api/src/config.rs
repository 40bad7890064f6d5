//! Server configuration. Precedence, highest first: command-line flags, environment variables
//! (`REVCYCLE_*`, plus `DATABASE_URL`), the TOML file (`--config`, `REVCYCLE_CONFIG`, or
//! `./revcycle.toml` when present), built-in defaults.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use revcycle_core::audit::Retention;
use revcycle_core::phi::AwsKmsConfig;
use serde::Deserialize;

pub const DEFAULT_DATA_DIR: &str = "revcycle-data";
pub const DEFAULT_CONFIG_FILE: &str = "revcycle.toml";
pub const DEFAULT_BIND: &str = "127.0.0.1:8443";
/// Largest request body accepted (413 beyond): big enough for a 50-line encounter or a
/// remittance of a few thousand claims, small enough that nobody can exhaust memory.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;
pub const DEFAULT_POOL_SIZE: u32 = 16;
/// Sustained requests per second per client, and the burst above it a client may spend.
/// Generous for a practice's staff and an EHR's feed; a runaway script is slowed, not the rest.
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 100;
pub const DEFAULT_RATE_LIMIT_BURST: u32 = 200;
pub const DEFAULT_READ_TIMEOUT_SECS: u64 = 30;
/// Seconds a client has to send a request body (feeds get eight times as long).
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 15;
/// Requests one source address may have in flight at once.
pub const DEFAULT_MAX_REQUESTS_PER_SOURCE: usize = 256;
/// Refused requests that name no organization are counted per source over this many seconds.
pub const DEFAULT_AUDIT_REFUSAL_WINDOW_SECS: u64 = 60;
const DEFAULT_AUDIT_SEQUENCE_INTERVAL_MS: u64 = 20;
/// A checkpoint after this many new events of an org...
pub const DEFAULT_AUDIT_CHECKPOINT_EVENTS: u64 = 1000;
/// ...or this long after its first event not yet covered.
pub const DEFAULT_AUDIT_CHECKPOINT_SECS: u64 = 60;
/// Names the checkpoints' log origins (`<name>/audit/<org id>`) and their signing key.
pub const DEFAULT_AUDIT_CHECKPOINT_NAME: &str = "revcycle";
pub const DEFAULT_CONNECTOR_TIMEOUT_SECS: u64 = 30;
/// JWKS re-read even when no token asks for it, so a key the IdP withdrew stops working.
pub const DEFAULT_JWKS_REFRESH_SECS: u64 = 600;
/// At most one JWKS fetch per this many seconds for tokens naming unknown keys, so a flood of
/// made-up `kid`s cannot hammer the identity provider.
pub const DEFAULT_JWKS_MIN_REFRESH_SECS: u64 = 30;

/// How bearer tokens are verified.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    /// HS256 tokens from `revcycle token`, signed with a key under the data directory.
    #[default]
    Dev,
    /// RS256/ES256 tokens from an identity provider, checked against its JWKS.
    Jwks,
}

/// A TOML value given as one string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}
/// Base64 of a 32-byte master key. Environment only: a secret has no place in flags or files.
pub const MASTER_KEY_ENV: &str = "REVCYCLE_MASTER_KEY";
/// The master key file under the data directory, when no other source is configured.
pub const MASTER_KEY_FILE: &str = "master.key";

/// Values as given by flags or environment (clap fills both) before the file and defaults,
/// in groups: each command takes the flags of the groups it uses (`serve` all of them), and
/// [`ConfigArgs::from_env`] fills the others from the environment alone.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConfigArgs {
    #[command(flatten)]
    pub file: ConfigFileArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub keys: MasterKeyArgs,
    #[command(flatten)]
    pub audit: AuditTrailArgs,
    #[command(flatten)]
    pub connectors: ConnectorsFileArgs,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub server: ServerArgs,
}

// Every flag below is `global`, so a command group (`org`, `keys`) that takes a group of them
// accepts them after its subcommands too (`revcycle org create --data-dir ...`).

/// Where the other settings may come from.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Configuration")]
pub struct ConfigFileArgs {
    /// TOML configuration file (default: ./revcycle.toml when present).
    #[arg(long, env = "REVCYCLE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
}

/// Where the data lives.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Storage")]
pub struct StoreArgs {
    /// Directory for the embedded database, generated keys and certificates.
    #[arg(long, env = "REVCYCLE_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// `postgres://...` for PostgreSQL, or a SQLite file path (default: DATA_DIR/revcycle.db).
    #[arg(long, env = "REVCYCLE_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
}

/// The master key that wraps every organization's keys (one source only).
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Master key")]
pub struct MasterKeyArgs {
    /// Master key file (created 0600 on first run; default: DATA_DIR/master.key).
    #[arg(long, env = "REVCYCLE_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// AWS KMS key (id, ARN or alias) holding the master key; no key file is used then.
    #[arg(long, env = "REVCYCLE_KMS_KEY_ID", global = true)]
    pub kms_key_id: Option<String>,
    /// AWS region of the KMS key (default: AWS_REGION, then AWS_DEFAULT_REGION).
    #[arg(long, env = "REVCYCLE_KMS_REGION", global = true)]
    pub kms_region: Option<String>,
    /// KMS endpoint URL (VPC endpoint, or a local KMS for tests).
    #[arg(long, env = "REVCYCLE_KMS_ENDPOINT", global = true)]
    pub kms_endpoint: Option<String>,
}

/// Retention and signed checkpoints of the audit trail.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Audit trail")]
pub struct AuditTrailArgs {
    /// Days audit events are kept before `audit purge` may remove them (default: six calendar
    /// years, 72 months; less than six years, 2192 days, is refused).
    #[arg(long, env = "REVCYCLE_AUDIT_RETENTION_DAYS", global = true)]
    pub audit_retention_days: Option<u64>,
    /// Ed25519 key file signing audit checkpoints (created 0600 on first run; refused when
    /// group/world accessible; default: DATA_DIR/audit-checkpoint.key).
    #[arg(long, env = "REVCYCLE_AUDIT_CHECKPOINT_KEY_FILE", global = true)]
    pub audit_checkpoint_key_file: Option<PathBuf>,
    /// Directory signed audit checkpoints are published to, outside the database (one
    /// append-only file per checkpoint and a `latest`, per org; default: DATA_DIR/checkpoints).
    #[arg(long, env = "REVCYCLE_AUDIT_CHECKPOINT_DIR", global = true)]
    pub audit_checkpoint_dir: Option<PathBuf>,
    /// Key name and origin prefix of the checkpoints (default `revcycle`).
    #[arg(long, env = "REVCYCLE_AUDIT_CHECKPOINT_NAME", global = true)]
    pub audit_checkpoint_name: Option<String>,
}

/// The connector plugins' configuration file.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Connectors")]
pub struct ConnectorsFileArgs {
    /// Connector plugins to load (a `connectors.toml`: name, path, sha256, config each).
    #[arg(long, env = "REVCYCLE_CONNECTORS", global = true)]
    pub connectors: Option<PathBuf>,
}

/// How the server checks bearer tokens.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Token verification")]
pub struct AuthArgs {
    /// Token verification: dev (local HS256 key) or jwks (identity provider's keys).
    #[arg(long, value_enum, env = "REVCYCLE_AUTH_MODE", global = true)]
    pub auth_mode: Option<AuthMode>,
    /// JWKS file with the identity provider's public keys (jwks mode).
    #[arg(long, env = "REVCYCLE_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,
    /// JWKS URL (https; http only on loopback), fetched at start-up and cached (jwks mode).
    #[arg(long, env = "REVCYCLE_JWKS_URL", global = true)]
    pub jwks_url: Option<String>,
    /// Required `iss` of tokens (jwks mode).
    #[arg(long, env = "REVCYCLE_TOKEN_ISSUER", global = true)]
    pub token_issuer: Option<String>,
    /// Accepted `aud` of tokens (jwks mode); repeat the flag or separate with commas.
    #[arg(
        long,
        env = "REVCYCLE_TOKEN_AUDIENCE",
        value_delimiter = ',',
        global = true
    )]
    pub token_audience: Vec<String>,
    /// Seconds between JWKS re-reads (jwks mode).
    #[arg(long, env = "REVCYCLE_JWKS_REFRESH_SECS", global = true)]
    pub jwks_refresh_secs: Option<u64>,
    /// Least seconds between JWKS fetches caused by tokens naming unknown keys (jwks mode).
    #[arg(long, env = "REVCYCLE_JWKS_MIN_REFRESH_SECS", global = true)]
    pub jwks_min_refresh_secs: Option<u64>,
}

/// What only a running server uses: its address, limits and background work.
#[derive(Debug, Clone, Default, clap::Args)]
#[command(next_help_heading = "Server")]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, env = "REVCYCLE_BIND", global = true)]
    pub bind: Option<SocketAddr>,
    /// Maximum request body in bytes.
    #[arg(long, env = "REVCYCLE_BODY_LIMIT", global = true)]
    pub body_limit: Option<usize>,
    /// Database connections per server process.
    #[arg(long, env = "REVCYCLE_POOL_SIZE", global = true)]
    pub pool_size: Option<u32>,
    /// HTTP worker threads (default: one per CPU).
    #[arg(long, env = "REVCYCLE_WORKERS", global = true)]
    pub workers: Option<usize>,
    /// Sustained requests per second per client (0 turns rate limiting off).
    #[arg(long, env = "REVCYCLE_RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,
    /// Requests a client may burst above the sustained rate.
    #[arg(long, env = "REVCYCLE_RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,
    /// Seconds after which a read (GET) is abandoned with 503.
    #[arg(long, env = "REVCYCLE_READ_TIMEOUT_SECS", global = true)]
    pub read_timeout_secs: Option<u64>,
    /// Seconds a client has to send its request body before the request is refused with 408.
    #[arg(long, env = "REVCYCLE_BODY_TIMEOUT_SECS", global = true)]
    pub body_timeout_secs: Option<u64>,
    /// Requests one source address may have in flight at once (429 beyond).
    #[arg(long, env = "REVCYCLE_MAX_REQUESTS_PER_SOURCE", global = true)]
    pub max_requests_per_source: Option<usize>,
    /// Addresses of reverse proxies whose X-Forwarded-For names the real client (repeat the
    /// flag or separate with commas). Without it the peer address is the source.
    #[arg(
        long,
        env = "REVCYCLE_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Seconds a connector call may take before the request gives up with 502.
    #[arg(long, env = "REVCYCLE_CONNECTOR_TIMEOUT_SECS", global = true)]
    pub connector_timeout_secs: Option<u64>,
    /// Seconds over which refused requests naming no organization are counted per source
    /// address as one audit event of the system chain.
    #[arg(long, env = "REVCYCLE_AUDIT_REFUSAL_WINDOW_SECS", global = true)]
    pub audit_refusal_window_secs: Option<u64>,
    /// PostgreSQL: milliseconds the audit sequencer waits when nothing was waiting to be
    /// chained.
    #[arg(long, env = "REVCYCLE_AUDIT_SEQUENCE_INTERVAL_MS", global = true)]
    pub audit_sequence_interval_ms: Option<u64>,
    /// PostgreSQL: connections the audit writer commits batches on side by side (default 1).
    #[arg(long, env = "REVCYCLE_AUDIT_WRITERS", global = true)]
    pub audit_writers: Option<usize>,
    /// A checkpoint after this many new events of an org (default 1000).
    #[arg(long, env = "REVCYCLE_AUDIT_CHECKPOINT_EVENTS", global = true)]
    pub audit_checkpoint_events: Option<u64>,
    /// ...or at most this many seconds after an org's trail grew (default 60).
    #[arg(long, env = "REVCYCLE_AUDIT_CHECKPOINT_SECS", global = true)]
    pub audit_checkpoint_secs: Option<u64>,
    /// Hosts a webhook subscription may point at although they are (or resolve to) loopback,
    /// private or link-local addresses; repeat the flag or separate with commas.
    #[arg(
        long,
        env = "REVCYCLE_EVENTS_ALLOWED_HOSTS",
        value_delimiter = ',',
        global = true
    )]
    pub events_allowed_hosts: Vec<String>,
    /// Milliseconds before a failed webhook delivery is first retried (default 5000); each
    /// next wait is four times longer, at most 12 hours, with +-20% jitter.
    #[arg(long, env = "REVCYCLE_EVENTS_RETRY_BASE_MS", global = true)]
    pub events_retry_base_ms: Option<u64>,
    /// Seconds a failing webhook delivery is retried for, from its first attempt (default
    /// 259200, three days).
    #[arg(long, env = "REVCYCLE_EVENTS_RETRY_WINDOW_SECS", global = true)]
    pub events_retry_window_secs: Option<u64>,
    /// Seconds a subscription's deliveries may fail without a success before it is disabled
    /// (default 432000, five days).
    #[arg(long, env = "REVCYCLE_EVENTS_DISABLE_AFTER_SECS", global = true)]
    pub events_disable_after_secs: Option<u64>,
    /// Seconds a rotated-out signing secret keeps signing beside the new one (default 86400).
    #[arg(long, env = "REVCYCLE_EVENTS_SECRET_GRACE_SECS", global = true)]
    pub events_secret_grace_secs: Option<u64>,
    /// Milliseconds the webhook deliverer waits when nothing was due (default 1000).
    #[arg(long, env = "REVCYCLE_EVENTS_POLL_INTERVAL_MS", global = true)]
    pub events_poll_interval_ms: Option<u64>,
    /// Seconds a webhook receiver has to answer (default 15).
    #[arg(long, env = "REVCYCLE_EVENTS_TIMEOUT_SECS", global = true)]
    pub events_timeout_secs: Option<u64>,
    /// Seconds between looks for payment plan installments fallen due, each announced once as
    /// `payment_plan.installment_due` (default 3600).
    #[arg(long, env = "REVCYCLE_EVENTS_INSTALLMENTS_CHECK_SECS", global = true)]
    pub events_installments_check_secs: Option<u64>,
    /// NATS server (e.g. `nats://127.0.0.1:4222`, `tls://nats.example.com:4222`) to publish
    /// every event to through JetStream, beside webhooks. Off when unset.
    #[arg(long, env = "REVCYCLE_EVENTS_NATS_URL", global = true)]
    pub events_nats_url: Option<String>,
    /// The JetStream stream events go to (default `REVCYCLE_EVENTS`); created when missing.
    #[arg(long, env = "REVCYCLE_EVENTS_NATS_STREAM", global = true)]
    pub events_nats_stream: Option<String>,
    /// Subjects are `<prefix>.<org id>.<event type>` (default prefix `revcycle.events`).
    #[arg(long, env = "REVCYCLE_EVENTS_NATS_SUBJECT_PREFIX", global = true)]
    pub events_nats_subject_prefix: Option<String>,
}

impl ConfigArgs {
    /// Every setting from the environment alone, as clap reads it for flags. A command fills
    /// the groups it has flags for over this, so the groups it has none for keep coming from
    /// the environment as they always have.
    pub fn from_env() -> Result<ConfigArgs, ConfigError> {
        #[derive(clap::Parser)]
        #[command(no_binary_name = true)]
        struct EnvOnly {
            #[command(flatten)]
            args: ConfigArgs,
        }
        <EnvOnly as clap::Parser>::try_parse_from(std::iter::empty::<String>())
            .map(|e| e.args)
            .map_err(|e| {
                // clap's first line names the variable's flag and the problem; the rest is usage.
                let text = e.to_string();
                let first = text.lines().next().unwrap_or_default();
                ConfigError::Invalid(first.trim_start_matches("error: ").to_string())
            })
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    bind: Option<SocketAddr>,
    body_limit: Option<usize>,
    pool_size: Option<u32>,
    workers: Option<usize>,
    rate_limit_per_second: Option<u32>,
    rate_limit_burst: Option<u32>,
    read_timeout_secs: Option<u64>,
    body_timeout_secs: Option<u64>,
    max_requests_per_source: Option<usize>,
    trusted_proxies: Option<Vec<std::net::IpAddr>>,
    audit_refusal_window_secs: Option<u64>,
    audit_sequence_interval_ms: Option<u64>,
    audit_writers: Option<usize>,
    auth_mode: Option<AuthMode>,
    jwks_file: Option<PathBuf>,
    jwks_url: Option<String>,
    token_issuer: Option<String>,
    token_audience: Option<OneOrMany>,
    jwks_refresh_secs: Option<u64>,
    jwks_min_refresh_secs: Option<u64>,
    master_key_file: Option<PathBuf>,
    kms_key_id: Option<String>,
    kms_region: Option<String>,
    kms_endpoint: Option<String>,
    connectors: Option<PathBuf>,
    connector_timeout_secs: Option<u64>,
    audit_retention_days: Option<u64>,
    audit_checkpoint_key_file: Option<PathBuf>,
    audit_checkpoint_dir: Option<PathBuf>,
    audit_checkpoint_events: Option<u64>,
    audit_checkpoint_secs: Option<u64>,
    audit_checkpoint_name: Option<String>,
    events_allowed_hosts: Option<Vec<String>>,
    events_retry_base_ms: Option<u64>,
    events_retry_window_secs: Option<u64>,
    events_disable_after_secs: Option<u64>,
    events_secret_grace_secs: Option<u64>,
    events_poll_interval_ms: Option<u64>,
    events_timeout_secs: Option<u64>,
    events_installments_check_secs: Option<u64>,
    events_nats_url: Option<String>,
    events_nats_stream: Option<String>,
    events_nats_subject_prefix: Option<String>,
}

/// Where the master key (which wraps every organization's data keys) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MasterKeySource {
    /// A base64 key file, created 0600 when missing; refused when group/world accessible.
    File(PathBuf),
    /// Base64 in the `REVCYCLE_MASTER_KEY` environment variable.
    Env,
    /// An AWS KMS key: the master key never leaves KMS.
    AwsKms(AwsKmsConfig),
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub database_url: String,
    pub bind: SocketAddr,
    pub body_limit: usize,
    pub pool_size: u32,
    pub workers: Option<usize>,
    pub rate_limit_per_second: u32,
    pub rate_limit_burst: u32,
    pub read_timeout_secs: u64,
    pub body_timeout_secs: u64,
    pub max_requests_per_source: usize,
    pub trusted_proxies: Vec<std::net::IpAddr>,
    pub audit_refusal_window_secs: u64,
    pub audit_sequence_interval_ms: u64,
    pub audit_writers: Option<usize>,
    pub auth_mode: AuthMode,
    pub jwks_file: Option<PathBuf>,
    pub jwks_url: Option<String>,
    pub token_issuer: Option<String>,
    pub token_audience: Vec<String>,
    pub jwks_refresh_secs: u64,
    pub jwks_min_refresh_secs: u64,
    pub master_key: MasterKeySource,
    pub connectors: Option<PathBuf>,
    pub connector_timeout_secs: u64,
    /// How long audit events are kept before a purge may remove them.
    pub audit_retention: Retention,
    /// Signed checkpoints of the audit trail: key, where they are published, how often.
    pub audit_checkpoints: CheckpointConfig,
    /// Webhook delivery.
    pub events: EventsConfig,
}

/// Webhook delivery: which internal hosts subscriptions may reach, retries, timeouts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// Hosts (names or addresses, lower-case) allowed despite internal addresses.
    pub allowed_hosts: Vec<String>,
    pub retry_base: Duration,
    pub retry_window: Duration,
    pub disable_after: Duration,
    pub secret_grace: Duration,
    pub poll_interval: Duration,
    pub timeout: Duration,
    /// Between looks for installments fallen due.
    pub installments_check: Duration,
    /// Publishing to NATS JetStream, when configured.
    pub nats: Option<NatsConfig>,
}

/// Where events are published in NATS JetStream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NatsConfig {
    pub url: String,
    pub stream: String,
    pub subject_prefix: String,
}

pub const DEFAULT_NATS_STREAM: &str = "REVCYCLE_EVENTS";
pub const DEFAULT_NATS_SUBJECT_PREFIX: &str = "revcycle.events";

pub const DEFAULT_EVENTS_POLL_INTERVAL_MS: u64 = 1000;
pub const DEFAULT_EVENTS_TIMEOUT_SECS: u64 = 15;
pub const DEFAULT_EVENTS_INSTALLMENTS_CHECK_SECS: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointConfig {
    pub key_file: PathBuf,
    pub dir: PathBuf,
    pub every_events: u64,
    pub every_secs: u64,
    pub name: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("configuration file {path} is invalid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// The settings that matter to an auditor, without secrets or paths to them.
    pub fn summary(&self) -> String {
        let engine = match revcycle_core::store::Engine::of_url(&self.database_url) {
            revcycle_core::store::Engine::Postgres => "postgres",
            revcycle_core::store::Engine::Sqlite => "sqlite",
        };
        let auth = match self.auth_mode {
            AuthMode::Dev => "dev",
            AuthMode::Jwks => "jwks",
        };
        let master_key = match &self.master_key {
            MasterKeySource::File(_) => "file",
            MasterKeySource::Env => "env",
            MasterKeySource::AwsKms(_) => "aws-kms",
        };
        format!(
            "engine={engine} auth={auth} master_key={master_key} bind={} rate_limit={}/{} body_limit={} read_timeout={}s audit_retention={}",
            self.bind,
            self.rate_limit_per_second,
            self.rate_limit_burst,
            self.body_limit,
            self.read_timeout_secs,
            self.audit_retention.describe()
        )
    }

    pub fn load(args: &ConfigArgs) -> Result<Config, ConfigError> {
        let file = match &args.file.config {
            Some(path) => read_file(path)?,
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                read_file(Path::new(DEFAULT_CONFIG_FILE))?
            }
            None => FileConfig::default(),
        };
        let data_dir = args
            .store
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let master_key = master_key_source(args, &file, &data_dir)?;
        let events = events_config(args, &file)?;
        // Refused outright rather than raised quietly: whoever set it should know.
        let audit_retention = match args
            .audit
            .audit_retention_days
            .or(file.audit_retention_days)
        {
            None => Retention::default(),
            Some(days) => Retention::days(days).map_err(|e| ConfigError::Invalid(e.to_string()))?,
        };
        // DATABASE_URL is the conventional name; REVCYCLE_DATABASE_URL and the flag win over it.
        let database_url = args
            .store
            .database_url
            .clone()
            .or_else(|| std::env::var("DATABASE_URL").ok().filter(|v| !v.is_empty()))
            .or(file.database_url)
            .unwrap_or_else(|| data_dir.join("revcycle.db").to_string_lossy().into_owned());
        Ok(Config {
            events,
            master_key,
            database_url,
            bind: args
                .server
                .bind
                .or(file.bind)
                .unwrap_or_else(|| DEFAULT_BIND.parse().expect("valid default")),
            body_limit: args
                .server
                .body_limit
                .or(file.body_limit)
                .unwrap_or(DEFAULT_BODY_LIMIT),
            pool_size: args
                .server
                .pool_size
                .or(file.pool_size)
                .unwrap_or(DEFAULT_POOL_SIZE),
            workers: args.server.workers.or(file.workers),
            rate_limit_per_second: args
                .server
                .rate_limit_per_second
                .or(file.rate_limit_per_second)
                .unwrap_or(DEFAULT_RATE_LIMIT_PER_SECOND),
            rate_limit_burst: args
                .server
                .rate_limit_burst
                .or(file.rate_limit_burst)
                .unwrap_or(DEFAULT_RATE_LIMIT_BURST),
            read_timeout_secs: args
                .server
                .read_timeout_secs
                .or(file.read_timeout_secs)
                .unwrap_or(DEFAULT_READ_TIMEOUT_SECS)
                .max(1),
            body_timeout_secs: args
                .server
                .body_timeout_secs
                .or(file.body_timeout_secs)
                .unwrap_or(DEFAULT_BODY_TIMEOUT_SECS)
                .max(1),
            max_requests_per_source: args
                .server
                .max_requests_per_source
                .or(file.max_requests_per_source)
                .unwrap_or(DEFAULT_MAX_REQUESTS_PER_SOURCE)
                .max(1),
            audit_refusal_window_secs: args
                .server
                .audit_refusal_window_secs
                .or(file.audit_refusal_window_secs)
                .unwrap_or(DEFAULT_AUDIT_REFUSAL_WINDOW_SECS)
                .clamp(1, 3600),
            audit_sequence_interval_ms: args
                .server
                .audit_sequence_interval_ms
                .or(file.audit_sequence_interval_ms)
                .unwrap_or(DEFAULT_AUDIT_SEQUENCE_INTERVAL_MS)
                .clamp(1, 86_400_000),
            audit_writers: args.server.audit_writers.or(file.audit_writers),
            trusted_proxies: if args.server.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                args.server.trusted_proxies.clone()
            },
            auth_mode: args.auth.auth_mode.or(file.auth_mode).unwrap_or_default(),
            jwks_file: args.auth.jwks_file.clone().or(file.jwks_file),
            jwks_url: args.auth.jwks_url.clone().or(file.jwks_url),
            token_issuer: args.auth.token_issuer.clone().or(file.token_issuer),
            token_audience: if args.auth.token_audience.is_empty() {
                match file.token_audience {
                    Some(OneOrMany::One(a)) => vec![a],
                    Some(OneOrMany::Many(a)) => a,
                    None => vec![],
                }
            } else {
                args.auth.token_audience.clone()
            },
            jwks_refresh_secs: args
                .auth
                .jwks_refresh_secs
                .or(file.jwks_refresh_secs)
                .unwrap_or(DEFAULT_JWKS_REFRESH_SECS)
                .max(1),
            jwks_min_refresh_secs: args
                .auth
                .jwks_min_refresh_secs
                .or(file.jwks_min_refresh_secs)
                .unwrap_or(DEFAULT_JWKS_MIN_REFRESH_SECS),
            connectors: args.connectors.connectors.clone().or(file.connectors),
            connector_timeout_secs: args
                .server
                .connector_timeout_secs
                .or(file.connector_timeout_secs)
                .unwrap_or(DEFAULT_CONNECTOR_TIMEOUT_SECS)
                .max(1),
            audit_retention,
            audit_checkpoints: CheckpointConfig {
                key_file: args
                    .audit
                    .audit_checkpoint_key_file
                    .clone()
                    .or(file.audit_checkpoint_key_file)
                    .unwrap_or_else(|| data_dir.join("audit-checkpoint.key")),
                dir: args
                    .audit
                    .audit_checkpoint_dir
                    .clone()
                    .or(file.audit_checkpoint_dir)
                    .unwrap_or_else(|| data_dir.join("checkpoints")),
                every_events: args
                    .server
                    .audit_checkpoint_events
                    .or(file.audit_checkpoint_events)
                    .unwrap_or(DEFAULT_AUDIT_CHECKPOINT_EVENTS)
                    .max(1),
                every_secs: args
                    .server
                    .audit_checkpoint_secs
                    .or(file.audit_checkpoint_secs)
                    .unwrap_or(DEFAULT_AUDIT_CHECKPOINT_SECS)
                    .max(1),
                name: args
                    .audit
                    .audit_checkpoint_name
                    .clone()
                    .or(file.audit_checkpoint_name)
                    .unwrap_or_else(|| DEFAULT_AUDIT_CHECKPOINT_NAME.into()),
            },
            data_dir,
        })
    }

    pub fn is_loopback(&self) -> bool {
        is_loopback(self.bind.ip())
    }
}

fn events_config(args: &ConfigArgs, file: &FileConfig) -> Result<EventsConfig, ConfigError> {
    use revcycle_core::events::retry;
    use revcycle_core::workflows::events as defaults;
    let s = &args.server;
    let secs = |flag: Option<u64>, toml: Option<u64>, default: Duration| {
        flag.or(toml).map_or(default, Duration::from_secs)
    };
    Ok(EventsConfig {
        allowed_hosts: if s.events_allowed_hosts.is_empty() {
            file.events_allowed_hosts.clone().unwrap_or_default()
        } else {
            s.events_allowed_hosts.clone()
        }
        .into_iter()
        .map(|h| h.trim().to_ascii_lowercase())
        .filter(|h| !h.is_empty())
        .collect(),
        retry_base: s
            .events_retry_base_ms
            .or(file.events_retry_base_ms)
            .map_or(retry::DEFAULT_BASE, |ms| Duration::from_millis(ms.max(1))),
        retry_window: secs(
            s.events_retry_window_secs,
            file.events_retry_window_secs,
            retry::DEFAULT_WINDOW,
        ),
        disable_after: secs(
            s.events_disable_after_secs,
            file.events_disable_after_secs,
            defaults::DEFAULT_DISABLE_AFTER,
        ),
        secret_grace: secs(
            s.events_secret_grace_secs,
            file.events_secret_grace_secs,
            defaults::DEFAULT_SECRET_GRACE,
        ),
        poll_interval: Duration::from_millis(
            s.events_poll_interval_ms
                .or(file.events_poll_interval_ms)
                .unwrap_or(DEFAULT_EVENTS_POLL_INTERVAL_MS)
                .clamp(10, 600_000),
        ),
        timeout: Duration::from_secs(
            s.events_timeout_secs
                .or(file.events_timeout_secs)
                .unwrap_or(DEFAULT_EVENTS_TIMEOUT_SECS)
                .clamp(1, 300),
        ),
        installments_check: Duration::from_secs(
            s.events_installments_check_secs
                .or(file.events_installments_check_secs)
                .unwrap_or(DEFAULT_EVENTS_INSTALLMENTS_CHECK_SECS)
                .clamp(1, 86_400),
        ),
        nats: nats_config(args, file)?,
    })
}

fn nats_config(args: &ConfigArgs, file: &FileConfig) -> Result<Option<NatsConfig>, ConfigError> {
    let s = &args.server;
    let nonempty = |v: Option<&String>| v.map(|v| v.trim().to_string()).filter(|v| !v.is_empty());
    let Some(url) = nonempty(s.events_nats_url.as_ref().or(file.events_nats_url.as_ref())) else {
        return Ok(None);
    };
    let stream = nonempty(
        s.events_nats_stream
            .as_ref()
            .or(file.events_nats_stream.as_ref()),
    )
    .unwrap_or_else(|| DEFAULT_NATS_STREAM.into());
    // JetStream stream names: no whitespace, dots, wildcards or path separators.
    if stream
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, '.' | '*' | '>' | '/' | '\\'))
    {
        return Err(ConfigError::Invalid(format!(
            "events_nats_stream {stream:?} may not contain whitespace, '.', '*', '>', '/' or '\\'"
        )));
    }
    let subject_prefix = nonempty(
        s.events_nats_subject_prefix
            .as_ref()
            .or(file.events_nats_subject_prefix.as_ref()),
    )
    .unwrap_or_else(|| DEFAULT_NATS_SUBJECT_PREFIX.into());
    let token_ok = |t: &str| {
        !t.is_empty()
            && !t
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '*' | '>'))
    };
    if !subject_prefix.split('.').all(token_ok) {
        return Err(ConfigError::Invalid(format!(
            "events_nats_subject_prefix {subject_prefix:?} must be dot-separated tokens without \
             whitespace or wildcards"
        )));
    }
    Ok(Some(NatsConfig {
        url,
        stream,
        subject_prefix,
    }))
}

/// KMS when a key id is configured, else `REVCYCLE_MASTER_KEY`, else the key file. Two sources
/// at once is refused rather than guessed at.
fn master_key_source(
    args: &ConfigArgs,
    file: &FileConfig,
    data_dir: &Path,
) -> Result<MasterKeySource, ConfigError> {
    let nonempty = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let env_key = std::env::var(MASTER_KEY_ENV)
        .ok()
        .is_some_and(|v| !v.trim().is_empty());
    let key_file = args
        .keys
        .master_key_file
        .clone()
        .or_else(|| file.master_key_file.clone());
    let kms_key_id = nonempty(
        args.keys
            .kms_key_id
            .clone()
            .or_else(|| file.kms_key_id.clone()),
    );
    if let Some(key_id) = kms_key_id {
        if env_key {
            return Err(ConfigError::Invalid(format!(
                "both a KMS key id and {MASTER_KEY_ENV} are set: choose one master key source"
            )));
        }
        if key_file.is_some() {
            return Err(ConfigError::Invalid(
                "both a KMS key id and a master key file are set: choose one master key source"
                    .into(),
            ));
        }
        let region = nonempty(args.keys.kms_region.clone())
            .or_else(|| nonempty(file.kms_region.clone()))
            .or_else(|| nonempty(std::env::var("AWS_REGION").ok()))
            .or_else(|| nonempty(std::env::var("AWS_DEFAULT_REGION").ok()))
            .ok_or_else(|| {
                ConfigError::Invalid(
                    "a KMS key id is set but no region: give --kms-region (or REVCYCLE_KMS_REGION, AWS_REGION)".into(),
                )
            })?;
        return Ok(MasterKeySource::AwsKms(AwsKmsConfig {
            key_id: key_id.trim().to_string(),
            region: region.trim().to_string(),
            endpoint: nonempty(
                args.keys
                    .kms_endpoint
                    .clone()
                    .or_else(|| file.kms_endpoint.clone()),
            ),
        }));
    }
    if env_key {
        if key_file.is_some() {
            return Err(ConfigError::Invalid(format!(
                "both {MASTER_KEY_ENV} and a master key file are set: choose one master key source"
            )));
        }
        return Ok(MasterKeySource::Env);
    }
    Ok(MasterKeySource::File(
        key_file.unwrap_or_else(|| data_dir.join(MASTER_KEY_FILE)),
    ))
}

pub fn is_loopback(ip: IpAddr) -> bool {
    ip.is_loopback()
}

/// The configuration from the flags `fill` sets over the environment's values for every
/// setting (a command without a group's flags still honours its `REVCYCLE_*` variables).
pub fn load_config(
    fill: impl FnOnce(&mut ConfigArgs),
) -> Result<Config, crate::startup_error::StartupError> {
    let refused = |e: ConfigError| crate::startup_error::StartupError::Refused(e.to_string());
    let mut args = ConfigArgs::from_env().map_err(refused)?;
    fill(&mut args);
    Config::load(&args).map_err(refused)
}

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.into(),
        source,
    })?;
    toml::from_str(&text).map_err(|e| ConfigError::Parse {
        path: path.into(),
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests;
