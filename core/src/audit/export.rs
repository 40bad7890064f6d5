//! Audit events as compliance officers receive them: the JSON record of the API, and the three
//! export formats (NDJSON, CSV, a FHIR R4 `Bundle` of `AuditEvent`), each written one event at
//! a time so an export streams.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use super::chain::ChainedEvent;
use super::event::{Outcome, SYSTEM_ORG};

/// One audit event, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"sequence": 42, "id": "01938f3e-7a10-7cc2-9a4e-3b1f5e0c2d11",
    "occurred_at": "2026-12-02T09:30:00.123456Z", "actor": "user-17", "roles": ["biller"],
    "client_id": "billing-app", "purpose_of_use": "HPAYMT", "action": "read",
    "resource_type": "Patient", "resource_id": "01938f3e-0000-7000-8000-000000000001",
    "patient_ids": ["01938f3e-0000-7000-8000-000000000001"],
    "fields_disclosed": ["birth_date", "family_name", "given_name", "mrn", "sex", "ssn_last4"],
    "outcome": "success", "http_status": 200, "request_id": "01938f3e-7a10-7cc2-9a4e-3b1f5e0c2d12",
    "source_ip": "10.0.0.7", "user_agent": "billing-app/2.1", "break_glass": false,
    "break_glass_reason": null,
    "prev_hash": "5f1c0e8e4b7a9d2c3e6f8a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5",
    "hash": "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"}))]
pub struct AuditRecord {
    /// Position in the organization's hash chain (1, 2, ...).
    pub sequence: i64,
    pub id: Uuid,
    pub occurred_at: DateTime<Utc>,
    /// The token's `sub`; `-` when the caller could not be identified.
    pub actor: String,
    pub roles: Vec<String>,
    pub client_id: Option<String>,
    /// HL7 PurposeOfUse code from the token.
    pub purpose_of_use: Option<String>,
    /// `read`, `search`, `create`, `update`, `void`, `export`, `post`, `submit`, or a named
    /// operation such as `audit.verify`, `keys.rotate`.
    pub action: String,
    pub resource_type: Option<String>,
    pub resource_id: Option<String>,
    /// Every patient whose data the request touched (all patients a search returned).
    pub patient_ids: Vec<Uuid>,
    /// Names of the PHI fields that left the system, after masking. Never values.
    pub fields_disclosed: Vec<String>,
    pub outcome: Outcome,
    pub http_status: u16,
    pub request_id: Option<String>,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub break_glass: bool,
    /// The stated reason of a break-glass access (stored encrypted; shown to compliance
    /// officers and admins only).
    pub break_glass_reason: Option<String>,
    /// Hex SHA-256 of the previous event (or of the org's genesis value).
    pub prev_hash: String,
    /// Hex SHA-256 over `prev_hash` and this event's canonical encoding.
    pub hash: String,
}

impl AuditRecord {
    /// `reason` is the opened break-glass reason, if the caller may see it.
    pub fn new(c: ChainedEvent, reason: Option<String>) -> AuditRecord {
        let break_glass = c.event.break_glass();
        let e = c.event;
        AuditRecord {
            sequence: c.sequence,
            id: e.id,
            occurred_at: e.occurred_at,
            actor: e.actor,
            roles: e.roles,
            client_id: e.client_id,
            purpose_of_use: e.purpose_of_use,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            patient_ids: e.patient_ids,
            fields_disclosed: e.fields_disclosed,
            outcome: e.outcome,
            http_status: e.http_status,
            request_id: e.request_id,
            source_ip: e.source_ip,
            user_agent: e.user_agent,
            break_glass,
            break_glass_reason: reason,
            prev_hash: hex::encode(c.prev_hash),
            hash: hex::encode(c.hash),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One JSON record per line (`application/x-ndjson`).
    Ndjson,
    /// RFC 4180 CSV with a header row (`text/csv`).
    Csv,
    /// A FHIR R4 `Bundle` (type `collection`) of `AuditEvent` resources (`application/fhir+json`).
    Fhir,
}

impl ExportFormat {
    pub fn parse(s: &str) -> Option<ExportFormat> {
        match s {
            "ndjson" => Some(ExportFormat::Ndjson),
            "csv" => Some(ExportFormat::Csv),
            "fhir" => Some(ExportFormat::Fhir),
            _ => None,
        }
    }

    pub fn content_type(&self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "application/x-ndjson",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Fhir => "application/fhir+json",
        }
    }

    pub fn extension(&self) -> &'static str {
        match self {
            ExportFormat::Ndjson => "ndjson",
            ExportFormat::Csv => "csv",
            ExportFormat::Fhir => "json",
        }
    }
}

const CSV_COLUMNS: [&str; 22] = [
    "sequence",
    "id",
    "occurred_at",
    "actor",
    "roles",
    "client_id",
    "purpose_of_use",
    "action",
    "resource_type",
    "resource_id",
    "patient_ids",
    "fields_disclosed",
    "outcome",
    "http_status",
    "request_id",
    "source_ip",
    "user_agent",
    "break_glass",
    "break_glass_reason",
    "prev_hash",
    "hash",
    "org",
];

/// Writes an export one event at a time: `start`, then `event` per event, then `finish`.
pub struct Exporter {
    format: ExportFormat,
    org: Uuid,
    written: u64,
}

impl Exporter {
    pub fn new(format: ExportFormat, org: Uuid) -> Exporter {
        Exporter {
            format,
            org,
            written: 0,
        }
    }

    pub fn written(&self) -> u64 {
        self.written
    }

    pub fn start(&self) -> Vec<u8> {
        match self.format {
            ExportFormat::Ndjson => Vec::new(),
            ExportFormat::Csv => csv_row(CSV_COLUMNS.iter().map(|c| c.to_string())),
            ExportFormat::Fhir => format!(
                "{{\"resourceType\":\"Bundle\",\"id\":\"{}\",\"type\":\"collection\",\"timestamp\":\"{}\"",
                Uuid::now_v7(),
                Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
            )
            .into_bytes(),
        }
    }

    pub fn event(&mut self, r: &AuditRecord) -> Vec<u8> {
        let first = self.written == 0;
        self.written += 1;
        match self.format {
            ExportFormat::Ndjson => {
                let mut line = serde_json::to_vec(r).unwrap_or_default();
                line.push(b'\n');
                line
            }
            ExportFormat::Csv => csv_row(csv_fields(r, self.org)),
            ExportFormat::Fhir => {
                // FHIR forbids empty arrays, so `entry` opens with the first event.
                let mut out = if first {
                    b",\"entry\":[".to_vec()
                } else {
                    b",".to_vec()
                };
                let entry = json!({
                    "fullUrl": format!("urn:uuid:{}", r.id),
                    "resource": fhir_audit_event(r, self.org),
                });
                out.extend(serde_json::to_vec(&entry).unwrap_or_default());
                out
            }
        }
    }

    pub fn finish(&self) -> Vec<u8> {
        match self.format {
            ExportFormat::Ndjson | ExportFormat::Csv => Vec::new(),
            ExportFormat::Fhir if self.written == 0 => b"}".to_vec(),
            ExportFormat::Fhir => b"]}".to_vec(),
        }
    }
}

fn csv_fields(r: &AuditRecord, org: Uuid) -> Vec<String> {
    let list = |v: &[String]| v.join(" ");
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        r.sequence.to_string(),
        r.id.to_string(),
        r.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        r.actor.clone(),
        list(&r.roles),
        opt(&r.client_id),
        opt(&r.purpose_of_use),
        r.action.clone(),
        opt(&r.resource_type),
        opt(&r.resource_id),
        r.patient_ids
            .iter()
            .map(Uuid::to_string)
            .collect::<Vec<_>>()
            .join(" "),
        list(&r.fields_disclosed),
        r.outcome.as_str().to_string(),
        r.http_status.to_string(),
        opt(&r.request_id),
        opt(&r.source_ip),
        opt(&r.user_agent),
        r.break_glass.to_string(),
        opt(&r.break_glass_reason),
        r.prev_hash.clone(),
        r.hash.clone(),
        org.to_string(),
    ]
}

/// One RFC 4180 record: CRLF-terminated, fields quoted when they hold a comma, quote, CR or LF.
fn csv_row(fields: impl IntoIterator<Item = String>) -> Vec<u8> {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail.
    let _ = w.write_record(fields.into_iter().collect::<Vec<_>>());
    w.into_inner().unwrap_or_default()
}

/// The FHIR R4 `AuditEvent` for one event (https://hl7.org/fhir/R4/auditevent.html).
pub fn fhir_audit_event(r: &AuditRecord, org: Uuid) -> Value {
    // RESTful interaction and the CRUDE action code for each of our actions.
    let (interaction, action) = match r.action.as_str() {
        "read" => ("read", "R"),
        "search" => ("search-type", "E"),
        "create" => ("create", "C"),
        "update" => ("update", "U"),
        "void" => ("delete", "D"),
        _ => ("operation", "E"),
    };
    // 0 success, 4 minor failure (refused or invalid request), 8 serious failure (our fault).
    let outcome = match (r.outcome, r.http_status) {
        (Outcome::Success, _) => "0",
        (_, s) if s >= 500 => "8",
        _ => "4",
    };
    let mut agent = json!({
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type",
            "code": "humanuser", "display": "human user"}]},
        "who": {"identifier": {"system": "urn:revcycle:token-subject", "value": r.actor}},
        "requestor": true,
    });
    if !r.roles.is_empty() {
        agent["role"] = Value::Array(r.roles.iter().map(|role| json!({"text": role})).collect());
    }
    if let Some(client) = &r.client_id {
        agent["altId"] = json!(client);
    }
    if let Some(ip) = &r.source_ip {
        // Network access point type 2: an IP address.
        agent["network"] = json!({"address": ip, "type": "2"});
    }
    if let Some(p) = &r.purpose_of_use {
        agent["purposeOfUse"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": p}]}]);
    }
    let mut entities: Vec<Value> = r
        .patient_ids
        .iter()
        .map(|p| {
            json!({
                "what": {"reference": format!("Patient/{p}")},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
                    "code": "1", "display": "Person"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
                    "code": "1", "display": "Patient"},
            })
        })
        .collect();
    let mut details = vec![
        json!({"type": "sequence", "valueString": r.sequence.to_string()}),
        json!({"type": "prev_hash", "valueString": r.prev_hash}),
        json!({"type": "hash", "valueString": r.hash}),
        json!({"type": "http_status", "valueString": r.http_status.to_string()}),
    ];
    if !r.fields_disclosed.is_empty() {
        details
            .push(json!({"type": "fields_disclosed", "valueString": r.fields_disclosed.join(" ")}));
    }
    if let Some(rid) = &r.request_id {
        details.push(json!({"type": "request_id", "valueString": rid}));
    }
    if let Some(ua) = &r.user_agent {
        details.push(json!({"type": "user_agent", "valueString": ua}));
    }
    if let Some(reason) = &r.break_glass_reason {
        details.push(json!({"type": "break_glass_reason", "valueString": reason}));
    }
    let mut record = json!({
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type",
            "code": "2", "display": "System Object"},
        "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role",
            "code": "4", "display": "Domain Resource"},
        "detail": details,
    });
    match (&r.resource_type, &r.resource_id) {
        (Some(t), Some(id)) => record["what"] = json!({"reference": format!("{t}/{id}")}),
        (Some(t), None) => record["name"] = json!(t),
        _ => {}
    }
    entities.push(record);
    let mut event = json!({
        "resourceType": "AuditEvent",
        "id": r.id.to_string(),
        "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest", "display": "RESTful Operation"},
        "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": interaction}],
        "action": action,
        "recorded": r.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
        "outcome": outcome,
        "outcomeDesc": format!("{} (HTTP {}): {}", r.outcome.as_str(), r.http_status, r.action),
        "agent": [agent],
        "source": {
            "site": if org == SYSTEM_ORG { "system".to_string() } else { org.to_string() },
            "observer": {"display": "revcycle"},
            "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type",
                "code": "4", "display": "Application Server"}],
        },
        "entity": entities,
    });
    if r.break_glass {
        event["purposeOfEvent"] = json!([{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "ETREAT",
            "display": "Emergency Treatment"}], "text": "break-glass access"}]);
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditEvent, ChainedEvent};

    fn record(actor: &str) -> AuditRecord {
        let mut e = AuditEvent::now(Uuid::from_u128(9), actor, "read");
        e.http_status = 200;
        e.fields_disclosed = vec!["mrn".into()];
        AuditRecord::new(ChainedEvent::append(None, e), None)
    }

    #[test]
    fn csv_quotes_per_rfc_4180_and_ends_lines_with_crlf() {
        let mut x = Exporter::new(ExportFormat::Csv, Uuid::from_u128(9));
        let head = String::from_utf8(x.start()).unwrap();
        assert!(head.starts_with("sequence,id,occurred_at,actor,"));
        assert!(head.ends_with("org\r\n"));
        let row = String::from_utf8(x.event(&record("o'neil, \"dr\"\nx"))).unwrap();
        assert!(row.contains(",\"o'neil, \"\"dr\"\"\nx\","), "{row}");
        assert!(row.ends_with("\r\n"));
    }

    #[test]
    fn an_empty_fhir_bundle_has_no_empty_entry_array() {
        let x = Exporter::new(ExportFormat::Fhir, Uuid::from_u128(9));
        let doc = [x.start(), x.finish()].concat();
        let v: Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["resourceType"], "Bundle");
        assert!(v.get("entry").is_none());

        let mut x = Exporter::new(ExportFormat::Fhir, Uuid::from_u128(9));
        let mut doc = x.start();
        doc.extend(x.event(&record("a")));
        doc.extend(x.event(&record("b")));
        doc.extend(x.finish());
        let v: Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["entry"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["entry"][1]["resource"]["agent"][0]["who"]["identifier"]["value"],
            "b"
        );
        assert_eq!(v["entry"][0]["resource"]["action"], "R");
    }
}
