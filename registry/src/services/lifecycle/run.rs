//! Lifecycle runs: every repository's policy evaluated, and the images it expires
//! deleted the way BatchDeleteImage deletes them (by digest, through
//! [`images::batch_delete`]), so their blobs become garbage for GC to reclaim.
//! `serve` runs one every interval; `berth-registry lifecycle run` runs one on
//! demand. One run at a time across every process on the store.

use std::time::{Duration, Instant};

use berth_model::ecr::{BatchImagesRequest, ImageIdentifier};
use berth_model::lifecycle::{evaluate, RuleAction};
use serde::Serialize;

use super::super::error::Result;
use super::super::images;
use super::{check_policy_text, repository_images};
use crate::clock::now_epoch_seconds;
use crate::storage::{Job, LifecyclePolicyRecord, RepositoryRecord};
use crate::AppState;

/// The setting that holds when the last run (in any process) started.
pub const LAST_RUN_SETTING: &str = "lifecycle_last_run";
/// Repositories read per query.
const PAGE: usize = 100;
/// BatchDeleteImage's limit on image ids per call.
const BATCH: usize = 100;
/// Failures kept in a report; the rest are counted only.
const MAX_FAILURES: usize = 20;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Evaluate and report; delete nothing and record no evaluation.
    pub dry_run: bool,
    /// Wait for another process's run to end instead of skipping this one.
    pub wait: bool,
}

/// An image a run expired (or, in a dry run, would expire).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpiredImage {
    pub repository_name: String,
    pub image_digest: String,
    pub image_tags: Vec<String>,
    pub applied_rule_priority: u32,
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub started_at: f64,
    pub seconds: f64,
    pub dry_run: bool,
    pub repositories_evaluated: u64,
    pub images_expired: u64,
    pub expired: Vec<ExpiredImage>,
    /// Images a `transition` rule selects: Berth has no archive storage class, so
    /// they stay as they are.
    pub transitions_skipped: u64,
    /// What could not be done, and why (the first few).
    pub failures: Vec<String>,
    pub failure_count: u64,
}

impl Report {
    fn fail(&mut self, what: impl std::fmt::Display, why: impl std::fmt::Display) {
        self.failure_count += 1;
        if self.failures.len() < MAX_FAILURES {
            self.failures.push(format!("{what}: {why}"));
        }
    }

    /// One line for logs and the command line.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "lifecycle run (dry run) would expire"
        } else {
            "lifecycle run expired"
        };
        let mut line = format!(
            "{verb} {} image{} in {} repositor{} with a lifecycle policy in {:.2} s",
            self.images_expired,
            if self.images_expired == 1 { "" } else { "s" },
            self.repositories_evaluated,
            if self.repositories_evaluated == 1 {
                "y"
            } else {
                "ies"
            },
            self.seconds
        );
        if self.transitions_skipped > 0 {
            line.push_str(&format!(
                "; {} image{} left in place: transition needs an archive storage class, which Berth does not have",
                self.transitions_skipped,
                if self.transitions_skipped == 1 { "" } else { "s" }
            ));
        }
        if self.failure_count > 0 {
            line.push_str(&format!(
                "; {} failure{}: {}",
                self.failure_count,
                if self.failure_count == 1 { "" } else { "s" },
                self.failures.join("; ")
            ));
        }
        line
    }
}

/// One run over every repository with a lifecycle policy; `None` when another
/// process runs one and `options.wait` is false.
pub async fn run(state: &AppState, options: Options) -> Result<Option<Report>> {
    let Some(_lease) = state
        .metadata
        .lock_job(Job::Lifecycle, options.wait)
        .await?
    else {
        return Ok(None);
    };
    let clock = Instant::now();
    let mut report = Report {
        started_at: now_epoch_seconds(),
        dry_run: options.dry_run,
        ..Default::default()
    };
    if !options.dry_run {
        state
            .metadata
            .put_setting(LAST_RUN_SETTING, &report.started_at.to_string())
            .await?;
    }
    let mut after: Option<String> = None;
    loop {
        let page = state
            .metadata
            .lifecycle_policies(after.as_deref(), PAGE)
            .await?;
        let done = page.len() < PAGE;
        for (repository, policy) in page {
            after = Some(repository.name.clone());
            if let Err(error) = apply(state, &repository, &policy, &options, &mut report).await {
                report.fail(&repository.name, error);
            }
        }
        if done {
            break;
        }
    }
    report.seconds = clock.elapsed().as_secs_f64();
    Ok(Some(report))
}

/// Evaluates one repository's policy and deletes what it expires.
async fn apply(
    state: &AppState,
    repository: &RepositoryRecord,
    policy: &LifecyclePolicyRecord,
    options: &Options,
    report: &mut Report,
) -> Result<()> {
    let parsed = check_policy_text(&policy.text)?;
    let images = repository_images(state, repository).await?;
    let now = now_epoch_seconds();
    let outcomes = evaluate(&parsed, &images, now);
    report.repositories_evaluated += 1;
    let mut expiring = Vec::new();
    for outcome in &outcomes {
        match outcome.action {
            RuleAction::Expire => expiring.push(outcome),
            RuleAction::Transition => report.transitions_skipped += 1,
        }
    }
    for batch in expiring.chunks(BATCH) {
        let mut expired: Vec<ExpiredImage> = batch
            .iter()
            .map(|o| ExpiredImage {
                repository_name: repository.name.clone(),
                image_digest: images[o.image].digest.clone(),
                image_tags: images[o.image].tags.clone(),
                applied_rule_priority: o.rule_priority,
            })
            .collect();
        if !options.dry_run {
            let request = BatchImagesRequest {
                registry_id: None,
                repository_name: repository.name.clone(),
                image_ids: expired
                    .iter()
                    .map(|e| ImageIdentifier {
                        image_digest: Some(e.image_digest.clone()),
                        image_tag: None,
                    })
                    .collect(),
                accepted_media_types: None,
            };
            let response = images::batch_delete(state, repository, request).await?;
            for failure in &response.failures {
                let digest = failure.image_id.image_digest.clone().unwrap_or_default();
                report.fail(
                    format!("{}@{digest}", repository.name),
                    &failure.failure_reason,
                );
            }
            expired.retain(|e| {
                response
                    .image_ids
                    .iter()
                    .any(|id| id.image_digest.as_ref() == Some(&e.image_digest))
            });
        }
        report.images_expired += expired.len() as u64;
        report.expired.extend(expired);
    }
    if !options.dry_run {
        state
            .metadata
            .record_lifecycle_evaluation(repository.id, &policy.text, now)
            .await?;
    }
    Ok(())
}

/// `serve`'s lifecycle runs: one every `interval`, counted from the last run in
/// any process (a restart does not put it off), skipping a turn while another
/// process runs one.
pub async fn run_on_schedule(state: AppState, interval: Duration) {
    let options = Options {
        dry_run: false,
        wait: false,
    };
    let interval = interval.as_secs_f64();
    loop {
        let last = match state.metadata.get_setting(LAST_RUN_SETTING).await {
            Ok(value) => value.and_then(|v| v.parse::<f64>().ok()),
            Err(e) => {
                eprintln!("lifecycle: cannot read the last run's time: {e}");
                None
            }
        };
        let now = now_epoch_seconds();
        let next = last.map_or(now, |last| last + interval);
        if next > now {
            tokio::time::sleep(Duration::from_secs_f64(next - now)).await;
            continue;
        }
        match run(&state, options).await {
            Ok(Some(report)) => println!("{}", report.summary()),
            Ok(None) => println!("lifecycle: another process is running the policies; skipped"),
            Err(e) => eprintln!("lifecycle run failed: {e}"),
        }
        tokio::time::sleep(Duration::from_secs_f64(interval)).await;
    }
}
