//! Minimum necessary (45 CFR 164.502(b)): each role sees only the identifiers its work needs.
//! Every response body passes through [`Mask::mask`] with the caller's [`View`] on its way
//! out, in one place (the API's response helpers), so no route can forget it.

use super::permissions::{Capability, granted};
use super::principal::{Principal, Role};
use crate::model::Page;
use crate::model::coverage::Coverage;
use crate::model::patient::Patient;

/// How much of a field a caller may see. Ordered: a caller with several roles gets the most any
/// of them allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Disclosure {
    Hidden,
    /// The last four characters only (SSN `***-**-6789`).
    Last4,
    Full,
}

/// What a caller may see of the identifiers that are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct View {
    pub ssn: Disclosure,
    /// Phone and email.
    pub contact: Disclosure,
    /// Postal addresses (patient and subscriber).
    pub address: Disclosure,
}

impl View {
    pub const FULL: View = View {
        ssn: Disclosure::Full,
        contact: Disclosure::Full,
        address: Disclosure::Full,
    };
    const NOTHING: View = View {
        ssn: Disclosure::Hidden,
        contact: Disclosure::Hidden,
        address: Disclosure::Hidden,
    };

    pub fn for_role(role: Role) -> View {
        use Disclosure::*;
        let (ssn, contact, address) = match role {
            // Registration staff collect and correct these identifiers.
            Role::Admin | Role::FrontDesk => (Full, Full, Full),
            // Billers call and bill patients; an EHR reconciles its own registrations.
            Role::Biller | Role::EhrIntegration => (Last4, Full, Full),
            // Coding needs the visit, not how to reach the patient.
            Role::Coder => (Last4, Hidden, Hidden),
            // A claim needs the patient's address, never the SSN.
            Role::BillingApp => (Hidden, Hidden, Full),
            Role::ComplianceOfficer => (Hidden, Hidden, Hidden),
        };
        View {
            ssn,
            contact,
            address,
        }
    }

    /// The caller's view: the most any of their roles allows, or everything during a
    /// break-glass access (which is recorded).
    pub fn for_principal(who: &Principal) -> View {
        if who.break_glass_reason.is_some()
            && who
                .roles
                .iter()
                .any(|r| granted(*r, Capability::BreakGlass))
        {
            return View::FULL;
        }
        who.roles.iter().fold(View::NOTHING, |v, r| {
            let w = View::for_role(*r);
            View {
                ssn: v.ssn.max(w.ssn),
                contact: v.contact.max(w.contact),
                address: v.address.max(w.address),
            }
        })
    }
}

/// A response body that may carry masked identifiers.
pub trait Mask {
    fn mask(&mut self, view: &View);
}

fn ssn(value: &mut Option<String>, d: Disclosure) {
    match d {
        Disclosure::Full => {}
        Disclosure::Hidden => *value = None,
        Disclosure::Last4 => {
            if let Some(v) = value {
                let last4: String = v
                    .chars()
                    .rev()
                    .take(4)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                *v = format!("***-**-{last4}");
            }
        }
    }
}

fn hide<T>(value: &mut Option<T>, d: Disclosure) {
    if d != Disclosure::Full {
        *value = None;
    }
}

impl Mask for Patient {
    fn mask(&mut self, view: &View) {
        ssn(&mut self.ssn, view.ssn);
        hide(&mut self.phone, view.contact);
        hide(&mut self.email, view.contact);
        hide(&mut self.address, view.address);
    }
}

impl Mask for Coverage {
    fn mask(&mut self, view: &View) {
        if let Some(s) = &mut self.subscriber {
            hide(&mut s.address, view.address);
        }
    }
}

impl<T: Mask> Mask for Vec<T> {
    fn mask(&mut self, view: &View) {
        for item in self {
            item.mask(view);
        }
    }
}

impl<T: Mask> Mask for Page<T> {
    fn mask(&mut self, view: &View) {
        self.items.mask(view);
    }
}

/// Records that carry no masked identifiers.
macro_rules! nothing_to_mask {
    ($($t:ty),*) => {$(
        impl Mask for $t {
            fn mask(&mut self, _: &View) {}
        }
    )*};
}

nothing_to_mask!(
    crate::model::payer::Payer,
    crate::model::provider::Provider,
    crate::model::encounter::Encounter,
    crate::model::claim::Claim,
    crate::model::remittance::Remittance,
    crate::store::billing::ScrubResult,
    crate::store::billing::ClaimTransitioned,
    crate::store::posting::PostingResult,
    crate::store::posting::UnmatchedItem,
    crate::store::unmatched::UnmatchedWorkItem,
    crate::store::unmatched::PayerRefund,
    crate::workflows::unmatched::DecisionOutcome,
    crate::store::unidentified::UnidentifiedRemittance,
    crate::store::unpaid_claims::UnpaidClaim,
    crate::store::filing_deadlines::UnfiledClaim,
    crate::store::accounts::ClaimLedger,
    crate::store::accounts::PatientBalance,
    crate::store::accounts::PatientPaymentResult,
    crate::store::accounts::AgingReportView,
    crate::store::accounts::DenialsReport,
    crate::store::accounts::Kpis,
    crate::store::denial_analytics::DenialAnalytics,
    crate::store::payment_plans::PaymentPlan,
    crate::store::cob::SecondaryClaim,
    crate::model::denial::Denial,
    crate::model::denial::DenialDetail,
    crate::model::denial::DenialNote,
    crate::workflows::denials::DenialWriteOff,
    crate::workflows::denials::DenialResubmission,
    crate::workflows::denials::DenialAppealed,
    crate::workflows::denials::AppealLetter,
    crate::store::charge_master::ChargeMasterEntry,
    crate::store::statements::StatementProfile,
    crate::model::letter_template::LetterTemplate,
    crate::workflows::statements::StatementRun,
    crate::workflows::statements::IssuedStatement
);

/// A statement is printed and mailed: the address shows only to those who may see it.
impl Mask for crate::workflows::statements::Statement {
    fn mask(&mut self, view: &View) {
        hide(&mut self.address, view.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssn_shows_last_four_or_nothing() {
        let mut v = Some("123456789".to_string());
        ssn(&mut v, Disclosure::Last4);
        assert_eq!(v.as_deref(), Some("***-**-6789"));
        let mut v = Some("123456789".to_string());
        ssn(&mut v, Disclosure::Hidden);
        assert_eq!(v, None);
        let mut v = Some("123456789".to_string());
        ssn(&mut v, Disclosure::Full);
        assert_eq!(v.as_deref(), Some("123456789"));
    }

    #[test]
    fn several_roles_see_the_most_either_allows() {
        let who = Principal {
            subject: "s".into(),
            org: crate::access::OrgId(uuid::Uuid::nil()),
            roles: vec![Role::Coder, Role::BillingApp],
            client_id: None,
            scopes: None,
            purpose_of_use: None,
            break_glass_reason: None,
        };
        let v = View::for_principal(&who);
        assert_eq!(v.ssn, Disclosure::Last4);
        assert_eq!(v.contact, Disclosure::Hidden);
        assert_eq!(v.address, Disclosure::Full);
        let mut glass = who.clone();
        glass.break_glass_reason = Some("unconscious patient in the ED".into());
        assert_eq!(
            View::for_principal(&glass),
            View::FULL,
            "coder may break the glass"
        );
        let mut app = who;
        app.roles = vec![Role::BillingApp];
        app.break_glass_reason = Some("x".into());
        assert_eq!(
            View::for_principal(&app).ssn,
            Disclosure::Hidden,
            "apps cannot"
        );
    }
}
