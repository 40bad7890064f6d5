//! Receivables reports, folded from the ledger and the claims' histories.

use actix_web::{HttpResponse, get, web};
use chrono::{Duration, NaiveDate, Utc};
use revcycle_core::billing::aging::{AgingBasis, AgingGroup};
use revcycle_core::error::CoreError;
use revcycle_core::store::accounts::{self, AgingReportView, DenialsReport, Kpis};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ar_aging).service(denials).service(kpis);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgingQuery {
    /// The date the report is as of (default today): entries posted after it are not counted.
    pub as_of: Option<NaiveDate>,
    /// `payer` (default): the insurance part of each claim, by the payer billed. `patient`:
    /// the patient part, by patient.
    #[param(example = "payer")]
    pub group_by: Option<String>,
    /// `service` (default): age from the first date of service. `submission`: from the first
    /// submission (the date of service for a claim never submitted).
    #[param(example = "service")]
    pub basis: Option<String>,
}

/// A/R aging
///
/// Open balances in the buckets billers work from: 0-30, 31-60, 61-90, 91-120 and over 120
/// days. Only amounts above zero are aged (credit balances are not receivables). Needs the
/// *export* permission on claims.
#[utoipa::path(tag = "reports", params(AgingQuery),
    responses(
        (status = 200, description = "The aging report", body = AgingReportView),
        (status = 422, description = "Unknown `group_by` or `basis`", body = Problem, content_type = "application/problem+json")))]
#[get("/reports/ar-aging")]
pub async fn ar_aging(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Export>,
    q: crate::extract::Query<AgingQuery>,
) -> ApiResult<HttpResponse> {
    let group = match q.group_by.as_deref() {
        None | Some("payer") => AgingGroup::Payer,
        Some("patient") => AgingGroup::Patient,
        Some(_) => return Err(CoreError::invalid("/group_by", "must be payer or patient").into()),
    };
    let basis = match q.basis.as_deref() {
        None | Some("service") => AgingBasis::DateOfService,
        Some("submission") => AgingBasis::SubmissionDate,
        Some(_) => {
            return Err(CoreError::invalid("/basis", "must be service or submission").into());
        }
    };
    let as_of = q.as_of.unwrap_or_else(|| Utc::now().date_naive());
    let r = db::run(&state, move |c| {
        accounts::ar_aging(c, who.org, as_of, group, basis)
    })
    .await?;
    Ok(db::json(&who, r))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// First day of the period (inclusive).
    pub from: Option<NaiveDate>,
    /// Last day of the period (inclusive).
    pub to: Option<NaiveDate>,
}

/// Denials
///
/// Denied adjustments (CAS amounts on denied service lines or claims, which posting reports
/// rather than posts) in remittances posted in the period: total count and amount, the number
/// of claims, and the same by CARC (`CO-29`), by payer id and by procedure code (`claim` for
/// claim-level denials), largest amount first. Needs the *export* permission on claims.
#[utoipa::path(tag = "reports", params(PeriodQuery),
    responses((status = 200, description = "The denials report", body = DenialsReport)))]
#[get("/reports/denials")]
pub async fn denials(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Export>,
    q: crate::extract::Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let (from, to) = (q.from, q.to);
    let r = db::run(&state, move |c| accounts::denials(c, who.org, from, to)).await?;
    Ok(db::json(&who, r))
}

/// Revenue-cycle KPIs
///
/// For the period `from`..`to` (default: the 90 days ending today), each as a rate with its
/// numerator and denominator (`value` is null when the denominator is zero):
///
/// - **clean_claim_rate**: of the claims first submitted in the period, the share never
///   rejected nor denied since.
/// - **denial_rate**: of the claims adjudicated in the period (moved to paid, partially_paid
///   or denied), the share denied.
/// - **days_in_ar**: total accounts receivable (positive claim balances, insurance and
///   patient) at the end of `to`, divided by the average daily charges of the 90 days ending
///   then.
/// - **net_collection_rate**: payments (insurance and patient, net of reversals and refunds)
///   posted in the period, divided by charges less contractual (CO) adjustments posted in the
///   period.
///
/// Needs the *export* permission on claims.
#[utoipa::path(tag = "reports", params(PeriodQuery),
    responses((status = 200, description = "The KPIs", body = Kpis)))]
#[get("/reports/kpis")]
pub async fn kpis(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Export>,
    q: crate::extract::Query<PeriodQuery>,
) -> ApiResult<HttpResponse> {
    let to = q.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = q.from.unwrap_or(to - Duration::days(89));
    if from > to {
        return Err(CoreError::invalid("/from", "must not be after to").into());
    }
    let r = db::run(&state, move |c| accounts::kpis(c, who.org, from, to)).await?;
    Ok(db::json(&who, r))
}
