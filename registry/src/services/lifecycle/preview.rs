//! Lifecycle policy previews (StartLifecyclePolicyPreview, GetLifecyclePolicyPreview):
//! a draft policy, or the saved one, evaluated over the repository by the same
//! evaluator a run acts with. A preview runs in the background — IN_PROGRESS, then
//! COMPLETE — and its result is kept in the metadata store, so any registry process
//! answers for it.

use berth_model::ecr::{
    GetLifecyclePolicyPreviewRequest, GetLifecyclePolicyPreviewResponse, ImageIdentifier,
    LifecyclePolicyPreviewResult, LifecyclePolicyPreviewSummary,
    StartLifecyclePolicyPreviewRequest, StartLifecyclePolicyPreviewResponse, MAX_PREVIEW_RESULTS,
    PREVIEW_STATUS_COMPLETE, PREVIEW_STATUS_FAILED, PREVIEW_STATUS_IN_PROGRESS,
};
use berth_model::lifecycle::{evaluate, preview_result, preview_summary, LifecyclePolicy};
use serde::{Deserialize, Serialize};

use super::super::error::{Error, Result};
use super::super::images::tag_status;
use super::super::paging;
use super::{check_policy_text, repository_images};
use crate::clock::now_epoch_seconds;
use crate::storage::{PreviewState, RepositoryRecord, TagStatus};
use crate::AppState;

/// A preview still running after this long was cut short (its process ended):
/// it reads as FAILED, and a new preview may start.
pub const ABANDONED_AFTER_SECONDS: f64 = 600.0;

/// A complete preview as stored: every result, and the summary of them all.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
struct Outcome {
    results: Vec<LifecyclePolicyPreviewResult>,
    summary: LifecyclePolicyPreviewSummary,
}

/// A preview that is recorded as running and waits for its evaluation.
pub struct PendingPreview {
    state: AppState,
    repository: RepositoryRecord,
    policy: LifecyclePolicy,
    started_at: f64,
}

fn not_found(repository: &RepositoryRecord) -> Error {
    Error::LifecyclePolicyPreviewNotFound {
        name: repository.name.clone(),
    }
}

/// Records a preview as running and returns the answer to StartLifecyclePolicyPreview
/// with the evaluation still to do.
pub async fn begin(
    state: &AppState,
    repository: &RepositoryRecord,
    request: StartLifecyclePolicyPreviewRequest,
) -> Result<(StartLifecyclePolicyPreviewResponse, PendingPreview)> {
    let text = match request.lifecycle_policy_text {
        Some(text) => text,
        None => super::require_policy(state, repository).await?.text,
    };
    let policy = check_policy_text(&text)?;
    let now = now_epoch_seconds();
    if !state
        .metadata
        .start_lifecycle_preview(repository.id, &text, now, now - ABANDONED_AFTER_SECONDS)
        .await?
    {
        return Err(Error::LifecyclePolicyPreviewInProgress {
            name: repository.name.clone(),
        });
    }
    let response = StartLifecyclePolicyPreviewResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        lifecycle_policy_text: text,
        status: PREVIEW_STATUS_IN_PROGRESS.to_string(),
    };
    let pending = PendingPreview {
        state: state.clone(),
        repository: repository.clone(),
        policy,
        started_at: now,
    };
    Ok((response, pending))
}

/// StartLifecyclePolicyPreview: records the preview and evaluates it in the background.
pub async fn start(
    state: &AppState,
    repository: &RepositoryRecord,
    request: StartLifecyclePolicyPreviewRequest,
) -> Result<StartLifecyclePolicyPreviewResponse> {
    let (response, pending) = begin(state, repository, request).await?;
    tokio::spawn(pending.run());
    Ok(response)
}

impl PendingPreview {
    async fn evaluate(&self) -> Result<Outcome> {
        let images = repository_images(&self.state, &self.repository).await?;
        let outcomes = evaluate(&self.policy, &images, now_epoch_seconds());
        Ok(Outcome {
            results: outcomes
                .iter()
                .map(|o| preview_result(&images[o.image], o))
                .collect(),
            summary: preview_summary(&outcomes),
        })
    }

    /// Evaluates the policy and stores the result: COMPLETE, or FAILED with why.
    pub async fn run(self) {
        let state = match self.evaluate().await {
            Ok(outcome) => {
                PreviewState::Complete(serde_json::to_string(&outcome).unwrap_or_default())
            }
            Err(error) => PreviewState::Failed(error.to_string()),
        };
        if let Err(error) = self
            .state
            .metadata
            .finish_lifecycle_preview(self.repository.id, self.started_at, state)
            .await
        {
            eprintln!(
                "lifecycle policy preview of {}: cannot record its result: {error}",
                self.repository.name
            );
        }
    }
}

/// Whether a result is about one of `ids`: the digest and the tag, where given,
/// must both be the image's.
fn named(result: &LifecyclePolicyPreviewResult, ids: &[ImageIdentifier]) -> bool {
    ids.iter().any(|id| {
        id.image_digest
            .as_ref()
            .is_none_or(|d| result.image_digest.as_ref() == Some(d))
            && id
                .image_tag
                .as_ref()
                .is_none_or(|t| result.image_tags.contains(t))
            && (id.image_digest.is_some() || id.image_tag.is_some())
    })
}

/// A token for the page from `offset` of the preview that started at `started_at`.
fn page_token(
    state: &AppState,
    repository: &RepositoryRecord,
    started_at: f64,
    offset: usize,
) -> String {
    state.page_tokens.seal(
        &paging::lifecycle_preview(repository.id),
        &format!("{started_at}/{offset}"),
    )
}

/// Where a page starts; a token from another preview is refused.
fn page_start(
    state: &AppState,
    repository: &RepositoryRecord,
    token: &str,
    started_at: f64,
) -> Result<usize> {
    let stale = || {
        Error::invalid(
            "Invalid parameter at 'nextToken': the token belongs to an earlier lifecycle policy \
             preview; start from the first page",
        )
    };
    let position = state
        .page_tokens
        .open(&paging::lifecycle_preview(repository.id), token)?;
    let (at, offset) = position.split_once('/').ok_or_else(stale)?;
    match (at.parse::<f64>(), offset.parse::<usize>()) {
        (Ok(at), Ok(offset)) if at == started_at => Ok(offset),
        _ => Err(stale()),
    }
}

pub async fn get(
    state: &AppState,
    repository: &RepositoryRecord,
    request: GetLifecyclePolicyPreviewRequest,
) -> Result<GetLifecyclePolicyPreviewResponse> {
    if let Some(ids) = &request.image_ids {
        if ids.is_empty() || ids.len() > 100 {
            return Err(Error::invalid(
                "Invalid parameter at 'imageIds': give between 1 and 100 image ids.",
            ));
        }
        if request.next_token.is_some() || request.max_results.is_some() {
            return Err(Error::invalid(
                "Invalid parameter: nextToken and maxResults cannot be used with imageIds.",
            ));
        }
    }
    let limit = request.max_results.unwrap_or(MAX_PREVIEW_RESULTS);
    if !(1..=MAX_PREVIEW_RESULTS).contains(&limit) {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'maxResults': {limit} is outside 1 to {MAX_PREVIEW_RESULTS}."
        )));
    }
    let status = tag_status(request.filter.as_ref())?;
    let record = state
        .metadata
        .lifecycle_preview(repository.id)
        .await?
        .ok_or_else(|| not_found(repository))?;
    let mut response = GetLifecyclePolicyPreviewResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        lifecycle_policy_text: record.policy_text,
        ..Default::default()
    };
    let outcome = match record.state {
        PreviewState::Running
            if record.started_at >= now_epoch_seconds() - ABANDONED_AFTER_SECONDS =>
        {
            response.status = PREVIEW_STATUS_IN_PROGRESS.to_string();
            return Ok(response);
        }
        PreviewState::Running | PreviewState::Failed(_) => {
            response.status = PREVIEW_STATUS_FAILED.to_string();
            return Ok(response);
        }
        PreviewState::Complete(document) => serde_json::from_str::<Outcome>(&document)
            .map_err(|e| Error::Storage(crate::storage::StorageError(e.to_string())))?,
    };
    let mut results: Vec<LifecyclePolicyPreviewResult> = outcome
        .results
        .into_iter()
        .filter(|r| match status {
            TagStatus::Any => true,
            TagStatus::Tagged => !r.image_tags.is_empty(),
            TagStatus::Untagged => r.image_tags.is_empty(),
        })
        .filter(|r| request.image_ids.as_deref().is_none_or(|ids| named(r, ids)))
        .collect();
    let start = match &request.next_token {
        Some(token) => page_start(state, repository, token, record.started_at)?,
        None => 0,
    };
    let end = start.saturating_add(limit as usize);
    if end < results.len() {
        response.next_token = Some(page_token(state, repository, record.started_at, end));
        results.truncate(end);
    }
    response.preview_results = results.into_iter().skip(start).collect();
    response.status = PREVIEW_STATUS_COMPLETE.to_string();
    response.summary = Some(outcome.summary);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use berth_model::ecr::CreateRepositoryRequest;

    use super::*;
    use crate::services::repositories;
    use crate::storage::sqlite::SqliteMetadata;

    const POLICY: &str = r#"{"rules": [{"rulePriority": 1, "description": "Keep the last image", "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1}, "action": {"type": "expire"}}]}"#;

    async fn registry_with_repository() -> (AppState, RepositoryRecord) {
        let dir = std::env::temp_dir().join(format!(
            "berth-preview-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        SqliteMetadata::open(&dir).unwrap();
        let state = crate::open_existing(
            Some(&dir),
            &crate::config::Database::Embedded,
            &crate::config::BlobStore::Files,
        )
        .await
        .unwrap();
        let request = CreateRepositoryRequest {
            repository_name: "team/api".into(),
            ..Default::default()
        };
        let root = crate::auth::Principal {
            arn: state.config.root_arn(),
            access_key_id: "AKIATEST".into(),
            user_name: None,
        };
        repositories::create(&state, &root, request).await.unwrap();
        let repository = state
            .metadata
            .find_repository("team/api")
            .await
            .unwrap()
            .unwrap();
        (state, repository)
    }

    fn start_request(text: &str) -> StartLifecyclePolicyPreviewRequest {
        StartLifecyclePolicyPreviewRequest {
            repository_name: "team/api".into(),
            lifecycle_policy_text: Some(text.into()),
            ..Default::default()
        }
    }

    async fn status(
        state: &AppState,
        repository: &RepositoryRecord,
    ) -> GetLifecyclePolicyPreviewResponse {
        let request = GetLifecyclePolicyPreviewRequest {
            repository_name: "team/api".into(),
            ..Default::default()
        };
        get(state, repository, request).await.unwrap()
    }

    #[tokio::test]
    async fn one_preview_runs_at_a_time_and_reads_in_progress_until_it_completes() {
        let (state, repository) = registry_with_repository().await;
        let (started, pending) = begin(&state, &repository, start_request(POLICY))
            .await
            .unwrap();
        assert_eq!(started.status, PREVIEW_STATUS_IN_PROGRESS);
        assert!(matches!(
            begin(&state, &repository, start_request(POLICY)).await,
            Err(Error::LifecyclePolicyPreviewInProgress { .. })
        ));
        let running = status(&state, &repository).await;
        assert_eq!(running.status, PREVIEW_STATUS_IN_PROGRESS);
        assert_eq!(running.lifecycle_policy_text, POLICY);
        assert!(running.preview_results.is_empty() && running.summary.is_none());

        pending.run().await;
        let complete = status(&state, &repository).await;
        assert_eq!(complete.status, PREVIEW_STATUS_COMPLETE);
        assert_eq!(
            complete.summary.unwrap().expiring_image_total_count,
            Some(0)
        );
        // Once complete, the next preview may start.
        assert!(begin(&state, &repository, start_request(POLICY))
            .await
            .is_ok());
    }

    #[tokio::test]
    async fn a_preview_its_process_abandoned_reads_failed_and_gives_way() {
        let (state, repository) = registry_with_repository().await;
        let long_ago = now_epoch_seconds() - ABANDONED_AFTER_SECONDS - 60.0;
        assert!(state
            .metadata
            .start_lifecycle_preview(repository.id, POLICY, long_ago, long_ago)
            .await
            .unwrap());
        assert_eq!(
            status(&state, &repository).await.status,
            PREVIEW_STATUS_FAILED
        );
        let (_, pending) = begin(&state, &repository, start_request(POLICY))
            .await
            .unwrap();
        pending.run().await;
        assert_eq!(
            status(&state, &repository).await.status,
            PREVIEW_STATUS_COMPLETE
        );
    }
}
