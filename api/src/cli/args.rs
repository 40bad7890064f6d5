//! The command line's commands and their options. Each command takes only the settings it
//! uses as flags (`serve` all of them, see [`ConfigArgs`]); the code that runs them is in the
//! parent module.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use revcycle_core::access::Role;
use uuid::Uuid;

use crate::config::{AuditTrailArgs, ConfigArgs, ConfigFileArgs, MasterKeyArgs, StoreArgs};

#[derive(Debug, Parser)]
#[command(
    name = "revcycle",
    version,
    about = "Revenue-cycle API for US medical billing",
    after_help = "Each command lists its own options: revcycle <COMMAND> --help"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Each command takes only the settings it uses (`serve` all of them); settings it has no flags
// for still come from the environment and the configuration file (see `load_config`).
#[derive(Debug, Subcommand)]
// Parsed once per process: the size of the largest variant (every server setting) costs nothing.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Start the API server (HTTPS; a development certificate is made on first run on loopback).
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DatabaseArgs),
    /// Print the OpenAPI document (or write it to a file).
    Openapi {
        /// File to write (default: standard output).
        #[arg(long)]
        output: Option<PathBuf>,
    },
    /// Print a development bearer token (signed with the local key; not in jwks mode).
    Token(TokenArgs),
    /// Manage organizations (tenants).
    Org(OrgArgs),
    /// Manage encryption keys: re-wrap under a new master key, rotate data keys.
    Keys(KeysArgs),
    /// Verify, checkpoint, reindex, export and purge the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage connector plugins: pin their files' SHA-256 in connectors.toml.
    #[command(subcommand)]
    Connectors(ConnectorsCommand),
    /// Follow an organization's events (the outbox webhooks and NATS are fed from).
    #[command(subcommand)]
    Events(EventsCommand),
    /// Maintain the shipped code sets.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Patient statements: issue a statement cycle.
    #[command(subcommand)]
    Statements(StatementsCommand),
}

#[derive(Debug, Subcommand)]
pub enum StatementsCommand {
    /// Issue today's statements: one to every patient with a patient balance who has had none
    /// within the statement profile's cycle, as `POST /v1/statement-runs` does, with progress.
    ///
    /// One transaction per organization; prints the counts (no patient data).
    Run {
        /// The organization.
        #[arg(long)]
        org: Uuid,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// What a command that opens the database and the key ring needs.
#[derive(Debug, Clone, clap::Args)]
pub struct DatabaseArgs {
    #[command(flatten)]
    pub file: ConfigFileArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub keys: MasterKeyArgs,
}

#[derive(Debug, clap::Args)]
pub struct OrgArgs {
    #[command(subcommand)]
    pub command: OrgCommand,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    #[command(subcommand)]
    pub command: KeysCommand,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

#[derive(Debug, Subcommand)]
pub enum ConnectorsCommand {
    /// Write the SHA-256 of each configured plugin file into connectors.toml.
    ///
    /// Reads the `connectors.toml` the server would load (--connectors, REVCYCLE_CONNECTORS or
    /// `connectors` in the configuration file), hashes the file each `[[connector]]` names
    /// (relative paths from the file's directory) and sets its `sha256`, keeping comments and
    /// everything else as written. Nothing is loaded or run. Pin only files you built or
    /// checked yourself: the server then loads exactly those bytes and refuses any other.
    Pin(crate::cli::connectors::PinArgs),
}

#[derive(Debug, Subcommand)]
pub enum EventsCommand {
    /// Print each new event of an organization as one JSON line, as it commits.
    ///
    /// The line is the event's thin envelope (`id`, `type`, `version`, `timestamp`, `data`),
    /// the same document webhooks and NATS get: ids, statuses and amounts, never patient
    /// data. Starts from now, or from --since; runs until interrupted (Ctrl-C ends it
    /// quietly). Recorded as an `events.tail` audit event of the organization.
    Tail {
        /// Organization: its id or its name (see `revcycle org list`).
        #[arg(long)]
        org: String,
        /// Print the events that committed from this time on first (RFC 3339 or a
        /// YYYY-MM-DD date, midnight UTC).
        #[arg(long, value_parser = parse_instant)]
        since: Option<chrono::DateTime<chrono::Utc>>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Rebuild the embedded ICD-10-CM data file from a CMS order file.
    ///
    /// The order file is CMS's `icd10cm_order_YYYY.txt`; rebuild the binary afterwards.
    RebuildIcd10cm {
        /// The CMS order file.
        #[arg(long)]
        from: PathBuf,
        /// The data file to write (e.g. core/data/icd10cm-2027.tsv.gz).
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chains and check them against the published checkpoints.
    ///
    /// Reports the first broken link of each chain (exit status 1 if any chain is broken).
    /// Also checks each chain against its latest published checkpoint (the checkpoint
    /// directory, or --checkpoint): a trail shorter than the checkpoint, or with another root
    /// at its size, is reported with the first missing sequence. And recomputes the patient
    /// index from the events: links missing or extra are reported.
    Verify {
        /// Only this organization's chain (default: every chain, the system chain included;
        /// the system chain's id is 00000000-0000-0000-0000-000000000000).
        #[arg(long)]
        org: Option<Uuid>,
        /// A signed checkpoint to check against instead of the published ones (its origin
        /// names the org).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// The verifier key (`name+id+key`) the checkpoints must be signed with (default: the
        /// configured checkpoint key file's).
        #[arg(long)]
        key: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        trail: AuditTrailArgs,
    },
    /// Sign and publish a checkpoint of each org's audit tree now.
    Checkpoint {
        /// Only this organization's tree.
        #[arg(long)]
        org: Option<Uuid>,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        trail: AuditTrailArgs,
    },
    /// Check an inclusion proof offline (no database, no server).
    ///
    /// The event's canonical bytes hash to the leaf, the proof leads to the root, and the
    /// signed checkpoint of that size states the root under the given key.
    VerifyProof {
        /// The proof, as `GET /v1/audit-events/{sequence}/proof` returns it (JSON).
        #[arg(long)]
        proof: std::path::PathBuf,
        /// The signed checkpoint (default: the one inside the proof).
        #[arg(long)]
        checkpoint: Option<std::path::PathBuf>,
        /// The verifier key (`name+id+key`) you trust.
        #[arg(long)]
        key: String,
    },
    /// Rebuild the audit trail's patient index from the events.
    ///
    /// Restores the links `verify` reports missing, with a progress bar.
    Reindex {
        /// Only this organization's chain (default: every chain).
        #[arg(long)]
        org: Option<Uuid>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Export an organization's audit events for offline work, with a progress bar.
    Export(AuditExportArgs),
    /// Remove audit events older than the retention period.
    ///
    /// The retention period is --audit-retention-days (six calendar years by default, never
    /// less). Removes the oldest events of each chain up to the first that is not older,
    /// leaving an anchor that verification starts from. Recorded as an `audit.purge` event in
    /// the chain it purged.
    Purge {
        /// Only this organization's chain (default: every chain, the system chain included).
        #[arg(long)]
        org: Option<Uuid>,
        /// Count what would be purged and delete nothing.
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: DatabaseArgs,
        #[command(flatten)]
        trail: AuditTrailArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct AuditExportArgs {
    /// ndjson, csv, or fhir (a FHIR R4 Bundle of AuditEvent resources).
    #[arg(long, value_parser = parse_export_format, default_value = "ndjson")]
    pub format: revcycle_core::audit::ExportFormat,
    /// Organization (may be left out when there is only one).
    #[arg(long)]
    pub org: Option<Uuid>,
    /// Inclusive start, RFC 3339 or a date (YYYY-MM-DD, midnight UTC).
    #[arg(long, value_parser = parse_instant)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Exclusive end, RFC 3339 or a date.
    #[arg(long, value_parser = parse_instant)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// File to write (default: standard output).
    #[arg(long)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub db: DatabaseArgs,
}

fn parse_export_format(s: &str) -> Result<revcycle_core::audit::ExportFormat, String> {
    revcycle_core::audit::ExportFormat::parse(s)
        .ok_or_else(|| "one of ndjson, csv, fhir".to_string())
}

fn parse_instant(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| "an RFC 3339 time or a YYYY-MM-DD date".to_string())
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// PEM certificate chain (with --tls-key).
    #[arg(long, env = "REVCYCLE_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key (with --tls-cert).
    #[arg(long, env = "REVCYCLE_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Serve plain HTTP. Allowed only on a loopback address.
    #[arg(long, env = "REVCYCLE_INSECURE_HTTP")]
    pub insecure_http: bool,
    /// Also accept HL7 v2 over MLLP on this address (loopback only: MLLP has no encryption or
    /// credentials), through the connector named by --mllp-connector.
    #[arg(long, env = "REVCYCLE_MLLP")]
    pub mllp: Option<SocketAddr>,
    /// The HL7 v2 connector MLLP messages go through.
    #[arg(long, env = "REVCYCLE_MLLP_CONNECTOR", default_value = "hl7v2")]
    pub mllp_connector: String,
    /// The organization MLLP messages are imported for (may be left out when there is one).
    #[arg(long, env = "REVCYCLE_MLLP_ORG")]
    pub mllp_org: Option<Uuid>,
    /// Seconds an MLLP sender has to finish a frame it started (start byte sent, end bytes
    /// not yet); the connection is closed after that. Idle connections between frames stay.
    #[arg(long, env = "REVCYCLE_MLLP_FRAME_TIMEOUT_SECS", default_value_t = 30)]
    pub mllp_frame_timeout_secs: u64,
    #[command(flatten)]
    pub config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// Organization id (see `revcycle org list`).
    #[arg(long)]
    pub org: Uuid,
    /// Role(s) to grant: admin, front_desk, coder, biller, compliance_officer, ehr_integration, billing_app.
    #[arg(long = "role", required = true, value_parser = parse_role)]
    pub roles: Vec<Role>,
    /// Subject (user or client) the token stands for, as the audit trail names the actor
    /// [default: dev-<role>, e.g. dev-biller; several roles joined by `+`].
    #[arg(long)]
    pub sub: Option<String>,
    /// SMART-style scopes, space-separated.
    #[arg(long)]
    pub scope: Option<String>,
    /// Lifetime, e.g. 30m, 1h, 7d.
    #[arg(long, default_value = "1h", value_parser = parse_ttl)]
    pub ttl: i64,
    /// The application acting (`client_id`); rate limits are per client.
    #[arg(long)]
    pub client_id: Option<String>,
    /// HL7 PurposeOfUse code, e.g. TREAT, HPAYMT, HOPERAT.
    #[arg(long, value_parser = parse_purpose)]
    pub purpose_of_use: Option<String>,
    #[command(flatten)]
    pub file: ConfigFileArgs,
    /// Directory holding the token-signing key (the database is the configured one:
    /// REVCYCLE_DATABASE_URL, DATABASE_URL, the configuration file, or DATA_DIR/revcycle.db).
    #[arg(long, env = "REVCYCLE_DATA_DIR", help_heading = "Storage")]
    pub data_dir: Option<PathBuf>,
}

/// The subject of a development token that names none: one per role set, so the audit trail
/// tells a biller's requests from a coder's (`dev-admin` is also the first-run token's).
pub fn default_subject(roles: &[Role]) -> String {
    let mut names: Vec<&str> = Vec::new();
    for role in roles {
        if !names.contains(&role.as_str()) {
            names.push(role.as_str());
        }
    }
    format!("dev-{}", names.join("+"))
}

fn parse_purpose(s: &str) -> Result<String, String> {
    if revcycle_core::access::PURPOSES_OF_USE.contains(&s) {
        Ok(s.to_string())
    } else {
        Err(format!(
            "not an HL7 PurposeOfUse code; one of {}",
            revcycle_core::access::PURPOSES_OF_USE.join(", ")
        ))
    }
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Create an organization with its own encryption keys; prints its id.
    Create {
        /// The organization's name (a practice or billing group).
        #[arg(long)]
        name: String,
    },
    /// List organizations (id, name, and `inactive` for a deactivated one).
    List,
    /// Deactivate an organization (its data is kept; its tokens are refused).
    ///
    /// Every token naming it is refused (401) within 30 seconds on every server.
    Deactivate {
        /// The organization's id.
        id: Uuid,
    },
    /// Reactivate a deactivated organization.
    Activate {
        /// The organization's id.
        id: Uuid,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Master-key rotation: re-wrap every organization's keys under a new master key.
    ///
    /// One transaction; the current master key comes from the usual configuration. Stop the
    /// servers first, then start them configured with the new master key.
    Rewrap(RewrapArgs),
    /// Data-key rotation: a new data-key version, and every encrypted value re-encrypted.
    ///
    /// New writes use the new version at once; stored values are re-encrypted under it in
    /// small transactions while servers keep serving. Resumes an interrupted rotation.
    Rotate(RotateArgs),
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    /// Only this organization (default: all).
    #[arg(long)]
    pub org: Option<Uuid>,
    /// Rows per table per transaction.
    #[arg(long, default_value_t = revcycle_core::store::rotation::DEFAULT_BATCH)]
    pub batch_size: i64,
}

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("to").required(true).args(["to_key_file", "to_kms"])))]
pub struct RewrapArgs {
    /// New master key file (created 0600 with a fresh key when missing).
    #[arg(long, value_name = "PATH")]
    pub to_key_file: Option<PathBuf>,
    /// New master key in AWS KMS (key id, ARN or alias).
    #[arg(long, value_name = "KEY_ID")]
    pub to_kms: Option<String>,
    /// Region of the new KMS key (default: the configured KMS region, then AWS_REGION).
    #[arg(long, requires = "to_kms")]
    pub to_kms_region: Option<String>,
    /// Endpoint for the new KMS key (default: the configured KMS endpoint).
    #[arg(long, requires = "to_kms")]
    pub to_kms_endpoint: Option<String>,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| format!("unknown role `{s}`"))
}

/// "90s", "30m", "1h", "7d" -> seconds.
pub fn parse_ttl(s: &str) -> Result<i64, String> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().map_err(|_| format!("bad duration `{s}`"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("bad duration unit in `{s}` (use s, m, h or d)")),
    };
    if n <= 0 {
        return Err("duration must be positive".into());
    }
    Ok(n * mult)
}
