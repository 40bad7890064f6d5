//! Patient statements and what feeds them: the practice's charge master
//! (`/v1/charge-master`), its statement profile (`/v1/statement-profile`), statement previews
//! and issued statements (`/v1/patients/{id}/statement(s)`, `/v1/statements/{id}`) and
//! statement runs (`/v1/statement-runs`).
//!
//! A preview is a read: nothing is stored and no number is used. Issuing (one patient, or a
//! run over every patient due) numbers the statement, stores it and is what the office mails.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use revcycle_core::access::{Action, Resource, View};
use revcycle_core::audit::Disclosed;
use revcycle_core::model::Page;
use revcycle_core::store::charge_master::{
    self, ChargeKey, ChargeMasterEntry, ChargeMasterInput, Put,
};
use revcycle_core::store::statements::{self as profiles, StatementProfile, StatementProfileInput};
use revcycle_core::workflows::statements::{self, IssuedStatement, Statement, StatementRun};
use uuid::Uuid;

use crate::authz::{Authorized, Capable, act, cap, res};
use crate::db;
use crate::extract::{JsonBody, OptionalIfMatch, etag};
use crate::html::esc;
use crate::problem::{ApiResult, Problem};
use crate::request_audit::context::{AuditCtx, AuditedInTx};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_charge_master)
        .service(get_charge_master_entry)
        .service(put_charge_master_entry)
        .service(delete_charge_master_entry)
        .service(get_statement_profile)
        .service(put_statement_profile)
        .service(preview_statement)
        .service(issue_statement)
        .service(list_patient_statements)
        .service(get_statement)
        .service(run_statements);
}

/// A write with its audit event in one transaction, answered with `status`, the body (masked
/// for the caller) and an optional ETag.
pub(super) async fn audited<T, F>(
    state: &AppState,
    who: &revcycle_core::access::Principal,
    audit: AuditCtx,
    status: u16,
    f: F,
) -> ApiResult<(T, u16)>
where
    T: serde::Serialize
        + revcycle_core::access::Mask
        + revcycle_core::audit::Discloses
        + Send
        + 'static,
    F: FnOnce(
            &mut revcycle_core::store::DbConnection,
        ) -> revcycle_core::error::CoreResult<(T, Option<Uuid>, u16)>
        + Send
        + 'static,
{
    let view = View::for_principal(who);
    db::run_tx(state, move |c| {
        let (mut body, id, code) = f(c)?;
        body.mask(&view);
        let code = if code == 0 { status } else { code };
        audit.append_in_tx(c, code, id, &Disclosed::of(&body))?;
        Ok((body, code))
    })
    .await
}

pub(super) fn answer<T: serde::Serialize>(
    status: u16,
    body: &T,
    version: Option<i32>,
    location: Option<String>,
) -> HttpResponse {
    let status =
        actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
    let mut resp = HttpResponse::build(status);
    if let Some(v) = version {
        resp.insert_header((header::ETAG, etag(v)));
    }
    if let Some(l) = location {
        resp.insert_header((header::LOCATION, l));
    }
    let mut resp = resp.json(body);
    resp.extensions_mut().insert(AuditedInTx);
    resp
}

fn charge_key(raw: &str) -> ApiResult<ChargeKey> {
    Ok(ChargeKey::parse(raw, "/key")?)
}

// ---------------------------------------------------------------------------------------------
// Charge master

/// List the charge master
///
/// Every entry of the practice's charge master, by code then modifier, as one page
/// (`next_cursor` is always absent: a practice bills a few hundred codes at most).
#[utoipa::path(tag = "statements",
    responses((status = 200, description = "The entries", body = Page<ChargeMasterEntry>)))]
#[get("/charge-master")]
pub async fn list_charge_master(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::ChargeMaster, act::Search>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let items = db::run(&state, move |c| charge_master::list(c, org)).await?;
    Ok(db::json(
        &who,
        Page {
            items,
            next_cursor: None,
        },
    ))
}

/// Read a charge master entry
#[utoipa::path(tag = "statements",
    params(("key" = String, Path, description = "Procedure code, or code and modifier (`99214` or `99214-25`)", example = "99214")),
    responses((status = 200, description = "The entry", body = ChargeMasterEntry, headers(("ETag" = String))),
        (status = 404, description = "No entry for the code", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a procedure code (and modifier)", body = Problem, content_type = "application/problem+json")))]
#[get("/charge-master/{key}")]
pub async fn get_charge_master_entry(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::ChargeMaster, act::Read>,
    key: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (org, key) = (who.org, charge_key(&key)?);
    let e = db::run(&state, move |c| charge_master::get(c, org, &key)).await?;
    Ok(db::ok(&who, e))
}

/// Set a charge master entry
///
/// The practice's own description (printed on patient statements instead of the bare code)
/// and default price of a procedure code, or of a code with a modifier (`99214-25`; a line
/// with that modifier prints this entry's description rather than the code's). Creates the
/// entry (201) or replaces it (200); with `If-Match`, the entry must be at that version (412
/// otherwise). Admins and billers keep the charge master; other roles read it.
#[utoipa::path(tag = "statements", request_body = ChargeMasterInput,
    params(("key" = String, Path, description = "Procedure code, or code and modifier (`99214` or `99214-25`)", example = "99214"),
        ("If-Match" = Option<String>, Header, description = "ETag of the entry version read, to replace only that version")),
    responses((status = 200, description = "Replaced", body = ChargeMasterEntry, headers(("ETag" = String))),
        (status = 201, description = "Created", body = ChargeMasterEntry, headers(("ETag" = String))),
        (status = 404, description = "`If-Match` given and no entry for the code", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The entry changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a procedure code, or a description or price out of range", body = Problem, content_type = "application/problem+json")))]
#[put("/charge-master/{key}")]
pub async fn put_charge_master_entry(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::ChargeMaster, act::Update>,
    key: web::Path<String>,
    if_match: OptionalIfMatch,
    body: JsonBody<ChargeMasterInput>,
) -> ApiResult<HttpResponse> {
    let (org, key, input) = (who.org, charge_key(&key)?, body.value);
    let expected = if_match.0.map(|m| m.0);
    let (e, status) = audited(&state, &who, audit, 200, move |c| {
        Ok(match charge_master::put(c, org, &key, &input, expected)? {
            Put::Created(e) => {
                let id = e.id;
                (e, Some(id), 201)
            }
            Put::Updated(e) => {
                let id = e.id;
                (e, Some(id), 200)
            }
        })
    })
    .await?;
    let location = (status == 201).then(|| format!("/v1/charge-master/{}", e.key));
    Ok(answer(status, &e, Some(e.version), location))
}

/// Delete a charge master entry
///
/// Statements already issued keep the description they were printed with; later ones print
/// the code. With `If-Match`, only that version is deleted (412 otherwise).
#[utoipa::path(tag = "statements",
    params(("key" = String, Path, description = "Procedure code, or code and modifier (`99214` or `99214-25`)", example = "99214"),
        ("If-Match" = Option<String>, Header, description = "ETag of the entry version read")),
    responses((status = 204, description = "Deleted"),
        (status = 404, description = "No entry for the code", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The entry changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a procedure code (and modifier)", body = Problem, content_type = "application/problem+json")))]
#[delete("/charge-master/{key}")]
pub async fn delete_charge_master_entry(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::ChargeMaster, act::Void>,
    key: web::Path<String>,
    if_match: OptionalIfMatch,
) -> ApiResult<HttpResponse> {
    let (org, key) = (who.org, charge_key(&key)?);
    let expected = if_match.0.map(|m| m.0);
    audited(&state, &who, audit, 204, move |c| {
        let e = charge_master::delete(c, org, &key, expected)?;
        let id = e.id;
        Ok((e, Some(id), 204))
    })
    .await?;
    let mut resp = HttpResponse::NoContent().finish();
    resp.extensions_mut().insert(AuditedInTx);
    Ok(resp)
}

// ---------------------------------------------------------------------------------------------
// Statement profile

/// Read the statement profile
///
/// What the practice prints on its statements: its name, address and phone, the remit-to
/// address, how patients can pay, the due days, the statement cycle and a message. Readable by
/// whoever reads the charge master.
#[utoipa::path(tag = "statements",
    responses((status = 200, description = "The profile", body = StatementProfile, headers(("ETag" = String))),
        (status = 404, description = "No profile set yet", body = Problem, content_type = "application/problem+json")))]
#[get("/statement-profile")]
pub async fn get_statement_profile(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::ChargeMaster, act::Read>,
) -> ApiResult<HttpResponse> {
    let org = who.org;
    let p = db::run(&state, move |c| profiles::profile(c, org))
        .await?
        .ok_or(revcycle_core::error::CoreError::NotFound {
            resource: "statement profile",
        })?;
    let mut resp = HttpResponse::Ok()
        .insert_header((header::ETAG, etag(p.version)))
        .json(&p);
    resp.extensions_mut().insert(Disclosed::default());
    Ok(resp)
}

/// Set the statement profile
///
/// Admins only (the `practice.manage` capability). Statements can be previewed without a
/// profile, but none is issued until one is set: a statement without a remit-to address
/// cannot be paid by mail. Creates (201) or replaces (200); with `If-Match`, the stored profile
/// must be at that version (412 otherwise).
#[utoipa::path(tag = "statements", request_body = StatementProfileInput,
    params(("If-Match" = Option<String>, Header, description = "ETag of the profile version read")),
    responses((status = 200, description = "Replaced", body = StatementProfile, headers(("ETag" = String))),
        (status = 201, description = "Created", body = StatementProfile, headers(("ETag" = String))),
        (status = 404, description = "`If-Match` given and no profile set yet", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The profile changed since it was read", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A field out of range (each named by a JSON pointer)", body = Problem, content_type = "application/problem+json")))]
#[put("/statement-profile")]
pub async fn put_statement_profile(
    state: web::Data<AppState>,
    Capable { who, audit, .. }: Capable<cap::PracticeManage, act::Update>,
    if_match: OptionalIfMatch,
    body: JsonBody<StatementProfileInput>,
) -> ApiResult<HttpResponse> {
    let (org, input) = (who.org, body.value);
    let expected = if_match.0.map(|m| m.0);
    let (p, status) = audited(&state, &who, audit, 200, move |c| {
        let (p, created) = profiles::set_profile(c, org, &input, expected)?;
        Ok((p, None, if created { 201 } else { 200 }))
    })
    .await?;
    Ok(answer(status, &p, Some(p.version), None))
}

// ---------------------------------------------------------------------------------------------
// Statements

/// A PDF file (the document's schema for `application/pdf` answers).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PdfDocument(Vec<u8>);

/// Preview a patient statement
///
/// The statement as it would be issued today, without a statement number and without storing
/// anything: the practice and remit-to blocks (from the statement profile), the account
/// number, statement and due dates, every claim the patient owes on or insurance has not
/// settled, each service line with the charge master's description, each insurer's payments,
/// adjustments and patient responsibility named with the reason code's meaning, what is
/// pending with insurance, the payment plan's next installment, payment options and the
/// remittance coupon. `amount_due` is the balance, or with a payment plan the installment due
/// plus anything the plan does not cover. To mail it, issue it
/// (`POST /v1/patients/{id}/statements`) or run a statement cycle (`POST /v1/statement-runs`).
#[utoipa::path(tag = "statements", params(("id" = Uuid, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The statement (JSON, a printable HTML page with `Accept: text/html`, or a PDF with `Accept: application/pdf`)",
            content((Statement = "application/json"), (String = "text/html"), (PdfDocument = "application/pdf"))),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[get("/patients/{id}/statement")]
pub async fn preview_statement(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Patient, act::Read>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let org = who.org;
    let today = chrono::Utc::now().date_naive();
    let s = db::run(&state, move |c| {
        statements::build(c, &keyring, org, id, today)
    })
    .await?;
    Ok(respond(&req, &who, s))
}

fn respond(
    req: &HttpRequest,
    who: &revcycle_core::access::Principal,
    s: Statement,
) -> HttpResponse {
    crate::html::json_page_or_pdf(
        req,
        who,
        s,
        statement_html,
        Some(crate::statement_pdf::render),
    )
}

/// Issue a patient statement
///
/// Numbers the patient's statement (the organization's next statement number), stores it as
/// issued and answers with it; `GET /v1/statements/{id}` prints it again later (JSON, HTML or
/// PDF) exactly as issued. 409 when no statement profile is set or the patient owes nothing.
/// Needs the *export* permission on claims (a statement leaves the practice) and the *read*
/// permission on patients.
#[utoipa::path(tag = "statements", params(("id" = Uuid, Path, description = "Patient id")),
    responses(
        (status = 201, description = "The issued statement", body = Statement,
            headers(("Location" = String, description = "URL of the issued statement"))),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No statement profile set, or nothing owed", body = Problem, content_type = "application/problem+json")))]
#[post("/patients/{id}/statements")]
pub async fn issue_statement(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Export>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    crate::auth::require(&who, Resource::Patient, Action::Read)?;
    let id = id.into_inner();
    let keyring = state.keyring.clone();
    let (org, actor) = (who.org, who.subject.clone());
    let today = chrono::Utc::now().date_naive();
    let (s, _) = audited(&state, &who, audit, 201, move |c| {
        let s = statements::issue(c, &keyring, org, id, today, &actor)?;
        let sid = s.id;
        Ok((s, sid, 201))
    })
    .await?;
    let location = s.id.map(|i| format!("/v1/statements/{i}"));
    Ok(answer(201, &s, None, location))
}

/// List a patient's issued statements
///
/// Newest first: number, dates and amount due of each (read one with `GET /v1/statements/{id}`).
#[utoipa::path(tag = "statements", params(("id" = Uuid, Path, description = "Patient id")),
    responses(
        (status = 200, description = "The patient's statements", body = Page<IssuedStatement>),
        (status = 404, description = "No such patient", body = Problem, content_type = "application/problem+json")))]
#[get("/patients/{id}/statements")]
pub async fn list_patient_statements(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Patient, act::Read>,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id) = (who.org, id.into_inner());
    let items = db::run(&state, move |c| statements::list_for_patient(c, org, id)).await?;
    Ok(db::json(
        &who,
        Page {
            items,
            next_cursor: None,
        },
    ))
}

/// Read an issued statement
///
/// The statement as it was issued (amounts, lines, profile blocks, number and dates), with
/// the patient's current name and address.
#[utoipa::path(tag = "statements", params(("id" = Uuid, Path, description = "Statement id")),
    responses(
        (status = 200, description = "The statement (JSON, a printable HTML page with `Accept: text/html`, or a PDF with `Accept: application/pdf`)",
            content((Statement = "application/json"), (String = "text/html"), (PdfDocument = "application/pdf"))),
        (status = 404, description = "No such statement", body = Problem, content_type = "application/problem+json")))]
#[get("/statements/{id}")]
pub async fn get_statement(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Patient, act::Read>,
    req: HttpRequest,
    id: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (org, id) = (who.org, id.into_inner());
    let keyring = state.keyring.clone();
    let s = db::run(&state, move |c| statements::get(c, &keyring, org, id)).await?;
    Ok(respond(&req, &who, s))
}

/// Run a statement cycle
///
/// Issues a statement, dated today, to every patient with a patient balance who has had none
/// within the profile's `cycle_days`, in one transaction (all or none), and answers with the
/// counts: candidates, issued, skipped by reason (`issued_within_cycle`; `nothing_due` when
/// account credit covers the balance) and the statements issued (ids, numbers, amounts; read
/// each with `GET /v1/statements/{id}`). Running it again the same day issues nothing new.
/// 409 when no statement profile is set. Needs the *export* permission on claims.
#[utoipa::path(tag = "statements",
    responses(
        (status = 200, description = "What the run did", body = StatementRun),
        (status = 409, description = "No statement profile set", body = Problem, content_type = "application/problem+json")))]
#[post("/statement-runs")]
pub async fn run_statements(
    state: web::Data<AppState>,
    Authorized { who, audit, .. }: Authorized<res::Claim, act::Export>,
) -> ApiResult<HttpResponse> {
    crate::auth::require(&who, Resource::Patient, Action::Read)?;
    let keyring = state.keyring.clone();
    let (org, actor) = (who.org, who.subject.clone());
    let today = chrono::Utc::now().date_naive();
    let (r, _) = audited(&state, &who, audit, 200, move |c| {
        let r = statements::run(c, &keyring, org, today, &actor, &mut |_, _| {})?;
        let id = r.run_id;
        Ok((r, Some(id), 200))
    })
    .await?;
    Ok(answer(200, &r, None, None))
}

// ---------------------------------------------------------------------------------------------
// The printable page

fn date(d: chrono::NaiveDate) -> String {
    d.format("%m/%d/%Y").to_string()
}

fn address_html(a: &revcycle_core::model::common::Address) -> String {
    let mut lines = vec![esc(&a.line1)];
    if let Some(l2) = &a.line2 {
        lines.push(esc(l2));
    }
    lines.push(format!(
        "{}, {} {}",
        esc(&a.city),
        esc(a.state.as_str()),
        esc(a.zip.as_str())
    ));
    lines.join("<br>")
}

fn statement_html(s: &Statement) -> String {
    let mut h = String::new();
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<title>Patient statement</title><style>");
    h.push_str("body{font-family:sans-serif;margin:2em;font-size:14px}table{border-collapse:collapse;width:100%}");
    h.push_str(
        "th,td{border-bottom:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}",
    );
    h.push_str("td.n,th.n{text-align:right}.due{font-size:1.3em;font-weight:bold}.sub td{border:0;color:#333}");
    h.push_str(".head{display:flex;justify-content:space-between}.coupon{border-top:2px dashed #000;margin-top:2em;padding-top:1em}");
    h.push_str(".box{border:1px solid #000;display:inline-block;min-width:10em;padding:.5em}");
    h.push_str("@media print{body{margin:0}}</style></head><body>\n<div class=\"head\"><div>");
    match &s.practice {
        Some(p) => {
            h.push_str(&format!(
                "<h2>{}</h2><p>{}",
                esc(&p.name),
                address_html(&p.address)
            ));
            if let Some(ph) = &p.phone {
                h.push_str(&format!("<br>Billing questions: {}", esc(ph)));
            }
            h.push_str("</p>");
        }
        None => h.push_str("<h2>Patient statement</h2>"),
    }
    h.push_str("</div><div><h1>Statement</h1><table>");
    let number = s
        .statement_number
        .map_or("Preview (not issued)".to_string(), |n| n.to_string());
    for (k, v) in [
        ("Statement date", date(s.statement_date)),
        ("Statement number", number.clone()),
        ("Account number", s.account_number.clone()),
        ("Payment due by", date(s.due_date)),
        ("Amount due", format!("${}", s.amount_due)),
    ] {
        h.push_str(&format!(
            "<tr><th>{k}</th><td class=\"n\">{}</td></tr>",
            esc(&v)
        ));
    }
    h.push_str("</table></div></div>\n");
    h.push_str(&format!("<p><strong>{}</strong>", esc(&s.patient_name)));
    if let Some(a) = &s.address {
        h.push_str(&format!("<br>{}", address_html(a)));
    }
    h.push_str("</p>\n");
    if let Some(m) = &s.message {
        h.push_str(&format!("<p>{}</p>\n", esc(m)));
    }
    h.push_str("<table><thead><tr><th>Date</th><th>Service</th>");
    for col in [
        "Charges",
        "Insurance paid",
        "Adjusted",
        "Insurance pending",
        "You owe",
    ] {
        h.push_str(&format!("<th class=\"n\">{col}</th>"));
    }
    h.push_str("</tr></thead><tbody>\n");
    let cell = |v: Option<rust_decimal::Decimal>| match v {
        Some(v) => format!("<td class=\"n\">{}</td>", esc(&v.to_string())),
        None => "<td></td>".to_string(),
    };
    for item in &s.items {
        for l in &item.lines {
            let code = l.procedure_code.as_deref().map_or(String::new(), |c| {
                if l.modifiers.is_empty() {
                    format!(" ({c})")
                } else {
                    format!(" ({c}-{})", l.modifiers.join("-"))
                }
            });
            h.push_str(&format!(
                "<tr><td>{}</td><td><strong>{}{}</strong></td>{}{}{}{}{}</tr>\n",
                esc(&date(l.service_date)),
                esc(&l.description),
                esc(&code),
                cell(Some(l.charge)),
                cell(None),
                cell(None),
                cell(None),
                cell(None)
            ));
            for i in &l.insurance {
                let verb = if i.denied { "Denied by" } else { "Paid by" };
                h.push_str(&format!(
                    "<tr class=\"sub\"><td></td><td>{verb} {}</td>{}{}{}{}{}</tr>\n",
                    esc(&i.payer_name),
                    cell(None),
                    cell(Some(i.paid)),
                    cell(None),
                    cell(None),
                    cell(None)
                ));
                for r in &i.adjustments {
                    h.push_str(&format!(
                        "<tr class=\"sub\"><td></td><td>{} adjusted: {}</td>{}{}{}{}{}</tr>\n",
                        esc(&i.payer_name),
                        esc(&reason(r)),
                        cell(None),
                        cell(None),
                        cell(Some(r.amount)),
                        cell(None),
                        cell(None)
                    ));
                }
                for r in &i.patient_responsibility {
                    h.push_str(&format!(
                        "<tr class=\"sub\"><td></td><td colspan=\"6\">Your responsibility per {}: {}</td></tr>\n",
                        esc(&i.payer_name),
                        esc(&reason(r)),
                    ));
                }
            }
            if !l.practice_adjustments.is_zero() {
                h.push_str(&format!(
                    "<tr class=\"sub\"><td></td><td>Adjusted by the practice</td>{}{}{}{}{}</tr>\n",
                    cell(None),
                    cell(None),
                    cell(Some(l.practice_adjustments)),
                    cell(None),
                    cell(None)
                ));
            }
            if !l.patient_paid.is_zero() {
                h.push_str(&format!(
                    "<tr class=\"sub\"><td></td><td colspan=\"6\">Your payments: ${}</td></tr>\n",
                    esc(&l.patient_paid.to_string())
                ));
            }
            h.push_str(&format!(
                "<tr class=\"sub\"><td></td><td>Balance</td>{}{}{}{}{}</tr>\n",
                cell(None),
                cell(None),
                cell(None),
                cell(Some(l.insurance_pending)),
                cell(Some(l.patient_due))
            ));
        }
    }
    h.push_str("</tbody></table>\n<h3>Account summary</h3><table>");
    let mut summary = vec![
        ("Charges", s.charges),
        ("Insurance payments", s.insurance_paid),
        ("Adjustments", s.adjustments),
        ("Your payments", s.patient_paid),
        ("Pending with insurance", s.insurance_pending),
    ];
    if !s.account_credit.is_zero() {
        summary.push(("Account credit", s.account_credit));
    }
    summary.push(("Your balance", s.patient_due));
    for (k, v) in summary {
        h.push_str(&format!(
            "<tr><th>{k}</th><td class=\"n\">{}</td></tr>",
            esc(&v.to_string())
        ));
    }
    h.push_str("</table>\n");
    if let Some(p) = &s.payment_plan {
        h.push_str(&format!(
            "<p>Payment plan: ${} left of ${}",
            esc(&p.remaining.to_string()),
            esc(&p.total.to_string())
        ));
        if let Some(n) = &p.next_installment {
            h.push_str(&format!(
                "<br>Next installment ({} of {}): ${} due {}",
                n.number,
                p.installments,
                esc(&n.amount.to_string()),
                esc(&date(n.due))
            ));
        }
        h.push_str("</p>\n");
    }
    h.push_str(&format!(
        "<p class=\"due\">Amount due: ${} by {}</p>\n",
        esc(&s.amount_due.to_string()),
        esc(&date(s.due_date))
    ));
    if let Some(o) = &s.payment_options {
        h.push_str("<h3>How to pay</h3><ul>");
        if let Some(u) = &o.online_url {
            h.push_str(&format!("<li>Online: {}</li>", esc(u)));
        }
        if let Some(p) = &o.phone {
            h.push_str(&format!("<li>By phone: {}</li>", esc(p)));
        }
        if o.mail {
            h.push_str("<li>By mail: send the coupon below with your check.</li>");
        }
        h.push_str("</ul>\n");
    }
    let c = &s.coupon;
    h.push_str(
        "<div class=\"coupon\"><p>Please detach and return this portion with your payment.</p>",
    );
    h.push_str(&format!(
        "<p>Patient: {}<br>Account number: {}<br>Statement number: {}<br>Due date: {}<br><strong>Amount due: ${}</strong></p>",
        esc(&s.patient_name),
        esc(&c.account_number),
        esc(&number),
        esc(&date(c.due_date)),
        esc(&c.amount_due.to_string())
    ));
    h.push_str("<p>Amount enclosed: <span class=\"box\">$</span></p>");
    if let Some(r) = &c.remit_to {
        h.push_str(&format!(
            "<p>Make checks payable and mail to:<br><strong>{}</strong><br>{}</p>",
            esc(&r.name),
            address_html(&r.address)
        ));
    }
    h.push_str("</div>\n</body></html>\n");
    h
}

fn reason(r: &revcycle_core::workflows::statements::AdjustmentReason) -> String {
    let code = match (&r.group, &r.carc) {
        (Some(g), Some(c)) => format!("{g}-{c} "),
        (None, Some(c)) => format!("{c} "),
        _ => String::new(),
    };
    format!("{code}{} (${})", r.description, r.amount)
}
