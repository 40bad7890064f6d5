//! Every `/v1` request leaves an audit event, written before its response goes out.
//!
//! - Writes record their event inside their own transaction ([`AuditCtx`](context::AuditCtx), used by `db`), so
//!   the change and its event commit together or not at all.
//! - Everything else (reads, searches, refusals, failures) is recorded by [`middleware`](middleware::middleware) after
//!   the handler and before the response is released, through the process's group-commit
//!   [`AuditWriter`](writer::AuditWriter) (the audit store's group-commit writer): one thread takes the events of
//!   all concurrent requests, commits them in one transaction, then releases every waiting
//!   request. If the event cannot be written, the response is replaced by 503: no PHI is
//!   served unaudited.
//! - On PostgreSQL both commit into the unchained intake, and the sequencer chains them
//!   afterwards (`revcycle_core::store::audit_intake`); on SQLite they are chained at once.

pub mod context;
pub mod middleware;
pub mod writer;
