//! X12 envelopes (ISA, GS, ST) as a plugin read or wrote them.

use serde::{Deserialize, Serialize};

/// A transaction set's header (ST) as the plugin read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionSetHeader {
    /// ST01: `835`, `999`, `277`...
    pub id: String,
    /// ST02.
    pub control_number: String,
    /// ST03, when present (`005010X221A1`).
    pub implementation: Option<String>,
}

/// A functional group (GS) as the plugin read it, with its transaction sets in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionalGroupHeader {
    /// GS01: `HP`, `FA`, `HN`...
    pub functional_id: String,
    /// GS02.
    pub sender_code: String,
    /// GS03.
    pub receiver_code: String,
    /// GS06.
    pub control_number: String,
    /// GS08.
    pub version: String,
    pub transactions: Vec<TransactionSetHeader>,
}

/// An interchange (ISA) as the plugin read it: who sent it to whom, its control number and
/// whether it is a production file, so the host never reads X12 bytes itself. No PHI.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterchangeEnvelope {
    /// ISA05/ISA06.
    pub sender_qualifier: String,
    pub sender_id: String,
    /// ISA07/ISA08.
    pub receiver_qualifier: String,
    pub receiver_id: String,
    /// ISA13.
    pub control_number: String,
    /// ISA15: `P` production, `T` test.
    pub usage_indicator: String,
    /// The interchange carries a TA1 (interchange acknowledgment).
    pub ta1: bool,
    pub groups: Vec<FunctionalGroupHeader>,
}

impl InterchangeEnvelope {
    /// GS06 of the first functional group.
    pub fn group_control_number(&self) -> Option<&str> {
        self.groups.first().map(|g| g.control_number.as_str())
    }

    /// ST01 of the first transaction set (`835`, `999`, `277`...), or `TA1` for an
    /// interchange that carries only a TA1.
    pub fn transaction_kind(&self) -> Option<&str> {
        self.groups
            .iter()
            .flat_map(|g| &g.transactions)
            .map(|t| t.id.as_str())
            .next()
            .or(self.ta1.then_some("TA1"))
    }
}

/// The envelopes of a received file (`read_envelope`), or of the X12 a parse operation read
/// (its `interchanges`), in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Envelopes {
    pub interchanges: Vec<InterchangeEnvelope>,
}

impl Envelopes {
    /// ISA13 of the first interchange and GS06 of the first functional group, when the
    /// file has them.
    pub fn control_numbers(&self) -> (Option<String>, Option<String>) {
        (
            self.interchanges.first().map(|i| i.control_number.clone()),
            self.interchanges
                .iter()
                .flat_map(|i| &i.groups)
                .map(|g| g.control_number.clone())
                .next(),
        )
    }

    /// ST01 of the file's first transaction set (`835`, `999`, `277`...), or `TA1` for a
    /// file that carries only TA1s.
    pub fn transaction_kind(&self) -> Option<&str> {
        self.interchanges
            .iter()
            .flat_map(|i| &i.groups)
            .flat_map(|g| &g.transactions)
            .map(|t| t.id.as_str())
            .next()
            .or(self.interchanges.iter().any(|i| i.ta1).then_some("TA1"))
    }
}
