//! Payer operations: what the host sends a payer plugin and reads back.

use serde::{Deserialize, Serialize};

use super::*;

/// Envelope values an outbound payer operation may set, else the plugin's configuration
/// gives them: the host's interchange control number and the payer's ids.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnvelopeOverrides {
    /// ISA13 and GS06 (1 to 999999999); required to build a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub control_number: Option<u32>,
    /// ISA06/GS02.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender_id: Option<String>,
    /// ISA08/GS03.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_id: Option<String>,
    /// GS04, `CCYYMMDD` (today when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// GS05, `HHMM` (now when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// The input of a payer plugin's `submit_claims`: one 837P interchange for the claims.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SubmitClaimsInput {
    pub claims: Vec<ClaimSubmission>,
    #[serde(flatten)]
    pub envelope: EnvelopeOverrides,
    /// SBR09 of the claims that give none ([`ClaimSubmission::claim_filing_indicator`]);
    /// `CI` when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_filing_indicator: Option<String>,
    /// 1000B NM103 for this file (the configured receiver name otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver_name: Option<String>,
}

/// The input of a payer plugin's `check_eligibility`: requests to build a 270 from, or
/// `x12`, a 271 to read.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct CheckEligibilityInput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<EligibilityRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x12: Option<String>,
    #[serde(flatten)]
    pub envelope: EnvelopeOverrides,
}

/// The input of a payer plugin's `claim_status`: requests to build a 276 from, or `x12`,
/// a 277 (or 277CA) to read.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClaimStatusInput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<ClaimStatusRequest>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x12: Option<String>,
    #[serde(flatten)]
    pub envelope: EnvelopeOverrides,
}

/// An element error of a 999 (IK4). IK404, the bad value, is never carried.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AckElementError {
    /// IK401-1.
    pub position: u32,
    /// IK401-2.
    pub component: Option<u32>,
    /// IK402.
    pub element_reference: Option<String>,
    /// IK403.
    pub code: String,
}

/// A segment error of a 999 (IK3 with its IK4s).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AckSegmentError {
    /// IK301.
    pub segment_id: String,
    /// IK302: position in the transaction set (ST is 1).
    pub position: u32,
    /// IK303.
    pub loop_id: Option<String>,
    /// IK304.
    pub code: String,
    pub elements: Vec<AckElementError>,
}

/// A 999's verdict on one transaction set (AK2..IK5).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct TransactionSetAck {
    /// AK201 (`837`).
    pub transaction_id: String,
    /// AK202: the ST02 it answers.
    pub control_number: String,
    /// AK203.
    pub implementation: Option<String>,
    /// IK501: `A` accepted, `E` accepted with errors, `R` rejected, `M`, `W`, `X`.
    pub status: String,
    /// IK501 is `A` or `E`.
    pub accepted: bool,
    /// IK502..IK506.
    pub codes: Vec<String>,
    pub errors: Vec<AckSegmentError>,
}

/// A 999 for one functional group (AK1..AK9).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FunctionalGroupAck {
    /// AK101 (`HC` for 837s).
    pub functional_id: String,
    /// AK102: the GS06 it answers.
    pub group_control_number: String,
    /// AK103.
    pub version: Option<String>,
    /// AK901: `A`, `E`, `P` (partially accepted), `R`.
    pub status: String,
    /// AK901 is `A`, `E` or `P`.
    pub accepted: bool,
    /// AK902..AK904.
    pub included: u32,
    pub received: u32,
    pub accepted_count: u32,
    /// AK905..AK909.
    pub codes: Vec<String>,
    pub transactions: Vec<TransactionSetAck>,
}

/// A TA1 interchange acknowledgment.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct InterchangeAck {
    /// TA101: the ISA13 it answers.
    pub control_number: String,
    /// TA102 (`YYMMDD`).
    pub date: String,
    /// TA103 (`HHMM`).
    pub time: String,
    /// TA104: `A` accepted, `E` accepted with errors, `R` rejected.
    pub status: String,
    /// TA105 note code (`000` no error...).
    pub note_code: String,
    /// TA104 is `A` or `E`.
    pub accepted: bool,
}

/// The output of a payer plugin's `parse_ack`: the TA1s and 999s of a file, and its
/// envelopes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Acknowledgments {
    pub ta1: Vec<InterchangeAck>,
    pub ack999: Vec<FunctionalGroupAck>,
    pub interchanges: Vec<InterchangeEnvelope>,
}

/// The output of a payer plugin's `submit_claims`: the 837P, the receipt of its claims,
/// and its envelopes as written.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmitClaimsOutput {
    pub x12: String,
    #[serde(default)]
    pub receipt: SubmissionReceipt,
    #[serde(flatten)]
    pub envelopes: Envelopes,
}

/// The output of `check_eligibility` and `claim_status` given requests: the 270 or 276,
/// and its envelopes as written.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestX12 {
    pub x12: String,
    #[serde(flatten)]
    pub envelopes: Envelopes,
}

/// The output of `parse_remittance`: the 835's remittances, and its envelopes as read.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParsedRemittances {
    pub remittances: Vec<Remittance>,
    #[serde(flatten)]
    pub envelopes: Envelopes,
}

/// The output of `claim_status` given a 277 or 277CA: its answers, and its envelopes.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimStatusAnswers {
    pub responses: Vec<ClaimStatusResponse>,
    #[serde(flatten)]
    pub envelopes: Envelopes,
}

/// The output of `check_eligibility` given a 271: its answers, and its envelopes.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibilityAnswers {
    pub responses: Vec<EligibilityResponse>,
    #[serde(flatten)]
    pub envelopes: Envelopes,
}
