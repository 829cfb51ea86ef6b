//! Repositories: create, describe.

use berth_model::ecr::{
    self, CreateRepositoryRequest, CreateRepositoryResponse, DeleteRepositoryRequest,
    DescribeRepositoriesRequest, DescribeRepositoriesResponse, EncryptionConfiguration, ErrorType,
    ImageScanningConfiguration, ListTagsForResourceResponse, PutImageScanningConfigurationRequest,
    PutImageScanningConfigurationResponse, PutImageTagMutabilityRequest,
    PutImageTagMutabilityResponse, Repository, RepositoryPolicyResponse, RepositoryResponse,
    SetRepositoryPolicyRequest, Tag,
};
use berth_model::names::validate_repository_name;

use crate::access;
use crate::auth::Principal;
use crate::error::EcrError;
use crate::services::paging::{self, check_max_results};
use crate::store::{self, RepositoryRecord, StoreError};
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
        image_scanning_configuration: ImageScanningConfiguration {
            scan_on_push: record.scan_on_push,
        },
        encryption_configuration: EncryptionConfiguration {
            encryption_type: record.encryption_type,
            kms_key: record.kms_key,
        },
        ..Default::default()
    }
}

fn check_registry_id(state: &AppState, registry_id: Option<&str>) -> Result<(), EcrError> {
    match registry_id {
        Some(id) if id != state.config.account_id => Err(EcrError::invalid_parameter(format!(
            "Invalid parameter at 'registryId': this registry's id is '{}', not '{id}'.",
            state.config.account_id
        ))),
        _ => Ok(()),
    }
}

/// The named repository, or the errors AWS gives when it is not there.
pub async fn require_repository(
    state: &AppState,
    registry_id: Option<&str>,
    name: &str,
) -> Result<RepositoryRecord, EcrError> {
    check_registry_id(state, registry_id)?;
    let lookup = name.to_string();
    state
        .store
        .call(move |conn| store::find_repository(conn, &lookup).map_err(EcrError::from))
        .await?
        .ok_or_else(|| not_found(state, name))
}

fn not_found(state: &AppState, name: &str) -> EcrError {
    EcrError::new(
        ErrorType::RepositoryNotFound,
        format!(
            "The repository with name '{name}' does not exist in the registry with id '{}'",
            state.config.account_id
        ),
    )
}

pub async fn create(
    state: &AppState,
    request: CreateRepositoryRequest,
) -> Result<CreateRepositoryResponse, EcrError> {
    check_registry_id(state, request.registry_id.as_deref())?;
    validate_repository_name(&request.repository_name).map_err(|e| {
        EcrError::invalid_parameter(format!("Invalid parameter at 'repositoryName': {e}"))
    })?;
    let image_tag_mutability = check_tag_mutability(
        request
            .image_tag_mutability
            .unwrap_or_else(|| ecr::TAG_MUTABLE.into()),
    )?;
    let encryption = request.encryption_configuration.unwrap_or_default();
    match (encryption.encryption_type.as_str(), &encryption.kms_key) {
        (ecr::ENCRYPTION_AES256, None) | (ecr::ENCRYPTION_KMS, _) => {}
        (ecr::ENCRYPTION_AES256, Some(_)) => {
            return Err(EcrError::invalid_parameter(
                "Invalid parameter at 'encryptionConfiguration.kmsKey': a KMS key can only be given with encryptionType KMS.",
            ))
        }
        (other, _) => {
            return Err(EcrError::invalid_parameter(format!(
                "Invalid parameter at 'encryptionConfiguration.encryptionType': '{other}' is not one of AES256, KMS."
            )))
        }
    }
    let tags = check_resource_tags(request.tags)?;
    let mut record = RepositoryRecord {
        id: 0,
        policy: None,
        name: request.repository_name,
        created_at: store::now_epoch_seconds(),
        image_tag_mutability,
        scan_on_push: request
            .image_scanning_configuration
            .unwrap_or_default()
            .scan_on_push,
        encryption_type: encryption.encryption_type,
        kms_key: encryption.kms_key,
    };
    let account_id = state.config.account_id.clone();
    let inserted = record.clone();
    record.id = state
        .store
        .call(move |conn| match store::insert_repository(conn, &inserted, &tags) {
            Err(StoreError::RepositoryExists(name)) => Err(EcrError::new(
                ErrorType::RepositoryAlreadyExists,
                format!("The repository with name '{name}' already exists in the registry with id '{account_id}'"),
            )),
            other => other.map_err(EcrError::from),
        })
        .await?;
    Ok(CreateRepositoryResponse {
        repository: to_wire(state, record),
    })
}

/// Lists repositories; callers other than the root see those their policies let them describe.
pub async fn describe(
    state: &AppState,
    principal: &Principal,
    request: DescribeRepositoriesRequest,
) -> Result<DescribeRepositoriesResponse, EcrError> {
    let visible = |record: &RepositoryRecord| {
        access::authorize(
            &state.config,
            principal,
            "ecr:DescribeRepositories",
            Some(record),
        )
    };
    check_registry_id(state, request.registry_id.as_deref())?;
    let limit = check_max_results(request.max_results)?;
    if let Some(names) = request.repository_names {
        if names.is_empty() || names.len() > 100 {
            return Err(EcrError::invalid_parameter(
                "Invalid parameter at 'repositoryNames': give between 1 and 100 names.",
            ));
        }
        let records = state
            .store
            .call(move |conn| {
                names
                    .into_iter()
                    .map(|name| store::find_repository(conn, &name).map(|found| (name, found)))
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(EcrError::from)
            })
            .await?;
        let mut repositories = Vec::with_capacity(records.len());
        for (name, found) in records {
            let record = found.ok_or_else(|| not_found(state, &name))?;
            visible(&record)
                .map_err(|denied| EcrError::new(ErrorType::AccessDenied, denied.message))?;
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
        .store
        .call(move |conn| {
            store::list_repositories(conn, after.as_deref(), limit + 1).map_err(EcrError::from)
        })
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

pub async fn delete(
    state: &AppState,
    repository: RepositoryRecord,
    request: DeleteRepositoryRequest,
) -> Result<RepositoryResponse, EcrError> {
    let (id, force) = (repository.id, request.force);
    let (deleted, images) = state
        .store
        .call(move |conn| {
            let images = store::count_images(conn, id)?;
            Ok::<_, EcrError>((store::delete_repository(conn, id, force)?, images))
        })
        .await?;
    if !deleted {
        return Err(EcrError::new(
            ErrorType::RepositoryNotEmpty,
            format!(
                "The repository with name '{}' in registry with id '{}' cannot be deleted because it still contains {images} image{}: delete them first, or use force",
                repository.name,
                state.config.account_id,
                if images == 1 { "" } else { "s" }
            ),
        ));
    }
    Ok(RepositoryResponse {
        repository: to_wire(state, repository),
    })
}

pub async fn put_tag_mutability(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutImageTagMutabilityRequest,
) -> Result<PutImageTagMutabilityResponse, EcrError> {
    let mutability = check_tag_mutability(request.image_tag_mutability)?;
    let (id, value) = (repository.id, mutability.clone());
    state
        .store
        .call(move |conn| store::set_tag_mutability(conn, id, &value).map_err(EcrError::from))
        .await?;
    Ok(PutImageTagMutabilityResponse {
        registry_id: state.config.account_id.clone(),
        repository_name: repository.name.clone(),
        image_tag_mutability: mutability,
        ..Default::default()
    })
}

pub async fn put_scanning(
    state: &AppState,
    repository: &RepositoryRecord,
    request: PutImageScanningConfigurationRequest,
) -> Result<PutImageScanningConfigurationResponse, EcrError> {
    let (id, scan) = (
        repository.id,
        request.image_scanning_configuration.scan_on_push,
    );
    state
        .store
        .call(move |conn| store::set_scan_on_push(conn, id, scan).map_err(EcrError::from))
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

fn policy_not_found(state: &AppState, repository: &RepositoryRecord) -> EcrError {
    EcrError::new(
        ErrorType::RepositoryPolicyNotFound,
        format!(
            "Repository policy does not exist for the repository with name '{}' in the registry with id '{}'",
            repository.name, state.config.account_id
        ),
    )
}

pub fn get_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<RepositoryPolicyResponse, EcrError> {
    let text = repository
        .policy
        .clone()
        .ok_or_else(|| policy_not_found(state, repository))?;
    Ok(policy_response(state, repository, text))
}

/// Stores a policy after validating it with the same code that enforces it.
pub async fn set_policy(
    state: &AppState,
    repository: &RepositoryRecord,
    request: SetRepositoryPolicyRequest,
) -> Result<RepositoryPolicyResponse, EcrError> {
    if request.policy_text.len() > 10_240 {
        return Err(EcrError::invalid_parameter(
            "Invalid parameter at 'policyText': a policy may be at most 10240 characters.",
        ));
    }
    if let Err(problems) = berth_model::policy::parse_policy(&request.policy_text) {
        let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        return Err(EcrError::invalid_parameter(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided': {}",
            list.join("; ")
        )));
    }
    let (id, text) = (repository.id, request.policy_text.clone());
    state
        .store
        .call(move |conn| store::set_policy(conn, id, &text).map_err(EcrError::from))
        .await?;
    Ok(policy_response(state, repository, request.policy_text))
}

pub async fn delete_policy(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<RepositoryPolicyResponse, EcrError> {
    let text = repository
        .policy
        .clone()
        .ok_or_else(|| policy_not_found(state, repository))?;
    let id = repository.id;
    state
        .store
        .call(move |conn| store::delete_policy(conn, id).map_err(EcrError::from))
        .await?;
    Ok(policy_response(state, repository, text))
}

/// The repository an ECR resource ARN names.
pub async fn repository_for_arn(state: &AppState, arn: &str) -> Result<RepositoryRecord, EcrError> {
    let name = ecr::repository_name_from_arn(arn, &state.config.region, &state.config.account_id).ok_or_else(|| {
        EcrError::invalid_parameter(format!(
            "Invalid parameter at 'resourceArn': '{arn}' is not a repository ARN of this registry (arn:aws:ecr:{}:{}:repository/<name>)",
            state.config.region, state.config.account_id
        ))
    })?;
    require_repository(state, None, name).await
}

pub fn check_resource_tags(tags: Vec<Tag>) -> Result<Vec<(String, String)>, EcrError> {
    let mut out = Vec::with_capacity(tags.len());
    for tag in tags {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(EcrError::invalid_parameter(
                "Invalid parameter at 'tags': a tag key must be 1 to 128 characters.",
            ));
        }
        if tag.value.chars().count() > 256 {
            return Err(EcrError::invalid_parameter(format!(
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
) -> Result<(), EcrError> {
    let (id, tags) = (repository.id, check_resource_tags(tags)?);
    state
        .store
        .call(move |conn| store::put_resource_tags(conn, id, &tags).map_err(EcrError::from))
        .await
}

pub async fn untag_resource(
    state: &AppState,
    repository: &RepositoryRecord,
    keys: Vec<String>,
) -> Result<(), EcrError> {
    let id = repository.id;
    state
        .store
        .call(move |conn| store::remove_resource_tags(conn, id, &keys).map_err(EcrError::from))
        .await
}

pub async fn list_tags(
    state: &AppState,
    repository: &RepositoryRecord,
) -> Result<ListTagsForResourceResponse, EcrError> {
    let id = repository.id;
    let tags = state
        .store
        .call(move |conn| store::resource_tags(conn, id).map_err(EcrError::from))
        .await?;
    Ok(ListTagsForResourceResponse {
        tags: tags
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect(),
    })
}

fn check_tag_mutability(value: String) -> Result<String, EcrError> {
    if [ecr::TAG_MUTABLE, ecr::TAG_IMMUTABLE].contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(EcrError::invalid_parameter(format!(
            "Invalid parameter at 'imageTagMutability': '{value}' is not one of MUTABLE, IMMUTABLE."
        )))
    }
}
