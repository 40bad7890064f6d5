//! What became of each record of an import, and why a record was refused.

use revcycle_core::error::CoreError;
use serde::Serialize;
use uuid::Uuid;

use crate::problem::ApiError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    Created,
    Updated,
    Unchanged,
    Rejected,
}

/// What became of one record of the feed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordResult {
    /// The record's place in the plugin's output, from 0.
    pub index: usize,
    /// `patient`, `coverage` or `encounter`.
    #[serde(rename = "type")]
    pub record_type: &'static str,
    pub status: RecordStatus,
    /// Our record's id (absent when rejected).
    pub id: Option<Uuid>,
    /// Why it was rejected: the rule broken and where, never a value.
    pub reason: Option<String>,
    /// Optional values left out because they broke a rule (the rest of the record was kept).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ImportCounts {
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub rejected: usize,
}

/// Counts by status.
pub fn counts(results: &[RecordResult]) -> ImportCounts {
    let mut c = ImportCounts::default();
    for r in results {
        match r.status {
            RecordStatus::Created => c.created += 1,
            RecordStatus::Updated => c.updated += 1,
            RecordStatus::Unchanged => c.unchanged += 1,
            RecordStatus::Rejected => c.rejected += 1,
        }
    }
    c
}

pub fn rejected(index: usize, record_type: &'static str, reason: String) -> RecordResult {
    RecordResult {
        index,
        record_type,
        status: RecordStatus::Rejected,
        id: None,
        reason: Some(reason),
        warnings: Vec::new(),
    }
}

/// A refusal reason fit to return: pointer and rule, never the value.
pub fn reason_of(e: &CoreError) -> String {
    match e {
        CoreError::Invalid(errors) => errors
            .iter()
            .map(|f| format!("{}: {}", f.pointer, f.message))
            .collect::<Vec<_>>()
            .join("; "),
        CoreError::NotFound { resource } => format!("{resource} not found"),
        CoreError::Conflict(m) => m.clone(),
        _ => "could not be stored".into(),
    }
}

pub fn api_reason(e: ApiError) -> String {
    match e {
        ApiError::Core(c) => reason_of(&c),
        other => other.to_string(),
    }
}
