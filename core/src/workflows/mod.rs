//! The use cases: one transaction each, calling repositories, billing rules and the audit.
//! Handlers and jobs parse their input, call one of these and map the answer.

pub mod audit_trail;
pub mod claim_transitions;
pub mod denials;
pub mod events;
pub mod installments_due;
pub mod payer;
pub mod remittance_posting;
pub mod statements;
pub mod unmatched;
