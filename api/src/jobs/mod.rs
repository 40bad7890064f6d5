//! Background work of `serve`, each started once by the server (or by a route that asks for
//! it) and running beside the request workers. Work several instances may share is claimed
//! through the database, so any number of servers can run these.

pub mod audit_checkpoints;
pub mod event_delivery;
pub mod installments_due;
pub mod jwks_refresh;
pub mod key_rotation;
pub mod mllp_listener;
pub mod nats_publisher;
pub mod payer_inbox;
