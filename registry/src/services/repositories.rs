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
use super::policies;
use crate::auth::access::{self, Access, On};
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

/// The named repository, once `principal` is allowed `action` on it. Whether it
/// exists is told only to callers who could be allowed there
/// ([`Access::missing_repository`]); anyone else is denied alike for missing and
/// existing repositories, as AWS authorizes before it looks up.
pub async fn authorized(
    state: &AppState,
    principal: &Principal,
    action: &str,
    name: &str,
) -> Result<RepositoryRecord> {
    let access = policies::access(state).await?;
    authorized_with(state, &access, principal, action, name).await
}

/// [`authorized`] with the request's decisions already read.
pub async fn authorized_with(
    state: &AppState,
    access: &Access<'_>,
    principal: &Principal,
    action: &str,
    name: &str,
) -> Result<RepositoryRecord> {
    let denied = |d: access::Denied| Error::AccessDenied(d.message);
    match state.metadata.find_repository(name).await? {
        Some(record) => {
            access
                .authorize(principal, action, On::Repository(&record))
                .map_err(denied)?;
            Ok(record)
        }
        None => {
            access
                .missing_repository(principal, action, name)
                .map_err(denied)?;
            Err(not_found(name))
        }
    }
}

fn not_found(name: &str) -> Error {
    Error::RepositoryNotFound {
        name: name.to_string(),
    }
}

/// Creates a repository, decided as ECR decides it: against the ARN the new
/// repository will have, so a registry policy statement over `team-a/*` lets its
/// principals create `team-a/api` and nothing outside their prefix.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    request: CreateRepositoryRequest,
) -> Result<CreateRepositoryResponse> {
    validate_repository_name(&request.repository_name).map_err(|e| {
        Error::InvalidParameter(format!("Invalid parameter at 'repositoryName': {e}"))
    })?;
    policies::access(state)
        .await?
        .authorize(
            principal,
            "ecr:CreateRepository",
            On::Name(&request.repository_name),
        )
        .map_err(|d| Error::AccessDenied(d.message))?;
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

const DESCRIBE: &str = "ecr:DescribeRepositories";

/// Lists repositories; callers other than the root see those their policies let them
/// describe. A page is cut after that filtering, so it is full whenever more visible
/// repositories follow, and its token names only a repository the caller saw.
pub async fn describe(
    state: &AppState,
    principal: &Principal,
    request: DescribeRepositoriesRequest,
) -> Result<DescribeRepositoriesResponse> {
    let limit = check_max_results(request.max_results)?;
    if let Some(names) = request.repository_names {
        if names.is_empty() || names.len() > 100 {
            return Err(Error::invalid(
                "Invalid parameter at 'repositoryNames': give between 1 and 100 names.",
            ));
        }
        let access = policies::access(state).await?;
        let mut repositories = Vec::with_capacity(names.len());
        for name in names {
            let record = authorized_with(state, &access, principal, DESCRIBE, &name).await?;
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
        .map(|t| state.page_tokens.open(paging::REPOSITORIES, t))
        .transpose()?;
    let (records, more) = visible_page(state, principal, after, limit).await?;
    let next_token = match (more, records.last()) {
        (true, Some(last)) => Some(state.page_tokens.seal(paging::REPOSITORIES, &last.name)),
        _ => None,
    };
    Ok(DescribeRepositoriesResponse {
        repositories: records.into_iter().map(|r| to_wire(state, r)).collect(),
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
    let (records, more) = visible_page(state, principal, last.map(str::to_string), n).await?;
    Ok((records.into_iter().map(|r| r.name).collect(), more))
}

/// Up to `n` repositories after `after` that the caller may describe, in name order,
/// and whether another one follows. Keeps reading until the page is full, in batches
/// that grow while the caller sees few of what is read.
async fn visible_page(
    state: &AppState,
    principal: &Principal,
    mut after: Option<String>,
    n: usize,
) -> Result<(Vec<RepositoryRecord>, bool)> {
    const LARGEST_BATCH: usize = 1000;
    let access = policies::access(state).await?;
    let mut batch = n.saturating_add(1).min(LARGEST_BATCH);
    let mut page = Vec::new();
    loop {
        let records = state
            .metadata
            .list_repositories(after.as_deref(), batch)
            .await?;
        let exhausted = records.len() < batch;
        for record in records {
            after = Some(record.name.clone());
            if access
                .authorize(principal, DESCRIBE, On::Repository(&record))
                .is_ok()
            {
                if page.len() == n {
                    return Ok((page, true));
                }
                page.push(record);
            }
        }
        if exhausted {
            return Ok((page, false));
        }
        batch = (batch * 4).min(LARGEST_BATCH);
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

/// AWS's limit on a repository policy's length (`RepositoryPolicyText` max 10240).
pub const MAX_POLICY_CHARACTERS: usize = 10_240;

/// Stores a policy after validating it with the same code that enforces it.
pub async fn set_policy(
    state: &AppState,
    repository: &RepositoryRecord,
    request: SetRepositoryPolicyRequest,
) -> Result<RepositoryPolicyResponse> {
    // Characters, as the limit says (a multi-byte character counts once).
    let characters = request.policy_text.chars().count();
    if characters > MAX_POLICY_CHARACTERS {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'policyText': a policy may be at most {MAX_POLICY_CHARACTERS} characters, not {characters}."
        )));
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

/// The repository an ECR resource ARN names, once `principal` is allowed `action` on it.
pub async fn authorized_by_arn(
    state: &AppState,
    principal: &Principal,
    action: &str,
    arn: &str,
) -> Result<RepositoryRecord> {
    let name = ecr::repository_name_from_arn(arn, &state.config.region, &state.config.account_id).ok_or_else(|| {
        Error::InvalidParameter(format!(
            "Invalid parameter at 'resourceArn': '{arn}' is not a repository ARN of this registry (arn:aws:ecr:{}:{}:repository/<name>)",
            state.config.region, state.config.account_id
        ))
    })?;
    authorized(state, principal, action, name).await
}

/// AWS's limit on a repository's resource tags.
pub const MAX_RESOURCE_TAGS: usize = 50;

fn too_many_tags(count: usize) -> Error {
    Error::TooManyTags(format!(
        "The repository would have {count} tags; a repository may have at most {MAX_RESOURCE_TAGS}."
    ))
}

/// Checks keys (1 to 128 characters) and values (up to 256), as AWS counts them.
pub fn check_resource_tags(tags: Vec<Tag>) -> Result<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags {
        let key_length = tag.key.chars().count();
        if !(1..=128).contains(&key_length) {
            return Err(Error::InvalidTagParameter(format!(
                "Tag keys must be 1 to 128 characters; a key of {key_length} characters was given."
            )));
        }
        let value_length = tag.value.chars().count();
        if value_length > 256 {
            return Err(Error::InvalidTagParameter(format!(
                "Tag values can have a maximum length of 256 characters; the value of tag '{}' has {value_length}.",
                tag.key
            )));
        }
        out.push((tag.key, tag.value));
    }
    let distinct: std::collections::HashSet<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
    if distinct.len() > MAX_RESOURCE_TAGS {
        return Err(too_many_tags(distinct.len()));
    }
    Ok(out)
}

/// Adds or overwrites tags; keys the repository lacks count toward its 50.
pub async fn tag_resource(
    state: &AppState,
    repository: &RepositoryRecord,
    tags: Vec<Tag>,
) -> Result<()> {
    let tags = check_resource_tags(tags)?;
    let mut keys: std::collections::HashSet<String> = state
        .metadata
        .resource_tags(repository.id)
        .await?
        .into_iter()
        .map(|(key, _)| key)
        .collect();
    keys.extend(tags.iter().map(|(key, _)| key.clone()));
    if keys.len() > MAX_RESOURCE_TAGS {
        return Err(too_many_tags(keys.len()));
    }
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
