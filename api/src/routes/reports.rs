//! Receivables reports, folded from the ledger and the claims' histories.

use actix_web::{HttpResponse, get, web};
use chrono::{Duration, NaiveDate, Utc};
use revcycle_core::billing::aging::{AgingBasis, AgingGroup};
use revcycle_core::error::CoreError;
use revcycle_core::store::accounts::{self, AgingReportView, DenialsReport, Kpis};
use revcycle_core::store::denial_analytics::{
    self as analytics, AnalyticsQuery, DEFAULT_GROUP_LIMIT, DenialAnalytics, MAX_GROUP_LIMIT,
};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

use crate::authz::{Authorized, act, res};
use crate::db;
use crate::problem::{ApiResult, Problem};
use crate::state::AppState;

pub fn configure(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(ar_aging)
        .service(denials)
        .service(kpis)
        .service(denial_analytics);
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DenialsQuery {
    /// First day of the period (inclusive; open-ended when absent).
    pub from: Option<NaiveDate>,
    /// Last day of the period (inclusive; open-ended when absent).
    pub to: Option<NaiveDate>,
    /// Groups per list (by CARC, payer, procedure code), largest amount first; default 20.
    #[param(minimum = 1, maximum = 500, example = 20)]
    pub limit: Option<i64>,
}

/// Denials
///
/// Denied adjustments (CAS amounts on denied service lines or claims, which posting reports
/// rather than posts; not the denial codes of paid lines) in remittances posted in the period
/// (`from` 00:00 to `to` 23:59:59 UTC, each open-ended when absent): total count and amount,
/// the number of claims, and the same by CARC (`CO-29`), by payer id and by procedure code
/// (`claim` for claim-level denials), largest amount first (then the key), `limit` groups per
/// list. Aggregated by the database. Needs the *export* permission on claims.
#[utoipa::path(tag = "reports", params(DenialsQuery),
    responses((status = 200, description = "The denials report", body = DenialsReport),
        (status = 422, description = "`from` after `to`, or a `limit` out of range", body = Problem, content_type = "application/problem+json")))]
#[get("/reports/denials")]
pub async fn denials(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Export>,
    q: crate::extract::Query<DenialsQuery>,
) -> ApiResult<HttpResponse> {
    let (from, to) = (q.from, q.to);
    if from.zip(to).is_some_and(|(f, t)| f > t) {
        return Err(CoreError::invalid("/from", "must not be after to").into());
    }
    let limit = q.limit.unwrap_or(accounts::DENIAL_GROUP_LIMIT);
    if !(1..=MAX_GROUP_LIMIT).contains(&limit) {
        return Err(CoreError::invalid("/limit", "must be between 1 and 500").into());
    }
    let r = db::run(&state, move |c| {
        accounts::denials(c, who.org, from, to, limit)
    })
    .await?;
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsParams {
    /// First day of the period, on the denial's creation date (inclusive; default 89 days
    /// before `to`).
    pub from: Option<NaiveDate>,
    /// Last day of the period (inclusive; default today).
    pub to: Option<NaiveDate>,
    /// Only this payer's denials (and its adjudicated claims).
    pub payer_id: Option<Uuid>,
    /// Groups per list (by payer, category, CARC, provider), largest first; default 20.
    #[param(minimum = 1, maximum = 500, example = 20)]
    pub limit: Option<i64>,
}

/// Denial analytics
///
/// Computed by the database for the denials found in the period (`from`..`to` on the
/// denial's creation date, default the 90 days ending today), optionally of one payer:
///
/// - **denial_rate**: claims with at least one denial (line or claim level) found in the
///   period, over claims adjudicated in the period (moved to paid, partially_paid or denied;
///   each claim once). Each group list (`by_payer`, `by_category`, `by_carc` as `CO-197`,
///   `by_provider`: the claim's rendering provider, else its billing provider) gives its
///   denied claims, denials and amount with the rate; the denominator is the payer's or
///   provider's adjudicated claims, and all adjudicated claims for a category or CARC. Lists
///   hold the `limit` groups with the most denied claims (then amount).
/// - **appeals** of those denials: sent, decided, overturned, partially overturned, upheld;
///   **overturn_rate** = (overturned + partially overturned) / decided.
/// - **days_to_resolve** of those closed (resolved or written off): calendar days (UTC) from
///   the denial to its last status move; average (two places) and median.
/// - **recovered**: insurance payments (net of reversals) posted after the claim's first
///   denial of the period, on the denied claim or on a corrected claim made from the denial.
/// - **written_off**: write-offs booked against those denials.
///
/// Rates have their numerator and denominator; `value` is null when the denominator is zero.
/// Needs the *export* permission on claims.
#[utoipa::path(tag = "reports", params(AnalyticsParams),
    responses(
        (status = 200, description = "The denial analytics", body = DenialAnalytics,
            example = json!({
                "from": "2026-09-09", "to": "2026-12-07", "payer_id": null,
                "denial_rate": {"value": "0.7500", "numerator": "3", "denominator": "4"},
                "denials": 3, "denied_amount": "600.00",
                "by_payer": [{"key": "019aa7a4-3c5e-7d4e-9b7a-1c2d3e4f5a6b", "denied_claims": 2,
                    "denials": 2, "amount": "400.00",
                    "rate": {"value": "0.6667", "numerator": "2", "denominator": "3"}}],
                "by_category": [{"key": "authorization", "denied_claims": 1, "denials": 1,
                    "amount": "200.00",
                    "rate": {"value": "0.2500", "numerator": "1", "denominator": "4"}}],
                "by_carc": [{"key": "CO-197", "denied_claims": 1, "denials": 1, "amount": "200.00",
                    "rate": {"value": "0.2500", "numerator": "1", "denominator": "4"}}],
                "by_provider": [{"key": "019aa7a4-3c5e-7d4e-9b7a-6b5a4f3e2d1c", "denied_claims": 3,
                    "denials": 3, "amount": "600.00",
                    "rate": {"value": "0.7500", "numerator": "3", "denominator": "4"}}],
                "appeals": {"sent": 2, "decided": 2, "overturned": 1, "partially_overturned": 0,
                    "upheld": 1,
                    "overturn_rate": {"value": "0.5000", "numerator": "1", "denominator": "2"}},
                "days_to_resolve": {"closed": 2, "average_days": "6.50", "median_days": "6.5"},
                "recovered": "160.00", "written_off": "200.00"
            })),
        (status = 422, description = "`from` after `to`, or a `limit` out of range", body = Problem, content_type = "application/problem+json")))]
#[get("/reports/denial-analytics")]
pub async fn denial_analytics(
    state: web::Data<AppState>,
    Authorized { who, .. }: Authorized<res::Claim, act::Export>,
    q: crate::extract::Query<AnalyticsParams>,
) -> ApiResult<HttpResponse> {
    let to = q.to.unwrap_or_else(|| Utc::now().date_naive());
    let from = q.from.unwrap_or(to - Duration::days(89));
    if from > to {
        return Err(CoreError::invalid("/from", "must not be after to").into());
    }
    let limit = q.limit.unwrap_or(DEFAULT_GROUP_LIMIT);
    if !(1..=MAX_GROUP_LIMIT).contains(&limit) {
        return Err(CoreError::invalid("/limit", "must be between 1 and 500").into());
    }
    let query = AnalyticsQuery {
        from,
        to,
        payer_id: q.payer_id,
        limit,
    };
    let r = db::run(&state, move |c| {
        analytics::denial_analytics(c, who.org, &query)
    })
    .await?;
    Ok(db::json(&who, r))
}
