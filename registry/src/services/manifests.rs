//! Manifests named the way `/v2` names them: by tag or by digest.

use berth_model::oci;

use super::error::{Error, Result};
use super::layers::parse_digest;
use crate::storage::{ImageDeletion, ManifestRecord, RepositoryRecord, Untag};
use crate::AppState;

/// A manifest reference: a digest, or a tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    Digest(String),
    Tag(String),
}

impl Reference {
    /// Reads a reference; a digest must be a valid digest, a tag a valid tag.
    pub fn parse(reference: &str) -> Result<Reference> {
        if reference.contains(':') {
            parse_digest(reference)?;
            Ok(Reference::Digest(reference.to_string()))
        } else if oci::is_valid_tag(reference) {
            Ok(Reference::Tag(reference.to_string()))
        } else {
            Err(Error::InvalidTag(reference.to_string()))
        }
    }
}

fn not_found(repository: &RepositoryRecord, reference: &str) -> Error {
    Error::ManifestNotFound {
        repository: repository.name.clone(),
        reference: reference.to_string(),
    }
}

/// A reference to look up: a tag that could never be pushed names no manifest,
/// so it is not found (the spec: "If the manifest is not found in the repository,
/// the response code MUST be 404"), while a malformed digest stays an error.
fn lookup(repository: &RepositoryRecord, reference: &str) -> Result<Reference> {
    match Reference::parse(reference) {
        Err(Error::InvalidTag(_)) => Err(not_found(repository, reference)),
        other => other,
    }
}

/// The stored manifest `reference` names.
pub async fn find(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<ManifestRecord> {
    let digest = match lookup(repository, reference)? {
        Reference::Digest(digest) => Some(digest),
        Reference::Tag(tag) => state.metadata.resolve_tag(repository.id, &tag).await?,
    };
    let found = match digest {
        Some(digest) => state.metadata.find_manifest(repository.id, &digest).await?,
        None => None,
    };
    found.ok_or_else(|| not_found(repository, reference))
}

/// A pull: the manifest; its pull time is recorded off the request's path.
pub async fn pull(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<ManifestRecord> {
    let record = find(state, repository, reference).await?;
    state.pulls.record(repository.id, &record.digest);
    Ok(record)
}

/// Deletes an image (by digest: refused while an index references it) or a tag (by
/// tag: the tag only, as the distribution spec says; the image stays, reachable by
/// digest, even when it was its last tag — unlike ECR's BatchDeleteImage).
pub async fn delete(
    state: &AppState,
    repository: &RepositoryRecord,
    reference: &str,
) -> Result<()> {
    let found = match lookup(repository, reference)? {
        Reference::Digest(digest) => {
            match state.metadata.delete_image(repository.id, &digest).await? {
                ImageDeletion::Deleted => true,
                ImageDeletion::NotFound => false,
                ImageDeletion::ReferencedBy(indexes) => {
                    return Err(Error::ImageReferencedByManifestList {
                        repository: repository.name.clone(),
                        digest,
                        indexes,
                    })
                }
            }
        }
        Reference::Tag(tag) => !matches!(
            state.metadata.untag(repository.id, &tag, false).await?,
            Untag::NotFound
        ),
    };
    if !found {
        return Err(not_found(repository, reference));
    }
    Ok(())
}

/// Manifests whose `subject` is `digest`, optionally of one artifact type.
pub async fn referrers(
    state: &AppState,
    repository: &RepositoryRecord,
    digest: &str,
    artifact_type: Option<&str>,
) -> Result<Vec<ManifestRecord>> {
    parse_digest(digest)?;
    let mut records = state.metadata.referrers(repository.id, digest).await?;
    if let Some(wanted) = artifact_type {
        records.retain(|r| r.artifact_type.as_deref() == Some(wanted));
    }
    Ok(records)
}

/// Up to `n` tags in lexical order after `last`, and whether more follow.
pub async fn tags(
    state: &AppState,
    repository: &RepositoryRecord,
    last: Option<&str>,
    n: usize,
) -> Result<(Vec<String>, bool)> {
    let mut tags = state
        .metadata
        .list_tags(repository.id, last, n.saturating_add(1))
        .await?;
    let more = tags.len() > n;
    tags.truncate(n);
    Ok((tags, more))
}
