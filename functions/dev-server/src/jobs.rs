//! The cleanup jobs, in-process: the same code the `cleanup` Lambda runs.

use std::sync::Arc;

use ::jobs::{CascadeTarget, Deadline, cascade, sweep};
use api::{ApiStore, AppState};
use domain::Timestamp;
use notify::LogNotifier;
use store::{ApiKeySweep, PendingCascades, error_chain};
use tokio::sync::mpsc;

use crate::JobOptions;

/// Runs each queued cascade as it comes, and the sweep every `sweep_every`
/// (the first right away, like a Lambda schedule catching up). Expiry notices
/// go to the log.
pub(crate) async fn run<S: ApiStore + ApiKeySweep + PendingCascades>(
    state: Arc<AppState<S>>,
    mut cascades: mpsc::UnboundedReceiver<CascadeTarget>,
    options: JobOptions,
) {
    let mut timer = tokio::time::interval(options.sweep_every);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            queued = cascades.recv() => {
                let Some(target) = queued else { return };
                if let Err(error) = cascade(&state.store, &target, Deadline::NONE).await {
                    tracing::error!(?target, error = %error_chain(&error), "cascade failed");
                }
            }
            _ = timer.tick() => {
                let swept = sweep(&state.store, &LogNotifier, Timestamp::now(), options.sweep, Deadline::NONE).await;
                if let Err(error) = swept {
                    tracing::error!(error = %error_chain(&error), "sweep failed");
                }
            }
        }
    }
}
