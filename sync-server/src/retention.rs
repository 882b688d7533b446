//! The retention sweep: every `retention_every`, the contact details of
//! cases closed for longer than `contact_retention` are erased from their
//! interviews ([`crate::service::cases::erase_due_contacts`]), and the
//! personal data of campaigns past their retention period
//! ([`crate::service::retention::apply`]). Idempotent and
//! safe on several replicas: a case is marked once (its version check), and
//! erasing what is already gone changes nothing but the time recorded.

use crate::AppState;

/// Start the sweep on the current runtime; it runs until the process ends.
pub fn spawn(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let every = state.settings.retention_every;
        loop {
            let now = central_store::unix_now();
            match state
                .blocking(move |st| crate::service::cases::erase_due_contacts(st, now))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!(cases = n, "contact details erased after retention"),
                Err(e) => tracing::warn!(error = %e, "retention sweep failed; retried next round"),
            }
            match state
                .blocking(move |st| crate::service::retention::apply(st, now))
                .await
            {
                Ok(plans) => {
                    for p in plans.iter().filter(|p| p.erased > 0) {
                        tracing::info!(campaign = %p.campaign, interviews = p.erased, "personal data erased after the campaign's retention period");
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "campaign retention failed; retried next round")
                }
            }
            tokio::time::sleep(every).await;
        }
    })
}
