//! End-to-end tests: the real `revcycle` binary, a real database (SQLite and PostgreSQL),
//! driven over HTTP like a client would.

mod access;
mod audit;
mod billing;
mod checkpoints;
mod cli;
mod cob;
mod codes;
mod connectors;
mod denial_analytics;
mod denials;
mod errors;
mod events;
mod events_nats;
mod events_replay;
mod events_tail;
mod fhir;
mod filing_deadlines;
mod fixtures;
mod hl7_acks;
mod hostile;
mod identity;
mod jwks;
mod master_key;
mod payer;
mod payer_identification;
mod payer_transports;
mod phi;
mod readme;
mod resources;
mod retention;
mod rotation;
mod schemathesis;
mod server;
mod snapshots;
mod statements;
mod submitter;
mod unmatched;
mod unpaid_claims;
mod validation;

/// Declare one test per database engine for an `async fn(Engine)`.
#[macro_export]
macro_rules! on_both_engines {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(revcycle_e2e::Engine::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name(revcycle_e2e::Engine::Postgres).await
            }
        }
    };
}
