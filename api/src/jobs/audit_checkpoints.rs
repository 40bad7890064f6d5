//! Checkpoints of each org's audit tree, signed and published in the background.

use std::sync::Arc;
use std::time::{Duration, Instant};

use revcycle_core::error::CoreResult;
use revcycle_core::store::{DbPool, audit_tree};
use uuid::Uuid;

use crate::audit_checkpoints::{Checkpointer, size_of};

/// `serve`'s background checkpointer: every second it looks at each org's tree, and
/// checkpoints those grown by `every_events` since their latest checkpoint, or grown at all
/// and last checkpointed `every_secs` ago or more.
pub fn spawn(pool: DbPool, cp: Arc<Checkpointer>, every_events: u64, every_secs: u64) {
    let spawned = std::thread::Builder::new()
        .name("audit-checkpoints".into())
        .spawn(move || {
            let mut last: std::collections::HashMap<Uuid, Instant> = Default::default();
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let Ok(mut conn) = pool.get() else { continue };
                let orgs = match audit_tree::orgs(&mut conn) {
                    Ok(o) => o,
                    Err(e) => {
                        tracing::warn!(error = %e, "audit checkpoints: cannot list trees");
                        continue;
                    }
                };
                for org in orgs {
                    let due = (|| -> CoreResult<bool> {
                        let size = audit_tree::head(&mut conn, org)?.map_or(0, |f| f.size());
                        let published = cp
                            .publisher
                            .latest(org)?
                            .and_then(|n| size_of(&n))
                            .unwrap_or(0);
                        let since = last.entry(org).or_insert_with(Instant::now).elapsed();
                        Ok(size > published
                            && (size - published >= every_events
                                || since >= Duration::from_secs(every_secs)))
                    })();
                    match due {
                        Ok(true) => match cp.checkpoint(&mut conn, org) {
                            Ok(_) => {
                                last.insert(org, Instant::now());
                            }
                            Err(e) => tracing::warn!(%org, error = %e, "audit checkpoint failed"),
                        },
                        Ok(false) => {}
                        Err(e) => tracing::warn!(%org, error = %e, "audit checkpoint check failed"),
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "audit checkpoint thread could not start");
    }
}
