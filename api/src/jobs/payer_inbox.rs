//! Polling the payer connector's inboxes for 835s, 999/TA1 and 277CA files.

use actix_web::web;
use revcycle_core::access::OrgId;
use revcycle_core::error::CoreError;
use revcycle_core::store;

use crate::connectors::payer::inbox::poll_once;
use crate::connectors::payer::link::payer_link;
use crate::problem::ApiError;
use crate::state::AppState;

/// Starts a poller for each inbox the payer connector has (its own and its payers').
pub fn spawn(state: web::Data<AppState>) -> Result<(), String> {
    let link = match payer_link(&state) {
        Ok(link) => link,
        // No payer connector is fine; a refused transport configuration is not.
        Err(ApiError::Core(CoreError::Unavailable(reason))) if reason.contains("refused") => {
            return Err(reason);
        }
        Err(_) => return Ok(()),
    };
    let inboxes = link.transport.inboxes();
    if inboxes.is_empty() {
        return Ok(());
    }
    let only_org = || -> Result<OrgId, String> {
        let mut conn = state.pool.get().map_err(|e| e.to_string())?;
        match store::orgs::list(&mut conn)
            .map_err(|e| e.to_string())?
            .as_slice()
        {
            [only] => Ok(OrgId(only.id)),
            _ => Err(
                "several organizations: say which one the payer inbox belongs to with \
                      config.org in connectors.toml"
                    .into(),
            ),
        }
    };
    let mut polled = Vec::new();
    for inbox in inboxes {
        let org = match inbox.org {
            Some(o) => OrgId(o),
            None => only_org()?,
        };
        // Received files hold PHI. A missing inbox is created 0700 (an existing one is left as
        // the operator set it: a transfer agent may drop files into it); the server's own
        // processed/ and failed/ are private (0700).
        crate::files::ensure_private_dir(&inbox.dir)
            .map_err(|e| format!("payer inbox: {}", e.kind()))?;
        for d in ["processed", "failed"] {
            crate::files::private_dir(&inbox.dir.join(d))
                .map_err(|e| format!("payer inbox: {}", e.kind()))?;
        }
        polled.push((inbox.dir, org));
    }
    let poll = link.transport.poll;
    tracing::info!(connector = %link.name, inboxes = polled.len(), "payer inbox polling started");
    for (dir, org) in polled {
        let state = state.clone();
        actix_web::rt::spawn(async move {
            loop {
                if let Err(e) = poll_once(&state, &dir, org).await {
                    tracing::warn!(error = %e.kind(), "payer inbox poll failed");
                }
                actix_web::rt::time::sleep(poll).await;
            }
        });
    }
    Ok(())
}
