//! `serve`'s collector: a run every interval.

use std::sync::Arc;
use std::time::Duration;

use super::report::{status, Schedule, Status, SCHEDULE_SETTING};
use super::{run, Options};
use crate::clock::now_epoch_seconds;
use crate::storage::{Blobs, Metadata};

/// `serve`'s collector: runs every `interval`, counted from the last run in any
/// process (so several `serve` processes on one store do not each collect), and
/// skips a turn while another process holds the job. The first run's schedule is
/// recorded before this returns, so `serve` answers GetGarbageCollectionStatus with
/// it from its first request; the returned future is the collector to spawn.
pub async fn run_on_schedule(
    metadata: Arc<dyn Metadata>,
    blobs: Arc<dyn Blobs>,
    interval: Duration,
    upload_expiry: Duration,
) -> impl std::future::Future<Output = ()> + Send + 'static {
    let options = Options {
        upload_expiry,
        dry_run: false,
        wait: false,
    };
    let interval_seconds = interval.as_secs_f64();
    let last_finished = |status: Status| status.last_run.map(|r| r.started_at + r.seconds);
    let mut next = match status(metadata.as_ref()).await.map(last_finished) {
        Ok(Some(finished)) => (finished + interval_seconds).max(now_epoch_seconds()),
        _ => now_epoch_seconds() + interval_seconds,
    };
    record_schedule(metadata.as_ref(), interval_seconds, next).await;
    async move {
        loop {
            let wait = (next - now_epoch_seconds()).max(0.0);
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
            if let Ok(Some(finished)) = status(metadata.as_ref()).await.map(last_finished) {
                if finished + interval_seconds > now_epoch_seconds() + 1.0 {
                    next = finished + interval_seconds;
                    record_schedule(metadata.as_ref(), interval_seconds, next).await;
                    continue;
                }
            }
            match run(&metadata, &blobs, &options).await {
                Ok(Some(report)) => println!("{}", report.summary()),
                Ok(None) => println!("garbage collection: another process is collecting; skipped"),
                Err(e) => eprintln!("garbage collection failed: {e}"),
            }
            next = now_epoch_seconds() + interval_seconds;
            record_schedule(metadata.as_ref(), interval_seconds, next).await;
        }
    }
}

async fn record_schedule(metadata: &dyn Metadata, interval_seconds: f64, next_run_at: f64) {
    let schedule = Schedule {
        interval_seconds,
        next_run_at,
    };
    if let Err(e) = metadata
        .put_setting(
            SCHEDULE_SETTING,
            &serde_json::to_string(&schedule).unwrap_or_default(),
        )
        .await
    {
        eprintln!("garbage collection: cannot record the schedule: {e}");
    }
}
