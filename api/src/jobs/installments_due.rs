//! Looks for payment plan installments fallen due, at start and then at every interval, and
//! announces each once (`payment_plan.installment_due`; see `workflows::installments_due`).

use std::time::Duration;

use revcycle_core::store::DbPool;
use revcycle_core::workflows::installments_due;

pub fn spawn(pool: DbPool, every: Duration) {
    let spawned = std::thread::Builder::new()
        .name("installments-due".into())
        .spawn(move || {
            loop {
                match pool.get() {
                    Ok(mut conn) => {
                        let today = chrono::Utc::now().date_naive();
                        match installments_due::announce(&mut conn, today) {
                            Ok(0) => {}
                            Ok(n) => tracing::info!(
                                installments = n,
                                "installments fallen due announced"
                            ),
                            Err(e) => tracing::warn!(error = %e, "installments due: check failed"),
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "installments due: no database connection")
                    }
                }
                std::thread::sleep(every);
            }
        });
    if let Err(e) = spawned {
        tracing::error!(error = %e, "installments due thread could not start");
    }
}
