//! 835 import: each remittance's payer is found by any id the file gives it (TRN03, N1*PR
//! N103/N104, 1000A REF) among the payers' codes and identifiers; a remittance whose payer is
//! not known is stored in the unidentified-remittance work queue (never refused, never lost)
//! and stored and posted once a payer is linked to it.

use actix_web::web;
use revcycle_connector_abi::canonical::v1 as canonical;
use revcycle_core::access::{Mask, OrgId, Principal, View};
use revcycle_core::audit::{Disclosed, Discloses};
use revcycle_core::error::{CoreError, CoreResult};
use revcycle_core::model::payer::{FoundPayerId, PayerIdQualifier, PayerIdentifier};
use revcycle_core::model::remittance::RemittanceInput;
use revcycle_core::store::payers::Identified;
use revcycle_core::store::posting::PostingResult;
use revcycle_core::store::unidentified::{self, UnidentifiedInput, UnidentifiedRemittance};
use revcycle_core::store::x12_exchanges::{self, ExchangeInput};
use revcycle_core::store::{self, DbConnection, ListParams, payers, posting, remittances};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::envelope::envelopes_of;
use super::remit_mapping::remittance_input;
use super::{call, payer_link};
use crate::audit::AuditCtx;
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;

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

/// The ids a parsed remittance gives its payer by, in the core's vocabulary. A plugin that
/// reports none (an older one) still gives the payer id it read (N1*PR N104 or REF*2U).
fn found_ids(r: &canonical::Remittance) -> Vec<FoundPayerId> {
    let mut found: Vec<FoundPayerId> = r
        .payer_identifiers
        .iter()
        .filter_map(|p| {
            let value = p.value.trim();
            let qualifier = PayerIdQualifier::parse(&p.qualifier)?;
            (!value.is_empty() && value.len() <= 80).then(|| FoundPayerId {
                qualifier,
                value: value.to_string(),
                source: p.source.chars().take(40).collect(),
            })
        })
        .collect();
    if found.is_empty()
        && let Some(id) = r.payer.payer_id.as_deref().map(str::trim)
        && !id.is_empty()
    {
        found.push(FoundPayerId {
            qualifier: PayerIdQualifier::PayerId,
            value: id.to_string(),
            source: "payer id".into(),
        });
    }
    found
}

/// A canonical remittance as the store's input for `payer` (the nil id while it is not
/// known); the error gives the place only, never the value.
fn input_of(r: &canonical::Remittance, payer: Uuid, index: usize) -> CoreResult<RemittanceInput> {
    remittance_input(r, payer, chrono::Utc::now().date_naive()).map_err(|_| {
        CoreError::invalid(
            format!("/remittances/{index}"),
            "the remittance cannot be stored: an amount, code or date is out of range",
        )
    })
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

fn map_remittance(
    conn: &mut DbConnection,
    org: OrgId,
    index: usize,
    r: &canonical::Remittance,
) -> CoreResult<Mapped> {
    let found = found_ids(r);
    let mut input = input_of(r, Uuid::nil(), index)?;
    input.validate().map_err(|e| within_remittance(index, e))?;
    Ok(match payers::identify(conn, org, &found)? {
        Identified::Payer(p) => {
            input.payer_id = p;
            Mapped::Known(input)
        }
        other => Mapped::Unknown {
            input,
            found,
            reason: if matches!(other, Identified::Ambiguous(_)) {
                "ambiguous_payer"
            } else {
                "unknown_payer"
            },
            payer_name: r.payer.name.chars().take(60).collect(),
        },
    })
}

/// Stores one identified remittance (or finds it stored) and posts it when `post`.
#[allow(clippy::too_many_arguments)]
fn store_and_post(
    c: &mut DbConnection,
    org: OrgId,
    audit: &AuditCtx,
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
        &remittances::RemittanceFilter {
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
            audit.with("create", "Remittance").append_in_tx(
                c,
                201,
                Some(rem.id),
                &Disclosed::of(&rem),
            )?;
            rem
        }
    };
    let posting = if post {
        let p = posting::post_remittance(c, org, rem.id, actor)?;
        if !p.replayed {
            duplicate = false;
            audit.with("post", "Remittance").append_in_tx(
                c,
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

/// Parses an 835 through the payer connector and, in one transaction, stores the file
/// (encrypted) and every remittance in it, posting them when `post`: a file with several
/// remittances (several ST/SE, several payers' TRNs) is stored and posted all or nothing. A
/// remittance whose payer and trace number are already stored (and posted) is a duplicate
/// and writes nothing; a file of nothing but duplicates is recorded as `duplicate`. A
/// remittance whose payer is not known is queued with the ids found (see the module).
/// A malformed file is a 422 naming the segment and stores nothing.
#[allow(clippy::too_many_arguments)]
pub async fn import_835(
    state: &AppState,
    org: OrgId,
    actor: String,
    audit: AuditCtx,
    raw: Vec<u8>,
    file_name: Option<String>,
    post: bool,
    transport: &'static str,
) -> ApiResult<RemittanceImport> {
    let link = payer_link(state)?;
    let out = call(state, &link, "parse_remittance", raw.clone()).await?;
    let (icn, gcn) = envelopes_of(&out).control_numbers();
    let parsed: Vec<canonical::Remittance> =
        serde_json::from_value(out.get("remittances").cloned().unwrap_or(Value::Null)).map_err(
            |_| ApiError::BadGateway("the connector's output is not a list of remittances".into()),
        )?;
    let keyring = state.keyring.clone();
    let pool = state.pool.clone();
    let result = web::block(move || -> CoreResult<RemittanceImport> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        let conn = &mut conn;
        let attempt = |conn: &mut DbConnection| {
            store::write_transaction(conn, |c| {
                // Every remittance must map before anything is stored.
                let mapped = parsed
                    .iter()
                    .enumerate()
                    .map(|(i, r)| map_remittance(c, org, i, r))
                    .collect::<CoreResult<Vec<_>>>()?;
                let mut seen = std::collections::BTreeSet::new();
                for (i, m) in mapped.iter().enumerate() {
                    let key = match m {
                        Mapped::Known(input) => {
                            (Some(input.payer_id), input.trace_number.trim().to_string())
                        }
                        Mapped::Unknown { input, .. } => {
                            (None, input.trace_number.trim().to_string())
                        }
                    };
                    if key.0.is_some() && !seen.insert(key) {
                        return Err(CoreError::invalid(
                            format!("/remittances/{i}/trace_number"),
                            "the file has this payer's trace number twice",
                        ));
                    }
                }
                let e = x12_exchanges::record(
                    c,
                    &keyring,
                    org,
                    &ExchangeInput {
                        direction: "in",
                        kind: "835".into(),
                        file_name: file_name.clone(),
                        interchange_control_number: icn.clone(),
                        group_control_number: gcn.clone(),
                        transaction_control_number: None,
                        claim_ids: Vec::new(),
                        status: "processed".into(),
                        payer_id: None,
                        transport: Some(transport.into()),
                        answers: Vec::new(),
                        detail: None,
                    },
                    &raw,
                )?;
                audit.with("x12.receive", "X12Exchange").append_in_tx(
                    c,
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
                                &audit,
                                &actor,
                                input,
                                Some(e.id),
                                file_name.as_deref(),
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
                            // The same remittance queued before (the file sent again) waits
                            // once.
                            if unidentified::find(c, org, input.trace_number.trim(), found)?
                                .is_some()
                            {
                                queued_before += 1;
                                continue;
                            }
                            let item = unidentified::enqueue(
                                c,
                                org,
                                &UnidentifiedInput {
                                    exchange_id: Some(e.id),
                                    file_name: file_name.clone(),
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
                            audit.with("queue", "UnidentifiedRemittance").append_in_tx(
                                c,
                                201,
                                Some(item.id),
                                &Disclosed::default(),
                            )?;
                            queued.push(item);
                        }
                    }
                }
                let all_duplicates = !mapped.is_empty()
                    && queued.is_empty()
                    && done.iter().all(|r| r.duplicate);
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
            })
        };
        // Two imports of one file at once race on the unique trace number; the loser tries
        // again and finds the winner's remittances (a duplicate).
        match attempt(conn) {
            Err(CoreError::Conflict(_)) => attempt(conn),
            other => other,
        }
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(result)
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

// ---------------------------------------------------------------------------------------------
// Resolving the work queue

/// `POST /v1/work-queues/unidentified-remittances/{id}/resolve`: the payer the remittance is
/// from.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"payer_id": "0193a0c4-7d2e-7cc0-9c55-5b1f3e1f0a02", "remember_identifiers": true}))]
pub struct ResolveInput {
    pub payer_id: Uuid,
    /// Also add the ids the remittance gave (TRN03, N1*PR, REF) to the payer's identifiers,
    /// so its next files are identified at once (409 when another payer has one of them).
    #[serde(default)]
    pub remember_identifiers: bool,
}

/// The body's shape is all there is to check: the payer is looked up when resolving.
impl revcycle_core::validation::Rules for ResolveInput {
    fn check(&self, _: &mut revcycle_core::validation::Errors) {}
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

/// Links a payer to a queued remittance in the caller's transaction: the remittance is stored
/// as its import would have stored it (with its file), and posted when the import asked for
/// posting; the file then names the claims it touched.
pub fn resolve_in_tx(
    c: &mut DbConnection,
    org: OrgId,
    audit: &AuditCtx,
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
            payers::add_identifier(c, org, payer, &alias).map_err(|e| match e {
                CoreError::Conflict(_) => CoreError::Conflict(format!(
                    "another payer is known by identifiers/{i} of this remittance"
                )),
                other => other,
            })?;
        }
    }
    let input = body.for_payer(payer);
    let mut claim_ids = Vec::new();
    let stored = store_and_post(
        c,
        org,
        audit,
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
    audit.append_in_tx(c, 200, Some(item.id), &Disclosed::of(&stored))?;
    Ok(Resolved {
        item,
        remittance: stored,
    })
}

/// Resolves one queued remittance (see [`resolve_in_tx`]) in its own transaction.
pub async fn resolve_unidentified(
    state: &AppState,
    who: &Principal,
    audit: AuditCtx,
    id: Uuid,
    input: ResolveInput,
) -> ApiResult<Resolved> {
    let org = who.org;
    let actor = who.subject.clone();
    let pool = state.pool.clone();
    let result = web::block(move || -> CoreResult<Resolved> {
        let mut conn = pool
            .get()
            .map_err(|e| CoreError::Unavailable(format!("database: {e}")))?;
        store::write_transaction(&mut conn, |c| {
            resolve_in_tx(
                c,
                org,
                &audit,
                &actor,
                id,
                input.payer_id,
                input.remember_identifiers,
            )
        })
    })
    .await
    .map_err(|_| ApiError::Internal)??;
    Ok(result)
}

/// After a payer's identifiers changed: every open item that its ids now name as this payer
/// alone is resolved to it, in the caller's transaction.
pub fn resolve_named(
    c: &mut DbConnection,
    org: OrgId,
    audit: &AuditCtx,
    actor: &str,
    payer: Uuid,
) -> CoreResult<Vec<Resolved>> {
    use diesel::Connection;
    let mut done = Vec::new();
    for (item, _) in unidentified::all_open(c, org)? {
        if payers::identify(c, org, &item.identifiers)? != Identified::Payer(payer) {
            continue;
        }
        let audit = audit.with("resolve", "UnidentifiedRemittance");
        // A savepoint: an item that cannot be posted stays open.
        let one = c.transaction(|c| resolve_in_tx(c, org, &audit, actor, item.id, payer, false));
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
