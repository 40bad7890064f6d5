//! Importing 835s: every remittance in a file is stored (and posted when asked) in one
//! transaction with the file, its payer found by any id the file gives it (TRN03, N1*PR
//! N103/N104, 1000A REF) among the payers' codes and identifiers; a remittance whose payer is
//! not known is kept in the unidentified-remittance work queue (never refused, never lost) and
//! stored and posted once a payer is linked to it ([`resolve`], [`resolve_named`]).
//!
//! The payer plugin reads the X12; the caller hands over each remittance as the store's input
//! with the payer ids found ([`ReadRemittance`]).

use diesel::Connection;
use serde::Serialize;
use uuid::Uuid;

use super::{AuditTrail, ReceivedFile};
use crate::access::{Mask, OrgId, View};
use crate::audit::{Disclosed, Discloses};
use crate::error::{CoreError, CoreResult};
use crate::model::common::MAX_NAME_LEN;
use crate::model::payer::{FoundPayerId, PayerIdentifier};
use crate::model::remittance::{RemittanceFilter, RemittanceInput};
use crate::store::payers::Identified;
use crate::store::posting::PostingResult;
use crate::store::unidentified::{self, UnidentifiedInput, UnidentifiedRemittance};
use crate::store::x12_exchanges;
use crate::store::{DbConnection, KeyRing, ListParams, payers, posting, remittances};

/// One remittance of an imported 835.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportedRemittance {
    pub remittance_id: Uuid,
    pub payer_id: Uuid,
    pub trace_number: String,
    /// This payer's trace number was already stored (and, with posting, posted): nothing was
    /// written for it this time.
    pub duplicate: bool,
    /// What posting did, when posting was asked for.
    pub posting: Option<PostingResult>,
}

/// What importing an 835 did.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"exchange_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a09", "status": "processed",
    "remittances": [{"remittance_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a0a",
        "payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "trace_number": "EFT0001",
        "duplicate": false, "posting": null}],
    "unidentified": []}))]
pub struct RemittanceImport {
    /// The stored (encrypted) file.
    pub exchange_id: Uuid,
    /// `processed`; `queued` when a remittance in the file waits for its payer in the
    /// unidentified-remittance work queue; `duplicate` when every remittance in the file was
    /// already stored (and posted, when posting was asked for) or queued: the file changed
    /// nothing.
    pub status: String,
    pub remittances: Vec<ImportedRemittance>,
    /// The remittances whose payer no id in the file names (or that name several payers),
    /// kept in the work queue until a payer is linked
    /// (`POST /v1/work-queues/unidentified-remittances/{id}/resolve`).
    pub unidentified: Vec<UnidentifiedRemittance>,
}

impl Mask for RemittanceImport {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for RemittanceImport {
    fn disclose(&self, d: &mut Disclosed) {
        for r in &self.remittances {
            r.disclose(d);
        }
        self.unidentified.disclose(d);
    }
}

impl Discloses for ImportedRemittance {
    fn disclose(&self, d: &mut Disclosed) {
        if let Some(p) = &self.posting {
            p.disclose(d);
        }
    }
}

impl Mask for ImportedRemittance {
    fn mask(&mut self, _: &View) {}
}

/// One remittance as the plugin read it: the store's input (its payer the nil id, not yet
/// known), the ids the file gives its payer by, and the payer's name as written.
#[derive(Debug, Clone)]
pub struct ReadRemittance {
    pub input: RemittanceInput,
    pub found: Vec<FoundPayerId>,
    pub payer_name: String,
}

/// One remittance of a file, its payer found or not.
enum Mapped {
    Known(RemittanceInput),
    Unknown {
        input: RemittanceInput,
        found: Vec<FoundPayerId>,
        reason: &'static str,
        payer_name: String,
    },
}

fn identify(
    conn: &mut DbConnection,
    org: OrgId,
    index: usize,
    r: &ReadRemittance,
) -> CoreResult<Mapped> {
    let mut input = r.input.clone();
    input.validate().map_err(|e| within_remittance(index, e))?;
    Ok(match payers::identify(conn, org, &r.found)? {
        Identified::Payer(p) => {
            input.payer_id = p;
            Mapped::Known(input)
        }
        other => Mapped::Unknown {
            input,
            found: r.found.clone(),
            reason: if matches!(other, Identified::Ambiguous(_)) {
                "ambiguous_payer"
            } else {
                "unknown_payer"
            },
            payer_name: r.payer_name.chars().take(MAX_NAME_LEN).collect(),
        },
    })
}

/// Stores one identified remittance (or finds it stored) and posts it when `post`.
#[allow(clippy::too_many_arguments)]
fn store_and_post(
    c: &mut DbConnection,
    org: OrgId,
    trail: &dyn AuditTrail,
    actor: &str,
    input: &RemittanceInput,
    exchange: Option<Uuid>,
    file_name: Option<&str>,
    post: bool,
    claim_ids: &mut Vec<Uuid>,
) -> CoreResult<ImportedRemittance> {
    let existing = remittances::list(
        c,
        org,
        &RemittanceFilter {
            payer_id: Some(input.payer_id),
            trace_number: Some(input.trace_number.trim().to_string()),
        },
        &ListParams::default(),
    )?
    .items
    .into_iter()
    .next();
    let mut duplicate = existing.is_some();
    let rem = match existing {
        Some(r) => r,
        None => {
            let rem = remittances::create_from_file(c, org, input, exchange, file_name)?;
            trail.append_other(
                c,
                "create",
                "Remittance",
                201,
                Some(rem.id),
                &Disclosed::of(&rem),
            )?;
            rem
        }
    };
    let posting = if post {
        let p = posting::post_remittance(c, org, rem.id, actor)?;
        // The posting's denials commit with it (none when it was posted before).
        crate::workflows::denials::record_posted(c, org, &p)?;
        if !p.replayed {
            duplicate = false;
            trail.append_other(
                c,
                "post",
                "Remittance",
                200,
                Some(rem.id),
                &Disclosed::of(&p),
            )?;
        }
        claim_ids.extend(p.claims.iter().map(|pc| pc.claim_id));
        Some(p)
    } else {
        None
    };
    Ok(ImportedRemittance {
        remittance_id: rem.id,
        payer_id: rem.payer_id,
        trace_number: rem.trace_number,
        duplicate,
        posting,
    })
}

/// Imports an 835 in the caller's write transaction: stores the file (encrypted) and every
/// remittance in it, posting them when `post`, all or nothing (a file with several remittances,
/// several ST/SE or several payers' TRNs, included). A remittance whose payer and trace number
/// are already stored (and posted) is a duplicate and writes nothing; a file of nothing but
/// duplicates is recorded as `duplicate`. A remittance whose payer is not known is queued with
/// the ids found. `trail` records the file's receipt and each remittance stored, posted or
/// queued.
#[allow(clippy::too_many_arguments)]
pub fn import(
    c: &mut DbConnection,
    keyring: &KeyRing,
    org: OrgId,
    trail: &dyn AuditTrail,
    actor: &str,
    file: &ReceivedFile,
    read: &[ReadRemittance],
    post: bool,
) -> CoreResult<RemittanceImport> {
    // Every remittance must be identified (or known to be unidentified) before anything is
    // stored.
    let mapped = read
        .iter()
        .enumerate()
        .map(|(i, r)| identify(c, org, i, r))
        .collect::<CoreResult<Vec<_>>>()?;
    let mut seen = std::collections::BTreeSet::new();
    for (i, m) in mapped.iter().enumerate() {
        if let Mapped::Known(input) = m
            && !seen.insert((input.payer_id, input.trace_number.trim().to_string()))
        {
            return Err(CoreError::invalid(
                format!("/remittances/{i}/trace_number"),
                "the file has this payer's trace number twice",
            ));
        }
    }
    let e = x12_exchanges::record(c, keyring, org, &file.exchange(), &file.raw)?;
    trail.append_other(
        c,
        "x12.receive",
        "X12Exchange",
        201,
        Some(e.id),
        &Disclosed::default(),
    )?;
    let mut done = Vec::new();
    let mut queued = Vec::new();
    let mut queued_before = 0;
    let mut claim_ids = Vec::new();
    for (i, m) in mapped.iter().enumerate() {
        match m {
            Mapped::Known(input) => {
                let item = store_and_post(
                    c,
                    org,
                    trail,
                    actor,
                    input,
                    Some(e.id),
                    file.name.as_deref(),
                    post,
                    &mut claim_ids,
                )
                .map_err(|err| within_remittance(i, err))?;
                done.push(item);
            }
            Mapped::Unknown {
                input,
                found,
                reason,
                payer_name,
            } => {
                // The same remittance queued before (the file sent again) waits once.
                if unidentified::find(c, org, input.trace_number.trim(), found)?.is_some() {
                    queued_before += 1;
                    continue;
                }
                let item = unidentified::enqueue(
                    c,
                    org,
                    &UnidentifiedInput {
                        exchange_id: Some(e.id),
                        file_name: file.name.clone(),
                        index: i,
                        payer_name: payer_name.clone(),
                        identifiers: found.clone(),
                        reason,
                        trace_number: input.trace_number.clone(),
                        payment_date: input.payment_date,
                        total_paid: input.total_paid.0.as_decimal(),
                        remittance: input.clone(),
                        post,
                    },
                )
                .map_err(|err| within_remittance(i, err))?;
                trail.append_other(
                    c,
                    "queue",
                    "UnidentifiedRemittance",
                    201,
                    Some(item.id),
                    &Disclosed::default(),
                )?;
                queued.push(item);
            }
        }
    }
    let all_duplicates =
        !mapped.is_empty() && queued.is_empty() && done.iter().all(|r| r.duplicate);
    let status = if all_duplicates {
        "duplicate"
    } else if !queued.is_empty() {
        "queued"
    } else {
        "processed"
    };
    let detail = if all_duplicates {
        Some(if queued_before > 0 {
            "every remittance in the file was already posted or is waiting for its payer"
                .to_string()
        } else {
            "every payer and trace number in the file was already posted".to_string()
        })
    } else if !queued.is_empty() {
        Some(format!(
            "{} remittance(s) wait for their payer in the unidentified-remittance work queue",
            queued.len()
        ))
    } else {
        None
    };
    if status != "processed" {
        x12_exchanges::set_status(c, org, e.id, status, detail.as_deref())?;
    }
    claim_ids.sort();
    claim_ids.dedup();
    x12_exchanges::link_claims(c, org, e.id, &claim_ids)?;
    Ok(RemittanceImport {
        exchange_id: e.id,
        status: status.into(),
        remittances: done,
        unidentified: queued,
    })
}

/// An error of the `index`th remittance of a file, its pointers made file-wide.
fn within_remittance(index: usize, e: CoreError) -> CoreError {
    match e {
        CoreError::Invalid(errors) => CoreError::Invalid(
            errors
                .into_iter()
                .map(|mut f| {
                    if !f.pointer.starts_with("/remittances/") {
                        f.pointer = format!("/remittances/{index}{}", f.pointer);
                    }
                    f
                })
                .collect(),
        ),
        other => other,
    }
}

/// What resolving did: the item, the stored remittance and, when its import asked for
/// posting, the posting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Resolved {
    pub item: UnidentifiedRemittance,
    pub remittance: ImportedRemittance,
}

impl Mask for Resolved {
    fn mask(&mut self, _: &View) {}
}

impl Discloses for Resolved {
    fn disclose(&self, d: &mut Disclosed) {
        self.item.disclose(d);
        self.remittance.disclose(d);
    }
}

/// Links a payer to a queued remittance in the caller's transaction (the request's own event
/// is `trail`'s): the remittance is stored
/// as its import would have stored it (with its file), and posted when the import asked for
/// posting; the file then names the claims it touched.
pub fn resolve(
    c: &mut DbConnection,
    org: OrgId,
    trail: &dyn AuditTrail,
    actor: &str,
    id: Uuid,
    payer: Uuid,
    remember: bool,
) -> CoreResult<Resolved> {
    let (item, body) = unidentified::get(c, org, id)?;
    if item.state != "open" {
        return Err(CoreError::Conflict(
            "the remittance was already resolved".into(),
        ));
    }
    match payers::get(c, org, payer) {
        Err(CoreError::NotFound { .. }) => {
            return Err(CoreError::invalid("/payer_id", "no such payer"));
        }
        other => other?,
    };
    if remember {
        for (i, f) in item.identifiers.iter().enumerate() {
            let alias = PayerIdentifier {
                qualifier: f.qualifier,
                value: f.value.clone(),
            };
            payers::add_identifier(c, org, payer, &alias).map_err(|e| {
                e.conflict_means(format!(
                    "another payer is known by identifiers/{i} of this remittance"
                ))
            })?;
        }
    }
    let input = body.for_payer(payer);
    let mut claim_ids = Vec::new();
    let stored = store_and_post(
        c,
        org,
        trail,
        actor,
        &input,
        item.exchange_id,
        item.file_name.as_deref(),
        item.post,
        &mut claim_ids,
    )?;
    let item = unidentified::resolve(c, org, id, payer, stored.remittance_id, actor)?;
    if let Some(exchange) = item.exchange_id {
        x12_exchanges::link_claims(c, org, exchange, &claim_ids)?;
        if unidentified::open_of_exchange(c, org, exchange)? == 0 {
            let e = x12_exchanges::get(c, org, exchange)?;
            if e.status == "queued" {
                x12_exchanges::set_status(
                    c,
                    org,
                    exchange,
                    "processed",
                    Some("every remittance in the file has its payer"),
                )?;
            }
        }
    }
    trail.append(c, 200, Some(item.id), &Disclosed::of(&stored))?;
    Ok(Resolved {
        item,
        remittance: stored,
    })
}

/// After a payer's identifiers changed: every open item that its ids now name as this payer
/// alone is resolved to it, in the caller's transaction; `trail` records each resolution.
pub fn resolve_named(
    c: &mut DbConnection,
    org: OrgId,
    trail: &dyn AuditTrail,
    actor: &str,
    payer: Uuid,
) -> CoreResult<Vec<Resolved>> {
    let mut done = Vec::new();
    for (item, _) in unidentified::all_open(c, org)? {
        if payers::identify(c, org, &item.identifiers)? != Identified::Payer(payer) {
            continue;
        }
        // A savepoint: an item that cannot be posted stays open.
        let one = c.transaction(|c| resolve(c, org, trail, actor, item.id, payer, false));
        match one {
            Ok(r) => done.push(r),
            Err(CoreError::Unavailable(m)) => return Err(CoreError::Unavailable(m)),
            Err(e) => {
                tracing::warn!(item = %item.id, error = %e, "a queued remittance named by the payer's identifiers stays queued")
            }
        }
    }
    Ok(done)
}
