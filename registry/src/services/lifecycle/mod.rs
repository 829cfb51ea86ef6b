//! Lifecycle policies: stored per repository (Put/Get/DeleteLifecyclePolicy),
//! previewed ([`preview`]) and applied ([`run`]) with the one evaluator in
//! `berth_model::lifecycle`, over the images as [`repository_images`] reads them.

pub mod preview;
pub mod run;

use std::collections::HashSet;

use berth_model::ecr::{
    LifecyclePolicyResponse, PutLifecyclePolicyRequest, PutLifecyclePolicyResponse,
    MAX_LIFECYCLE_POLICY_TEXT, MIN_LIFECYCLE_POLICY_TEXT,
};
use berth_model::lifecycle::{parse_lifecycle_policy, Image, LifecyclePolicy};
use berth_model::oci::{self, ParsedManifest};

use super::error::{Error, Result};
use crate::storage::{LifecyclePolicyRecord, RepositoryRecord, TagStatus};
use crate::AppState;

/// Images read per query while loading a repository.
const PAGE: usize = 1000;

/// Checks a policy text as PutLifecyclePolicy and StartLifecyclePolicyPreview
/// receive it: AWS's length bounds, then the grammar, each problem named by rule
/// and field.
pub fn check_policy_text(text: &str) -> Result<LifecyclePolicy> {
    let length = text.chars().count();
    if !(MIN_LIFECYCLE_POLICY_TEXT..=MAX_LIFECYCLE_POLICY_TEXT).contains(&length) {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must \
             have length between {MIN_LIFECYCLE_POLICY_TEXT} and {MAX_LIFECYCLE_POLICY_TEXT}' \
             ({length} characters given)"
        )));
    }
    parse_lifecycle_policy(text).map_err(|problems| {
        let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        Error::invalid(format!(
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle \
             policy validation failure: {}'",
            list.join("; ")
        ))
    })
}

/// The text as ECR keeps a policy: the same document without the whitespace
/// between tokens (AWS's put-lifecycle-policy example returns a pretty-printed
/// file that way), members in the order written.
fn stored_text(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .map(|value| value.to_string())
        .unwrap_or_else(|_| text.to_string())
}

fn policy_not_found(repository: &RepositoryRecord) -> Error {
    Error::LifecyclePolicyNotFound {
        name: repository.name.clone(),
    }
}

/// The repository's policy, or LifecyclePolicyNotFound.
pub async fn require_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<LifecyclePolicyRecord> {
    state
        .metadata
        .lifecycle_policy(repository.id)
        .await?
        .ok_or_else(|| policy_not_found(repository))
}

fn policy_response(
    state: &AppState,
    repository: &RepositoryRecord,
    record: LifecyclePolicyRecord,
) -> LifecyclePolicyResponse {
    LifecyclePolicyResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        lifecycle_policy_text: record.text,
        // AWS answers 0 for a policy that has never run.
        last_evaluated_at: Some(record.last_evaluated_at.unwrap_or(0.0)),
    }
}

pub async fn put_policy(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutLifecyclePolicyRequest,
) -> Result<PutLifecyclePolicyResponse> {
    check_policy_text(&request.lifecycle_policy_text)?;
    let text = stored_text(&request.lifecycle_policy_text);
    state
        .metadata
        .put_lifecycle_policy(repository.id, &text)
        .await?;
    Ok(PutLifecyclePolicyResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        lifecycle_policy_text: text,
    })
}

pub async fn get_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<LifecyclePolicyResponse> {
    let record = require_policy(state, repository).await?;
    Ok(policy_response(state, repository, record))
}

pub async fn delete_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<LifecyclePolicyResponse> {
    let record = state
        .metadata
        .delete_lifecycle_policy(repository.id)
        .await?
        .ok_or_else(|| policy_not_found(repository))?;
    Ok(policy_response(state, repository, record))
}

/// Every image of the repository as the evaluator sees it, in digest order. An
/// image an index (manifest list) in the repository names is marked, so that no
/// rule acts on it while the index exists.
pub async fn repository_images(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<Vec<Image>> {
    let metadata = &state.metadata;
    let mut images = Vec::new();
    let mut indexes = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = metadata
            .list_images(repository.id, after.as_deref(), PAGE, TagStatus::Any)
            .await?;
        let done = page.len() < PAGE;
        for (record, tags) in page {
            after = Some(record.digest.clone());
            if oci::is_index_media_type(&record.media_type) {
                indexes.push(record.digest.clone());
            }
            images.push(Image {
                digest: record.digest,
                tags,
                pushed_at: record.pushed_at,
                last_pulled_at: record.last_pulled_at,
                size: record.image_size,
                ..Default::default()
            });
        }
        if done {
            break;
        }
    }
    let mut children = HashSet::new();
    for digest in indexes {
        // An index deleted since the listing refers to nothing any more.
        let Some(index) = metadata.find_manifest(repository.id, &digest).await? else {
            continue;
        };
        if let Ok(parsed) = ParsedManifest::parse(&index.content, Some(&index.media_type)) {
            children.extend(parsed.manifest_references().map(|d| d.digest.to_string()));
        }
    }
    for image in &mut images {
        image.referenced_by_manifest_list = children.contains(&image.digest);
    }
    Ok(images)
}
