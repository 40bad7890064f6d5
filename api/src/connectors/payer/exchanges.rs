//! A claim's exchange history.

use revcycle_core::access::{Mask, OrgId, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::error::CoreResult;
use revcycle_core::store::x12_exchanges::{self};
use revcycle_core::store::{DbConnection, claims};
use serde::Serialize;
use uuid::Uuid;

/// An acknowledgment or answer to an exchange (999, TA1, 277CA, or a real-time 271/277).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExchangeAck {
    pub id: Uuid,
    /// `999`, `TA1`, `277CA`, `271`, `277`.
    pub transaction_type: String,
    pub file_name: Option<String>,
    pub interchange_control_number: Option<String>,
    pub group_control_number: Option<String>,
    /// `inbox`, `http` or `api`.
    pub transport: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
    /// `processed` or `failed`.
    pub status: String,
    /// What it said (e.g. `999 rejected group 12`), codes and control numbers only.
    pub detail: Option<String>,
}

/// One X12 exchange that involved the claim, without its content.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClaimExchange {
    pub id: Uuid,
    /// `out` (we sent it) or `in` (we received it).
    pub direction: String,
    /// `837`, `835`, `276`, `999`, `TA1`, `277CA`...
    pub transaction_type: String,
    pub file_name: Option<String>,
    /// ISA13.
    pub interchange_control_number: Option<String>,
    /// GS06.
    pub group_control_number: Option<String>,
    /// ST02.
    pub transaction_control_number: Option<String>,
    /// `outbox`, `http`, `inbox` or `api`.
    pub transport: Option<String>,
    pub payer_id: Option<Uuid>,
    /// When it was sent (outbound).
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When it was received (inbound).
    pub received_at: Option<chrono::DateTime<chrono::Utc>>,
    /// `sending`, `sent`, `failed` (outbound); `processed`, `duplicate`, `failed` (inbound).
    pub status: String,
    /// Why it failed or was a duplicate, or what it said: never file content.
    pub detail: Option<String>,
    /// The acknowledgments and answers that referred to this exchange, oldest first.
    pub acks: Vec<ExchangeAck>,
}

/// A claim's X12 exchanges, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"claim_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a07", "items": [{
    "id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "direction": "out", "transaction_type": "837",
    "file_name": "837P-000000012-0193a0c47d2e7cc09c555b1f3e1f0a09.x12",
    "interchange_control_number": "000000012", "group_control_number": "12",
    "transaction_control_number": "0012", "transport": "outbox",
    "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02",
    "sent_at": "2026-11-20T10:15:00Z", "received_at": null, "status": "sent", "detail": null,
    "acks": [{"id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0b", "transaction_type": "999",
        "file_name": "ack-1.999", "interchange_control_number": "000000777",
        "group_control_number": "777", "transport": "inbox",
        "received_at": "2026-11-20T11:00:00Z", "status": "processed",
        "detail": "999 accepted group 12"}]}]}))]
pub struct ClaimExchanges {
    pub claim_id: Uuid,
    pub items: Vec<ClaimExchange>,
    #[serde(skip)]
    pub patient_id: Uuid,
}

impl Mask for ClaimExchanges {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for ClaimExchanges {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        if !self.items.is_empty() {
            d.fields.insert("x12_exchanges");
        }
    }
}

/// Most exchanges one claim's history lists.
pub(super) const HISTORY_LIMIT: i64 = 500;

/// The claim's exchanges: each file sent or received that names it, with the
/// acknowledgments that answered each outbound one nested under it.
pub fn claim_exchanges(
    conn: &mut DbConnection,
    org: OrgId,
    claim_id: Uuid,
) -> CoreResult<ClaimExchanges> {
    let claim = claims::get(conn, org, claim_id)?;
    let all = x12_exchanges::of_claim(conn, org, claim_id, HISTORY_LIMIT)?;
    let outbound: std::collections::BTreeSet<Uuid> = all
        .iter()
        .filter(|e| e.direction == "out")
        .map(|e| e.id)
        .collect();
    let answers_ours = |e: &x12_exchanges::Exchange| {
        e.direction == "in" && e.answers.iter().any(|a| outbound.contains(a))
    };
    let mut items: Vec<ClaimExchange> = all
        .iter()
        .filter(|e| !answers_ours(e))
        .map(|e| ClaimExchange {
            id: e.id,
            direction: e.direction.clone(),
            transaction_type: e.kind.clone(),
            file_name: e.file_name.clone(),
            interchange_control_number: e.interchange_control_number.clone(),
            group_control_number: e.group_control_number.clone(),
            transaction_control_number: e.transaction_control_number.clone(),
            transport: e.transport.clone(),
            payer_id: e.payer_id,
            sent_at: (e.direction == "out").then_some(e.created_at),
            received_at: (e.direction == "in").then_some(e.created_at),
            status: e.status.clone(),
            detail: e.detail.clone(),
            acks: Vec::new(),
        })
        .collect();
    for ack in all.iter().filter(|e| answers_ours(e)) {
        for item in items.iter_mut().filter(|i| ack.answers.contains(&i.id)) {
            item.acks.push(ExchangeAck {
                id: ack.id,
                transaction_type: ack.kind.clone(),
                file_name: ack.file_name.clone(),
                interchange_control_number: ack.interchange_control_number.clone(),
                group_control_number: ack.group_control_number.clone(),
                transport: ack.transport.clone(),
                received_at: ack.created_at,
                status: ack.status.clone(),
                detail: ack.detail.clone(),
            });
        }
    }
    Ok(ClaimExchanges {
        claim_id,
        items,
        patient_id: claim.patient_id,
    })
}
