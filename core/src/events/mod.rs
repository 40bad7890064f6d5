//! The rules of webhook delivery, with no I/O: Standard Webhooks signatures and secrets, the
//! retry schedule, and which addresses a subscription may point at (SSRF). The outbox and the
//! deliveries are stored by `store::events`; the API's deliverer sends them.

pub mod address;
pub mod retry;
pub mod signing;
