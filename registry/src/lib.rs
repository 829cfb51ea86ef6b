//! Berth's embedded registry: the ECR API and OCI Distribution over one axum app.
//!
//! routes (HTTP) → services (what the registry does) → storage (the Metadata and
//! Blobs traits); `auth` decides who is calling and what they may do.

pub mod auth;
pub mod clock;
pub mod config;
pub mod migrate;
pub mod routes;
pub mod services;
pub mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::services::{ServeDir, ServeFile};

use crate::config::{BlobStore, Config, Database};
use crate::services::pulls::PullRecorder;
use crate::storage::files::BlobFiles;
use crate::storage::postgres::PostgresMetadata;
use crate::storage::s3::S3Blobs;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{AccessKey, Blobs, Job, Metadata, StorageError};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub metadata: Arc<dyn Metadata>,
    pub blobs: Arc<dyn Blobs>,
    /// Signs GetDownloadUrlForLayer URLs; kept in the database so URLs survive restarts.
    pub url_signing_key: Arc<Vec<u8>>,
    pub pulls: Arc<PullRecorder>,
}

/// The whole HTTP app; tests and `main` build the same one.
pub fn app(state: AppState) -> Router {
    let console = state.config.console_dir.clone();
    let console_index = console
        .as_ref()
        .map(|dir| axum::routing::get_service(ServeFile::new(dir.join("index.html"))));
    let mut router = routes::oci::route(routes::ecr::route(Router::new(), console_index));
    if let Some(dir) = console {
        // Unknown paths are console routes (deep links): serve index.html for them.
        router = router
            .fallback_service(ServeDir::new(&dir).fallback(ServeFile::new(dir.join("index.html"))));
    }
    router.layer(cors_layer(&state.config)).with_state(state)
}

fn cors_layer(config: &Config) -> CorsLayer {
    let origins = if config.cors_origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            config
                .cors_origins
                .iter()
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    let headers = [
        "authorization",
        "content-type",
        "x-amz-date",
        "x-amz-target",
        "x-amz-security-token",
        "x-amz-user-agent",
        "x-amz-content-sha256",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
    ];
    CorsLayer::new()
        .allow_origin(origins)
        .allow_methods([
            Method::GET,
            Method::HEAD,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allow_headers(headers.map(HeaderName::from_static))
        .expose_headers(
            [
                "x-amzn-requestid",
                "x-amzn-errortype",
                "docker-content-digest",
                "location",
                "range",
                "link",
            ]
            .map(HeaderName::from_static),
        )
        .max_age(Duration::from_secs(600))
}

/// The admin key in force, and whether this start created it.
pub struct AdminKey {
    pub key: AccessKey,
    pub created: bool,
    /// Where it was written, when there is a data dir.
    pub credentials_file: Option<PathBuf>,
}

pub const ADMIN_CREDENTIALS_FILE: &str = "admin-credentials.json";

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// A storage setting is wrong or its service does not answer.
    #[error("{0}")]
    Setup(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// Opens the metadata store and the blob store the configuration names.
pub async fn open_storage(
    data: Option<&std::path::Path>,
    database: &Database,
    blob_store: &BlobStore,
) -> Result<(Arc<dyn Metadata>, Arc<dyn Blobs>), BootstrapError> {
    let data_dir = || {
        data.ok_or_else(|| {
            BootstrapError::Setup("the embedded stores need a data dir (--data)".into())
        })
    };
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| BootstrapError::Io { path, source }
    };
    if let Some(dir) = data {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
    }
    let metadata: Arc<dyn Metadata> = match database {
        Database::Embedded => Arc::new(SqliteMetadata::open(data_dir()?)?),
        Database::Postgres { url, pool_size } => {
            Arc::new(PostgresMetadata::connect(url, *pool_size).await?)
        }
    };
    let blobs: Arc<dyn Blobs> = match blob_store {
        BlobStore::Files => {
            let dir = data_dir()?;
            Arc::new(BlobFiles::open(dir).map_err(io(dir))?)
        }
        BlobStore::S3 {
            location,
            credentials,
        } => Arc::new(
            S3Blobs::open(location, credentials, metadata.clone())
                .await
                .map_err(BootstrapError::Setup)?,
        ),
    };
    Ok((metadata, blobs))
}

/// Prepares everything a running registry needs: database, blob storage, account
/// id, URL-signing key, and the admin key (from `preset`, else the stored one, else
/// a fresh one), written to `admin-credentials.json` when there is a data dir.
/// Processes sharing a database run this one at a time, so that they agree on one
/// signing key and one admin key.
pub async fn bootstrap(
    config: Config,
    preset: Option<AccessKey>,
) -> Result<(AppState, AdminKey), BootstrapError> {
    let (metadata, blobs) = open_storage(
        config.data_dir.as_deref(),
        &config.database,
        &config.blob_store,
    )
    .await?;
    let bootstrap_lock = metadata
        .lock_job(Job::Bootstrap, true)
        .await?
        .ok_or_else(|| BootstrapError::Setup("the bootstrap lock was not granted".into()))?;
    metadata
        .put_setting("account_id", &config.account_id)
        .await?;
    let url_key = match metadata.get_setting("url_signing_key").await? {
        Some(hex_key) => hex::decode(hex_key).unwrap_or_default(),
        None => Vec::new(),
    };
    let url_signing_key = if url_key.len() == 32 {
        url_key
    } else {
        let fresh: [u8; 32] = rand::random();
        metadata
            .put_setting("url_signing_key", &hex::encode(fresh))
            .await?;
        fresh.to_vec()
    };
    let (key, created) = match (preset, metadata.root_access_key().await?) {
        (Some(preset), _) => {
            metadata.replace_root_access_key(&preset).await?;
            (preset, false)
        }
        (None, Some(existing)) => (existing, false),
        (None, None) => {
            let fresh = auth::tokens::generate_access_key(None);
            metadata.replace_root_access_key(&fresh).await?;
            (fresh, true)
        }
    };
    drop(bootstrap_lock);
    let credentials_file = match &config.data_dir {
        Some(dir) => {
            let file = dir.join(ADMIN_CREDENTIALS_FILE);
            let json = serde_json::json!({
                "accessKeyId": key.access_key_id,
                "secretAccessKey": key.secret_access_key,
                "arn": config.root_arn(),
                "region": config.region,
                "endpointUrl": config.public_url,
            });
            write_private_file(&file, &serde_json::to_vec_pretty(&json).unwrap_or_default())
                .map_err(|source| BootstrapError::Io {
                    path: file.display().to_string(),
                    source,
                })?;
            Some(file)
        }
        None => None,
    };
    let pulls = Arc::new(PullRecorder::start(
        metadata.clone(),
        config.pull_record_interval,
    ));
    let state = AppState {
        config: Arc::new(config),
        metadata,
        blobs,
        url_signing_key: Arc::new(url_signing_key),
        pulls,
    };
    Ok((
        state,
        AdminKey {
            key,
            created,
            credentials_file,
        },
    ))
}

fn write_private_file(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&temp)?;
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(temp, path)
}
