//! Scanning: the registry's scanning configuration (PutRegistryScanningConfiguration,
//! GetRegistryScanningConfiguration), stored and returned exactly; each
//! repository's effective configuration (BatchGetRepositoryScanningConfiguration),
//! as `berth_model::scanning` computes it; and scans, which Berth does not run:
//! StartImageScan and DescribeImageScanFindings check what AWS checks (the
//! repository, the image) and then say so with an error their clients know.

use berth_model::ecr::{
    self, BatchGetRepositoryScanningConfigurationRequest,
    BatchGetRepositoryScanningConfigurationResponse, DescribeImageScanFindingsRequest,
    GetRegistryScanningConfigurationResponse, PutRegistryScanningConfigurationRequest,
    PutRegistryScanningConfigurationResponse, RegistryScanningConfiguration,
    RepositoryScanningConfiguration, RepositoryScanningConfigurationFailure, StartImageScanRequest,
    MAX_SCANNING_CONFIGURATION_REPOSITORIES, SCANNING_FAILURE_REPOSITORY_NOT_FOUND,
};
use berth_model::names::validate_repository_name;
use berth_model::scanning;

use super::error::{Error, Result};
use super::paging::check_max_results;
use super::{images, policies, repositories};
use crate::auth::Principal;
use crate::storage::{RepositoryRecord, StorageError};
use crate::AppState;

/// Where the registry's scanning configuration is kept (JSON), beside the registry
/// policy.
pub const REGISTRY_SCANNING_SETTING: &str = "registry_scanning_configuration";

/// The registry's configuration: what was last put, or ECR's default (basic, no rules).
async fn registry_configuration(state: &AppState) -> Result<RegistryScanningConfiguration> {
    match state
        .metadata
        .get_setting(REGISTRY_SCANNING_SETTING)
        .await?
    {
        None => Ok(scanning::default_configuration()),
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            Error::Storage(StorageError(format!(
                "the stored registry scanning configuration is not readable: {e}"
            )))
        }),
    }
}

pub async fn put_registry(
    state: &AppState,
    request: PutRegistryScanningConfigurationRequest,
) -> Result<PutRegistryScanningConfigurationResponse> {
    let configuration = scanning::check(request).map_err(Error::InvalidParameter)?;
    let json = serde_json::to_string(&configuration)
        .map_err(|e| Error::Storage(StorageError(e.to_string())))?;
    state
        .metadata
        .put_setting(REGISTRY_SCANNING_SETTING, &json)
        .await?;
    Ok(PutRegistryScanningConfigurationResponse {
        registry_scanning_configuration: configuration,
    })
}

pub async fn get_registry(state: &AppState) -> Result<GetRegistryScanningConfigurationResponse> {
    Ok(GetRegistryScanningConfigurationResponse {
        registry_id: state.config.account_id.clone(),
        scanning_configuration: registry_configuration(state).await?,
    })
}

/// Each named repository's effective configuration. A repository is authorized on
/// its own (`ecr:BatchGetRepositoryScanningConfiguration`); one that does not
/// exist is a failure, as on AWS — but only for callers who could be allowed there:
/// anyone else is refused for the whole call, as for an existing repository they may
/// not read, so the failures reveal no names.
pub async fn batch_get_repositories(
    state: &AppState,
    principal: &Principal,
    request: BatchGetRepositoryScanningConfigurationRequest,
) -> Result<BatchGetRepositoryScanningConfigurationResponse> {
    let names = request.repository_names;
    if names.is_empty() || names.len() > MAX_SCANNING_CONFIGURATION_REPOSITORIES {
        return Err(Error::invalid(format!(
            "Invalid parameter at 'repositoryNames': give between 1 and {MAX_SCANNING_CONFIGURATION_REPOSITORIES} names."
        )));
    }
    for (i, name) in names.iter().enumerate() {
        validate_repository_name(name).map_err(|e| {
            Error::invalid(format!("Invalid parameter at 'repositoryNames[{i}]': {e}"))
        })?;
    }
    let access = policies::access(state).await?;
    let configuration = registry_configuration(state).await?;
    let action = "ecr:BatchGetRepositoryScanningConfiguration";
    let mut response = BatchGetRepositoryScanningConfigurationResponse::default();
    for name in names {
        match repositories::authorized_with(state, &access, principal, action, &name).await {
            Ok(record) => response
                .scanning_configurations
                .push(effective(state, &configuration, &record)),
            Err(Error::RepositoryNotFound { name }) => {
                response
                    .failures
                    .push(RepositoryScanningConfigurationFailure {
                        failure_reason: format!(
                            "The repository with name '{name}' does not exist in the registry with id '{}'",
                            state.config.account_id
                        ),
                        repository_name: name,
                        failure_code: SCANNING_FAILURE_REPOSITORY_NOT_FOUND.to_string(),
                    })
            }
            Err(other) => return Err(other),
        }
    }
    Ok(response)
}

fn effective(
    state: &AppState,
    configuration: &RegistryScanningConfiguration,
    record: &RepositoryRecord,
) -> RepositoryScanningConfiguration {
    let applied = scanning::effective(configuration, &record.name, record.scan_on_push);
    RepositoryScanningConfiguration {
        repository_arn: ecr::repository_arn(
            &state.config.region,
            &state.config.account_id,
            &record.name,
        ),
        repository_name: record.name.clone(),
        scan_on_push: record.scan_on_push,
        scan_frequency: applied.scan_frequency.to_string(),
        applied_scan_filters: applied.applied_scan_filters,
    }
}

/// How an image is named in messages, as AWS renders an image id.
fn image_label(digest: &str, id: &ecr::ImageIdentifier) -> String {
    format!(
        "imageDigest:'{digest}', imageTag:'{}'",
        id.image_tag.as_deref().unwrap_or("null")
    )
}

/// Why StartImageScan cannot start a scan of an image in `repository`: the image is
/// looked up first, so a missing one is ImageNotFound, as on AWS; an existing one
/// cannot be scanned, because Berth has no scanner.
pub async fn start_image_scan(
    state: &AppState,
    repository: &RepositoryRecord,
    request: StartImageScanRequest,
) -> Error {
    match images::find(state, repository, &request.image_id).await {
        Ok(record) => Error::ScanUnsupported {
            repository: repository.name.clone(),
            image: image_label(&record.digest, &request.image_id),
        },
        Err(error) => error,
    }
}

/// Why DescribeImageScanFindings has no findings for an image in `repository`: the
/// image is looked up first, as for StartImageScan; an existing one has never been
/// scanned (ScanNotFound).
pub async fn describe_findings(
    state: &AppState,
    repository: &RepositoryRecord,
    request: DescribeImageScanFindingsRequest,
) -> Error {
    if let Err(error) = check_max_results(request.max_results) {
        return error;
    }
    match images::find(state, repository, &request.image_id).await {
        Ok(record) => Error::ScanNotFound {
            repository: repository.name.clone(),
            image: image_label(&record.digest, &request.image_id),
        },
        Err(error) => error,
    }
}
