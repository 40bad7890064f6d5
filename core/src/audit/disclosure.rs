//! What a response disclosed: whose records, and which kinds of PHI (field names, never
//! values). Computed from the body after masking, so a field a role does not see is not
//! counted as disclosed.

use std::collections::BTreeSet;

use uuid::Uuid;

use crate::model::Page;
use crate::model::claim::Claim;
use crate::model::coverage::Coverage;
use crate::model::encounter::Encounter;
use crate::model::patient::Patient;
use crate::model::payer::Payer;
use crate::model::provider::Provider;
use crate::model::remittance::Remittance;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disclosed {
    pub patient_ids: BTreeSet<Uuid>,
    pub fields: BTreeSet<&'static str>,
}

impl Disclosed {
    pub fn of<T: Discloses + ?Sized>(body: &T) -> Disclosed {
        let mut d = Disclosed::default();
        body.disclose(&mut d);
        d
    }

    fn field(&mut self, name: &'static str, present: bool) {
        if present {
            self.fields.insert(name);
        }
    }
}

/// Implemented by every response body.
pub trait Discloses {
    fn disclose(&self, d: &mut Disclosed);
}

impl<T: Discloses> Discloses for Vec<T> {
    fn disclose(&self, d: &mut Disclosed) {
        for item in self {
            item.disclose(d);
        }
    }
}

impl<T: Discloses> Discloses for Page<T> {
    fn disclose(&self, d: &mut Disclosed) {
        self.items.disclose(d);
    }
}

impl Discloses for Patient {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.id);
        for f in ["mrn", "family_name", "given_name", "birth_date", "sex"] {
            d.fields.insert(f);
        }
        d.field("middle_name", self.middle_name.is_some());
        d.field("address", self.address.is_some());
        d.field("phone", self.phone.is_some());
        d.field("email", self.email.is_some());
        match &self.ssn {
            Some(s) if s.starts_with('*') => d.field("ssn_last4", true),
            Some(_) => d.field("ssn", true),
            None => {}
        }
        d.field("external_ids", !self.external_ids.is_empty());
        d.field("mrn_system", self.mrn_system.is_some());
    }
}

impl Discloses for Coverage {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("member_id");
        d.field("group_number", self.group_number.is_some());
        d.fields.insert("coverage_period");
        if let Some(s) = &self.subscriber {
            d.fields.insert("subscriber_name");
            d.fields.insert("subscriber_birth_date");
            d.field("subscriber_address", s.address.is_some());
        }
    }
}

impl Discloses for Encounter {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in ["service_dates", "diagnoses", "procedures", "charges"] {
            d.fields.insert(f);
        }
        d.field("prior_authorization", self.prior_authorization.is_some());
    }
}

impl Discloses for Claim {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in [
            "patient_control_number",
            "service_dates",
            "diagnoses",
            "procedures",
            "charges",
        ] {
            d.fields.insert(f);
        }
        d.field("prior_authorization", self.prior_authorization.is_some());
    }
}

impl Discloses for Remittance {
    fn disclose(&self, d: &mut Disclosed) {
        // Claim payments name our claims by control number; which patients they belong to is
        // known once posting matches them.
        if !self.claims.is_empty() {
            d.fields.insert("patient_control_number");
            d.fields.insert("claim_payments");
        }
    }
}

/// Directory data: no PHI.
impl Discloses for Payer {
    fn disclose(&self, _: &mut Disclosed) {}
}

impl Discloses for Provider {
    fn disclose(&self, _: &mut Disclosed) {}
}

// Billing responses: whose accounts they show, and which kinds of data (never amounts).

impl Discloses for crate::store::billing::ScrubResult {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("claim_status");
        d.field("scrub_findings", !self.findings.is_empty());
    }
}

impl Discloses for crate::store::billing::ClaimTransitioned {
    fn disclose(&self, d: &mut Disclosed) {
        self.claim.disclose(d);
        d.fields.insert("claim_status");
    }
}

impl Discloses for crate::store::posting::PostingResult {
    fn disclose(&self, d: &mut Disclosed) {
        for c in &self.claims {
            d.patient_ids.insert(c.patient_id);
        }
        d.field("ledger", !self.claims.is_empty());
        d.field("claim_status", !self.claims.is_empty());
        d.field("denials", !self.denials.is_empty());
        self.unmatched.disclose(d);
    }
}

impl Discloses for crate::model::denial::Denial {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("denials");
    }
}

impl Discloses for crate::model::denial::DenialNote {
    fn disclose(&self, d: &mut Disclosed) {
        if !self.patient_id.is_nil() {
            d.patient_ids.insert(self.patient_id);
        }
        d.fields.insert("denial_notes");
    }
}

impl Discloses for crate::workflows::denials::DenialWriteOff {
    fn disclose(&self, d: &mut Disclosed) {
        self.denial.disclose(d);
        for f in ["ledger", "balances", "claim_status"] {
            d.fields.insert(f);
        }
        if let Some(n) = &self.note {
            n.disclose(d);
        }
    }
}

impl Discloses for crate::workflows::denials::DenialResubmission {
    fn disclose(&self, d: &mut Disclosed) {
        self.denial.disclose(d);
        self.claim.disclose(d);
        d.fields.insert("claim_status");
        if let Some(n) = &self.note {
            n.disclose(d);
        }
    }
}

impl Discloses for crate::workflows::denials::DenialAppealed {
    fn disclose(&self, d: &mut Disclosed) {
        self.denial.disclose(d);
        d.fields.insert("appeals");
        d.fields.insert("claim_status");
        if let Some(n) = &self.note {
            n.disclose(d);
        }
    }
}

/// A letter shows the patient's name, date of birth and member id, and the claim.
impl Discloses for crate::workflows::denials::AppealLetter {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in [
            "family_name",
            "given_name",
            "birth_date",
            "denials",
            "claim",
        ] {
            d.fields.insert(f);
        }
        d.field("member_id", self.member_id.is_some());
    }
}

impl Discloses for crate::model::denial::DenialDetail {
    fn disclose(&self, d: &mut Disclosed) {
        self.denial.disclose(d);
        self.notes.disclose(d);
    }
}

impl Discloses for crate::store::posting::UnmatchedItem {
    fn disclose(&self, d: &mut Disclosed) {
        d.fields.insert("patient_control_number");
        d.fields.insert("claim_payments");
    }
}

/// An unmatched claim payment names no patient; its candidate claims and the claims a decision
/// posted to do.
impl Discloses for crate::store::unmatched::UnmatchedWorkItem {
    fn disclose(&self, d: &mut Disclosed) {
        d.fields.insert("patient_control_number");
        d.fields.insert("claim_payments");
        for c in &self.candidates {
            d.patient_ids.insert(c.patient_id);
            for f in ["service_dates", "charges", "claim_status"] {
                d.fields.insert(f);
            }
        }
        if let Some(decision) = &self.decision {
            for c in &decision.claims {
                d.patient_ids.insert(c.patient_id);
                d.fields.insert("claim_status");
            }
        }
    }
}

impl Discloses for crate::store::unmatched::PayerRefund {
    fn disclose(&self, d: &mut Disclosed) {
        d.fields.insert("patient_control_number");
        d.fields.insert("claim_payments");
    }
}

impl Discloses for crate::workflows::unmatched::DecisionOutcome {
    fn disclose(&self, d: &mut Disclosed) {
        self.item.disclose(d);
        if let Some(p) = &self.posting {
            p.disclose(d);
        }
    }
}

impl Discloses for crate::store::unpaid_claims::UnpaidClaim {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in ["patient_control_number", "claim_status", "charges"] {
            d.fields.insert(f);
        }
    }
}

impl Discloses for crate::store::filing_deadlines::UnfiledClaim {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in ["patient_control_number", "claim_status", "charges"] {
            d.fields.insert(f);
        }
    }
}

impl Discloses for crate::store::unidentified::UnidentifiedRemittance {
    fn disclose(&self, d: &mut Disclosed) {
        d.fields.insert("remittance");
    }
}

impl Discloses for crate::store::accounts::ClaimLedger {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in ["ledger", "balances", "claim_status"] {
            d.fields.insert(f);
        }
    }
}

impl Discloses for crate::store::accounts::PatientBalance {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("balances");
        d.field("service_dates", !self.claims.is_empty());
    }
}

impl Discloses for crate::store::accounts::PatientPaymentResult {
    fn disclose(&self, d: &mut Disclosed) {
        self.balance.disclose(d);
        d.fields.insert("ledger");
    }
}

impl Discloses for crate::workflows::statements::Statement {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        for f in ["family_name", "given_name", "ledger", "balances"] {
            d.fields.insert(f);
        }
        d.field("address", self.address.is_some());
        d.field("service_dates", !self.items.is_empty());
        d.field("procedures", !self.items.is_empty());
        d.field("payment_plan", self.payment_plan.is_some());
    }
}

/// Reference data: no PHI.
impl Discloses for crate::store::charge_master::ChargeMasterEntry {
    fn disclose(&self, _: &mut Disclosed) {}
}

impl Discloses for crate::store::statements::StatementProfile {
    fn disclose(&self, _: &mut Disclosed) {}
}

impl Discloses for crate::model::letter_template::LetterTemplate {
    fn disclose(&self, _: &mut Disclosed) {}
}

/// Whose statements were issued and their amounts: no names or services.
impl Discloses for crate::workflows::statements::IssuedStatement {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("balances");
    }
}

impl Discloses for crate::workflows::statements::StatementRun {
    fn disclose(&self, d: &mut Disclosed) {
        self.statements.disclose(d);
    }
}

impl Discloses for crate::store::accounts::AgingReportView {
    fn disclose(&self, d: &mut Disclosed) {
        if self.group_by == "patient" {
            for r in &self.rows {
                d.patient_ids.insert(r.key);
            }
            d.field("balances", !self.rows.is_empty());
        }
    }
}

impl Discloses for crate::store::payment_plans::PaymentPlan {
    fn disclose(&self, d: &mut Disclosed) {
        d.patient_ids.insert(self.patient_id);
        d.fields.insert("balances");
        d.fields.insert("payment_plan");
    }
}

impl Discloses for crate::store::cob::SecondaryClaim {
    fn disclose(&self, d: &mut Disclosed) {
        self.claim.disclose(d);
        d.fields.insert("primary_adjudication");
    }
}

/// Aggregates over many claims: no patient and no identifier.
impl Discloses for crate::store::accounts::DenialsReport {
    fn disclose(&self, _: &mut Disclosed) {}
}

impl Discloses for crate::store::accounts::Kpis {
    fn disclose(&self, _: &mut Disclosed) {}
}

impl Discloses for crate::store::denial_analytics::DenialAnalytics {
    fn disclose(&self, _: &mut Disclosed) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes::AdministrativeSex;

    fn patient(n: u128, ssn: Option<&str>, phone: Option<&str>) -> Patient {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Patient {
            id: Uuid::from_u128(n),
            mrn: "M1".into(),
            mrn_system: None,
            family_name: "F".into(),
            given_name: "G".into(),
            middle_name: None,
            birth_date: chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            sex: AdministrativeSex::Unknown,
            address: None,
            phone: phone.map(str::to_string),
            email: None,
            ssn: ssn.map(str::to_string),
            external_ids: vec![],
            active: true,
            version: 1,
            created_at: t,
            updated_at: t,
        }
    }

    #[test]
    fn a_page_names_every_patient_and_only_the_fields_left_after_masking() {
        let page = Page {
            items: vec![
                patient(1, Some("***-**-6789"), None),
                patient(2, None, Some("2175550100")),
            ],
            next_cursor: None,
        };
        let d = Disclosed::of(&page);
        assert_eq!(
            d.patient_ids,
            [Uuid::from_u128(1), Uuid::from_u128(2)].into()
        );
        assert!(d.fields.contains("ssn_last4") && d.fields.contains("phone"));
        for absent in ["ssn", "email", "address", "middle_name", "external_ids"] {
            assert!(!d.fields.contains(absent), "{absent}");
        }
        let payers: Page<Payer> = Page {
            items: vec![],
            next_cursor: None,
        };
        assert_eq!(Disclosed::of(&payers), Disclosed::default());
    }
}
