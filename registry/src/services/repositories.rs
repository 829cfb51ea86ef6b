//! Repositories: create, describe, delete, settings, policies and resource tags.

use berth_model::ecr::{
    self, CreateRepositoryRequest, CreateRepositoryResponse, DeleteRepositoryRequest,
    DescribeRepositoriesRequest, DescribeRepositoriesResponse, EncryptionConfiguration,
    ImageScanningConfiguration, ImageTagMutabilityExclusionFilter, ListTagsForResourceResponse,
    PutImageScanningConfigurationRequest, PutImageScanningConfigurationResponse,
    PutImageTagMutabilityRequest, PutImageTagMutabilityResponse, Repository,
    RepositoryPolicyResponse, RepositoryResponse, SetRepositoryPolicyRequest, Tag,
};
use berth_model::mutability::{self, TagMutabilitySetting};
use berth_model::names::validate_repository_name;

use super::error::{Error, Result};
use super::paging::{self, check_max_results};
use crate::auth::access;
use crate::auth::Principal;
use crate::clock::now_epoch_seconds;
use crate::storage::{RepositoryChange, RepositoryRecord};
use crate::AppState;

fn to_wire(state: &AppState, record: RepositoryRecord) -> Repository {
    let config = &state.config;
    Repository {
        repository_arn: ecr::repository_arn(&config.region, &config.account_id, &record.name),
        registry_id: config.account_id.clone(),
        repository_uri: ecr::repository_uri(config.registry_host(), &record.name),
        repository_name: record.name,
        created_at: record.created_at,
        image_tag_mutability: record.image_tag_mutability,
        image_tag_mutability_exclusion_filters: record.image_tag_mutability_exclusion_filters,
        image_scanning_configuration: ImageScanningConfiguration {
            scan_on_push: record.scan_on_push,
        },
        encryption_configuration: EncryptionConfiguration {
            encryption_type: record.encryption_type,
            kms_key: record.kms_key,
        },
    }
}

/// A request's `registryId`: another account's registry is one this caller cannot
/// see (AWS's AccessDenied for the action on that registry's resource), and an id
/// that is not 12 digits is refused as AWS's model constrains it.
pub fn check_registry_id(
    state: &AppState,
    principal: &Principal,
    action: &str,
    registry_id: Option<&str>,
    repository: Option<&str>,
) -> Result<()> {
    let Some(id) = registry_id else {
        return Ok(());
    };
    if id.len() != 12 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'registryId' failed to satisfy constraint: 'must satisfy regular expression pattern: [0-9]{{12}}' (got '{id}')"
        )));
    }
    if id != state.config.account_id {
        let resource = ecr::repository_arn(&state.config.region, id, repository.unwrap_or("*"));
        return Err(Error::AccessDenied(format!(
            "User: {} is not authorized to perform: {action} on resource: {resource} because no resource-based policy allows the {action} action (this registry's id is '{}')",
            principal.arn, state.config.account_id
        )));
    }
    Ok(())
}

/// The named repository, or RepositoryNotFound.
pub async fn find(state: &AppState, name: &str) -> Result<RepositoryRecord> {
    state
        .metadata
        .find_repository(name)
        .await?
        .ok_or_else(|| not_found(name))
}

fn not_found(name: &str) -> Error {
    Error::RepositoryNotFound {
        name: name.to_string(),
    }
}

pub async fn create(
    state: &AppState,
    request: CreateRepositoryRequest,
) -> Result<CreateRepositoryResponse> {
    validate_repository_name(&request.repository_name).map_err(|e| {
        Error::InvalidParameter(format!("Invalid parameter at 'repositoryName': {e}"))
    })?;
    let mutability = check_tag_mutability(
        request
            .image_tag_mutability
            .as_deref()
            .unwrap_or(ecr::TAG_MUTABLE),
        request.image_tag_mutability_exclusion_filters.as_deref(),
    )?;
    let encryption = request.encryption_configuration.unwrap_or_default();
    check_encryption(&encryption)?;
    let tags = check_resource_tags(request.tags)?;
    let mut record = RepositoryRecord {
        id: 0,
        policy: None,
        name: request.repository_name,
        created_at: now_epoch_seconds(),
        image_tag_mutability: mutability.mutability.as_str().to_string(),
        image_tag_mutability_exclusion_filters: mutability.filters,
        scan_on_push: request
            .image_scanning_configuration
            .unwrap_or_default()
            .scan_on_push,
        encryption_type: encryption.encryption_type,
        kms_key: encryption.kms_key,
    };
    record.id = state
        .metadata
        .insert_repository(&record, &tags)
        .await?
        .ok_or_else(|| Error::RepositoryAlreadyExists {
            name: record.name.clone(),
        })?;
    Ok(CreateRepositoryResponse {
        repository: to_wire(state, record),
    })
}

/// Lists repositories; callers other than the root see those their policies let them describe.
pub async fn describe(
    state: &AppState,
    principal: &Principal,
    request: DescribeRepositoriesRequest,
) -> Result<DescribeRepositoriesResponse> {
    let visible = |record: &RepositoryRecord| {
        access::authorize(
            &state.config,
            principal,
            "ecr:DescribeRepositories",
            Some(record),
        )
    };
    let limit = check_max_results(request.max_results)?;
    if let Some(names) = request.repository_names {
        if names.is_empty() || names.len() > 100 {
            return Err(Error::invalid(
                "Invalid parameter at 'repositoryNames': give between 1 and 100 names.",
            ));
        }
        let mut repositories = Vec::with_capacity(names.len());
        for name in names {
            let record = find(state, &name).await?;
            visible(&record).map_err(|denied| Error::AccessDenied(denied.message))?;
            repositories.push(to_wire(state, record));
        }
        return Ok(DescribeRepositoriesResponse {
            repositories,
            next_token: None,
        });
    }
    let after = request
        .next_token
        .as_deref()
        .map(|t| paging::decode(paging::REPOSITORIES, t))
        .transpose()?;
    // One extra row tells whether another page exists without a second query.
    let records = state
        .metadata
        .list_repositories(after.as_deref(), limit + 1)
        .await?;
    let (records, next_token) =
        paging::cut(records, limit, paging::REPOSITORIES, |r| r.name.as_str());
    Ok(DescribeRepositoriesResponse {
        repositories: records
            .into_iter()
            .filter(|r| visible(r).is_ok())
            .map(|r| to_wire(state, r))
            .collect(),
        next_token,
    })
}

/// Up to `n` names of repositories the caller may describe, after `last`, and
/// whether more follow: `/v2/_catalog`.
pub async fn catalog(
    state: &AppState,
    principal: &Principal,
    last: Option<&str>,
    n: usize,
) -> Result<(Vec<String>, bool)> {
    const BATCH: usize = 500;
    let mut after = last.map(str::to_string);
    let mut names = Vec::new();
    // Only repositories the caller may see are listed; keep reading until a page is full.
    loop {
        let batch = state
            .metadata
            .list_repositories(after.as_deref(), BATCH)
            .await?;
        let exhausted = batch.len() < BATCH;
        for record in batch {
            after = Some(record.name.clone());
            if access::authorize(
                &state.config,
                principal,
                "ecr:DescribeRepositories",
                Some(&record),
            )
            .is_ok()
            {
                if names.len() == n {
                    return Ok((names, true));
                }
                names.push(record.name);
            }
        }
        if exhausted {
            return Ok((names, false));
        }
    }
}

pub async fn delete(
    state: &AppState,
    repository: RepositoryRecord,
    request: DeleteRepositoryRequest,
) -> Result<RepositoryResponse> {
    if !state
        .metadata
        .delete_repository(repository.id, request.force)
        .await?
    {
        return Err(Error::RepositoryNotEmpty {
            name: repository.name.clone(),
            images: state.metadata.count_images(repository.id).await?,
        });
    }
    Ok(RepositoryResponse {
        repository: to_wire(state, repository),
    })
}

pub async fn put_tag_mutability(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutImageTagMutabilityRequest,
) -> Result<PutImageTagMutabilityResponse> {
    let setting = check_tag_mutability(
        &request.image_tag_mutability,
        request.image_tag_mutability_exclusion_filters.as_deref(),
    )?;
    let mutability = setting.mutability.as_str().to_string();
    state
        .metadata
        .update_repository(
            repository.id,
            RepositoryChange::TagMutability {
                mutability: mutability.clone(),
                exclusion_filters: setting.filters.clone(),
            },
        )
        .await?;
    Ok(PutImageTagMutabilityResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        image_tag_mutability: mutability,
        image_tag_mutability_exclusion_filters: setting.filters,
    })
}

pub async fn put_scanning(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutImageScanningConfigurationRequest,
) -> Result<PutImageScanningConfigurationResponse> {
    state
        .metadata
        .update_repository(
            repository.id,
            RepositoryChange::ScanOnPush(request.image_scanning_configuration.scan_on_push),
        )
        .await?;
    Ok(PutImageScanningConfigurationResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        image_scanning_configuration: request.image_scanning_configuration,
    })
}

fn policy_response(
    state: &AppState,
    repository: &RepositoryRecord,
    policy_text: String,
) -> RepositoryPolicyResponse {
    RepositoryPolicyResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        policy_text,
    }
}

fn policy_not_found(repository: &RepositoryRecord) -> Error {
    Error::RepositoryPolicyNotFound {
        name: repository.name.clone(),
    }
}

pub fn get_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<RepositoryPolicyResponse> {
    let text = repository
        .policy
        .clone()
        .ok_or_else(|| policy_not_found(repository))?;
    Ok(policy_response(state, repository, text))
}

/// Stores a policy after validating it with the same code that enforces it.
pub async fn set_policy(
    state: &AppState,
    repository: &RepositoryRecord,
    request: SetRepositoryPolicyRequest,
) -> Result<RepositoryPolicyResponse> {
    if request.policy_text.len() > 10_240 {
        return Err(Error::invalid(
            "Invalid parameter at 'policyText': a policy may be at most 10240 characters.",
        ));
    }
    if let Err(problems) = berth_model::policy::parse_policy(&request.policy_text) {
        let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(Error::invalid(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided': {}",
            list.join("; ")
        )));
    }
    state
        .metadata
        .update_repository(
            repository.id,
            RepositoryChange::Policy(Some(request.policy_text.clone())),
        )
        .await?;
    Ok(policy_response(state, repository, request.policy_text))
}

pub async fn delete_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<RepositoryPolicyResponse> {
    let text = repository
        .policy
        .clone()
        .ok_or_else(|| policy_not_found(repository))?;
    state
        .metadata
        .update_repository(repository.id, RepositoryChange::Policy(None))
        .await?;
    Ok(policy_response(state, repository, text))
}

/// The repository an ECR resource ARN names.
pub async fn repository_for_arn(state: &AppState, arn: &str) -> Result<RepositoryRecord> {
    let name = ecr::repository_name_from_arn(arn, &state.config.region, &state.config.account_id).ok_or_else(|| {
        Error::InvalidParameter(format!(
            "Invalid parameter at 'resourceArn': '{arn}' is not a repository ARN of this registry (arn:aws:ecr:{}:{}:repository/<name>)",
            state.config.region, state.config.account_id
        ))
    })?;
    find(state, name).await
}

pub fn check_resource_tags(tags: Vec<Tag>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(Error::invalid(
                "Invalid parameter at 'tags': a tag key must be 1 to 128 characters.",
            ));
        }
        if tag.value.chars().count() > 256 {
            return Err(Error::invalid(format!(
                "Invalid parameter at 'tags': the value of tag '{}' is longer than 256 characters.",
                tag.key
            )));
        }
        out.push((tag.key, tag.value));
    }
    Ok(out)
}

pub async fn tag_resource(
    state: &AppState,
    repository: &RepositoryRecord,
    tags: Vec<Tag>,
) -> Result<()> {
    let tags = check_resource_tags(tags)?;
    Ok(state
        .metadata
        .put_resource_tags(repository.id, &tags)
        .await?)
}

pub async fn untag_resource(
    state: &AppState,
    repository: &RepositoryRecord,
    keys: Vec<String>,
) -> Result<()> {
    Ok(state
        .metadata
        .remove_resource_tags(repository.id, &keys)
        .await?)
}

pub async fn list_tags(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<ListTagsForResourceResponse> {
    let tags = state.metadata.resource_tags(repository.id).await?;
    Ok(ListTagsForResourceResponse {
        tags: tags
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}

/// Encryption is recorded and reported, as AWS's model has it: Berth's own data dir
/// protection is its file modes, not a KMS key (README, Security).
fn check_encryption(encryption: &ecr::EncryptionConfiguration) -> Result<()> {
    let kms = [ecr::ENCRYPTION_KMS, ecr::ENCRYPTION_KMS_DSSE];
    match (encryption.encryption_type.as_str(), &encryption.kms_key) {
        (ecr::ENCRYPTION_AES256, None) => Ok(()),
        (ecr::ENCRYPTION_AES256, Some(_)) => Err(Error::invalid(
            "Invalid parameter at 'encryptionConfiguration.kmsKey': a KMS key can only be given with encryptionType KMS or KMS_DSSE.",
        )),
        (kind, key) if kms.contains(&kind) => match key {
            Some(key) if !is_kms_key_arn(key) => Err(Error::invalid(format!(
                "Invalid parameter at 'encryptionConfiguration.kmsKey' failed to satisfy constraint: 'must satisfy regular expression pattern: arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{{12}}:key/[a-z0-9-]+' (got '{key}')"
            ))),
            _ => Ok(()),
        },
        (other, _) => Err(Error::invalid(format!(
            "Invalid parameter at 'encryptionConfiguration.encryptionType': '{other}' is not one of AES256, KMS, KMS_DSSE."
        ))),
    }
}

/// `arn:aws[a-z0-9-]*:kms:<region>:<12 digits>:key/<id>`, AWS's model's pattern.
fn is_kms_key_arn(key: &str) -> bool {
    let parts: Vec<&str> = key.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    let lower_digit_dash = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    };
    arn == "arn"
        && partition.strip_prefix("aws").is_some_and(lower_digit_dash)
        && service == "kms"
        && !region.is_empty()
        && lower_digit_dash(region)
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty() && lower_digit_dash(id))
}

/// The setting and its exclusion filters, checked as AWS checks them.
fn check_tag_mutability(
    mutability: &str,
    filters: Option<&[ImageTagMutabilityExclusionFilter]>,
) -> Result<TagMutabilitySetting> {
    mutability::check(mutability, filters).map_err(Error::InvalidParameter)
}
