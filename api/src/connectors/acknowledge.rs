//! Telling an EHR plugin what became of each record it emitted, so it can acknowledge the
//! feed truthfully (HL7 v2: MSA-1 AA only when every record of a message was applied). The
//! host stays format-agnostic: it hands back the plugin's opaque `ack_context` with one
//! outcome per record, each refusal as a JSON pointer into the canonical record the plugin
//! emitted (the REST field names the record was checked under are translated back).

use revcycle_connector_abi::canonical::{
    AcknowledgeInput, FieldError, FieldErrorKind, OutcomeStatus, RecordOutcome, SCHEMA_VERSION,
};

use crate::connectors::import::{RecordResult, RecordStatus};

/// A REST input member (as checked by core) and the canonical pointer it was built from.
const PATIENT: &[(&str, &str)] = &[
    ("/family_name", "/name/family"),
    ("/given_name", "/name/given/0"),
    ("/middle_name", "/name/given/1"),
    ("/external_ids", "/external_id"),
];
const COVERAGE: &[(&str, &str)] = &[
    ("/patient_id", "/patient_external_id"),
    ("/payer_id", "/payer/payer_id"),
    ("/subscriber/family_name", "/subscriber/name/family"),
    ("/subscriber/given_name", "/subscriber/name/given/0"),
    ("/effective_from", "/period/start"),
    ("/effective_to", "/period/end"),
];
const ENCOUNTER: &[(&str, &str)] = &[
    ("/patient_id", "/patient_external_id"),
    ("/coverage_id", ""),
    ("/billing_provider_id", "/billing_provider_npi"),
    ("/rendering_provider_id", "/rendering_provider_npi"),
    ("/service_date_from", "/date_of_service"),
    ("/service_date_to", "/end_date"),
    ("/lines", "/service_lines"),
];

/// The canonical pointer for a pointer in the REST input of a `record_type` record. Members
/// named alike in both (`/birth_date`, `/diagnoses/0`) and pointers that are already
/// canonical pass through.
pub fn canonical_pointer(record_type: &str, pointer: &str) -> String {
    let table = match record_type {
        "patient" => PATIENT,
        "coverage" => COVERAGE,
        "encounter" => ENCOUNTER,
        _ => &[],
    };
    for (rest, canonical) in table {
        if let Some(tail) = pointer.strip_prefix(rest)
            && (tail.is_empty() || tail.starts_with('/'))
        {
            // A value inside an address or an external id is reported on the whole member.
            let keep_tail = !matches!(*rest, "/external_ids");
            return if keep_tail {
                format!("{canonical}{tail}")
            } else {
                (*canonical).to_string()
            };
        }
    }
    pointer.to_string()
}

/// What kind of refusal a host message is.
fn kind_of(message: &str) -> FieldErrorKind {
    if message.contains("is set up")
        || message.contains("not set up")
        || message.contains("has not been imported")
        || message.contains("not found")
    {
        FieldErrorKind::UnknownReference
    } else if message.contains("is on a claim") {
        FieldErrorKind::Locked
    } else if message.contains("could not be stored") {
        FieldErrorKind::Internal
    } else if message.contains("names no")
        || message.contains("required")
        || message.contains("missing")
    {
        FieldErrorKind::Missing
    } else {
        FieldErrorKind::Invalid
    }
}

/// Splits `"/a: rule; /b: rule"` (the import's reason format) into pointer and rule.
fn split_reason(reason: &str) -> Vec<(String, String)> {
    reason
        .split("; ")
        .map(|part| match part.split_once(": ") {
            Some((pointer, message)) if pointer.starts_with('/') && !pointer.contains(' ') => {
                (pointer.to_string(), message.to_string())
            }
            _ => (String::new(), part.to_string()),
        })
        .collect()
}

/// One record's outcome in the ABI's terms.
pub fn outcome(result: &RecordResult) -> RecordOutcome {
    let field_error = |pointer: &str, message: String| FieldError {
        pointer: canonical_pointer(result.record_type, pointer),
        kind: kind_of(&message),
        message,
    };
    RecordOutcome {
        index: result.index as u64,
        status: match result.status {
            RecordStatus::Created => OutcomeStatus::Created,
            RecordStatus::Updated => OutcomeStatus::Updated,
            RecordStatus::Unchanged => OutcomeStatus::Unchanged,
            RecordStatus::Rejected => OutcomeStatus::Rejected,
        },
        errors: result
            .reason
            .as_deref()
            .map(split_reason)
            .unwrap_or_default()
            .into_iter()
            .map(|(pointer, message)| field_error(&pointer, message))
            .collect(),
        warnings: result
            .warnings
            .iter()
            .map(|w| match w.split_once(" dropped: ") {
                Some((pointer, message)) => field_error(pointer, message.to_string()),
                None => field_error("", w.clone()),
            })
            .collect(),
    }
}

/// The input of the plugin's acknowledge operation.
pub fn input(context: serde_json::Value, results: &[RecordResult]) -> AcknowledgeInput {
    AcknowledgeInput {
        schema_version: SCHEMA_VERSION,
        context,
        outcomes: results.iter().map(outcome).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(record_type: &'static str, reason: Option<&str>, warnings: &[&str]) -> RecordResult {
        RecordResult {
            index: 3,
            record_type,
            status: if reason.is_some() {
                RecordStatus::Rejected
            } else {
                RecordStatus::Updated
            },
            id: None,
            reason: reason.map(str::to_string),
            warnings: warnings.iter().map(|w| w.to_string()).collect(),
        }
    }

    #[test]
    fn refusals_point_into_the_canonical_record() {
        let o = outcome(&result(
            "encounter",
            Some(
                "/lines/1/charge: must be greater than zero; /billing_provider_npi: no provider with this NPI is set up (POST /v1/providers); /service_date_from: must not be more than a year in the future",
            ),
            &[],
        ));
        assert_eq!(o.index, 3);
        assert_eq!(o.status, OutcomeStatus::Rejected);
        let got: Vec<(&str, FieldErrorKind)> = o
            .errors
            .iter()
            .map(|e| (e.pointer.as_str(), e.kind))
            .collect();
        assert_eq!(
            got,
            [
                ("/service_lines/1/charge", FieldErrorKind::Invalid),
                ("/billing_provider_npi", FieldErrorKind::UnknownReference),
                ("/date_of_service", FieldErrorKind::Invalid),
            ]
        );
        let o = outcome(&result(
            "encounter",
            Some("/billing_provider_npi: the encounter names no billing provider"),
            &[],
        ));
        assert_eq!(o.errors[0].kind, FieldErrorKind::Missing);
        let o = outcome(&result(
            "patient",
            None,
            &["/phone dropped: must be 10 digits"],
        ));
        assert_eq!(o.status, OutcomeStatus::Updated);
        assert!(o.errors.is_empty());
        assert_eq!(o.warnings[0].pointer, "/phone");
        assert_eq!(o.warnings[0].message, "must be 10 digits");
        let o = outcome(&result("patient", Some("/family_name: is required"), &[]));
        assert_eq!(o.errors[0].pointer, "/name/family");
        let o = outcome(&result("coverage", Some("could not be stored"), &[]));
        assert_eq!(o.errors[0].pointer, "");
        assert_eq!(o.errors[0].kind, FieldErrorKind::Internal);
        assert_eq!(
            canonical_pointer("coverage", "/subscriber/address/zip"),
            "/subscriber/address/zip"
        );
        assert_eq!(
            canonical_pointer("patient", "/external_ids/0/value"),
            "/external_id"
        );
    }
}
