//! Berth's embedded registry: the ECR API and OCI Distribution over one axum app.
//!
//! routes (HTTP) → services (what the registry does) → storage (the Metadata and
//! Blobs traits); `auth` decides who is calling and what they may do; `server`
//! holds connections to their limits; `data_dir` keeps everything on disk private.

pub mod auth;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod data_dir;
pub mod migrate;
pub mod routes;
pub mod server;
pub mod services;
pub mod storage;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use axum::Router;
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::config::{BlobStore, Config, Database};
use crate::services::pulls::PullRecorder;
use crate::storage::cache::CachedMetadata;
use crate::storage::files::BlobFiles;
use crate::storage::postgres::PostgresMetadata;
use crate::storage::s3::S3Blobs;
use crate::storage::sqlite::changes::SqliteChanges;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{AccessKey, Blobs, Job, Metadata, StorageError};

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub metadata: Arc<dyn Metadata>,
    pub blobs: Arc<dyn Blobs>,
    /// Signs GetDownloadUrlForLayer URLs; kept in the database so URLs survive restarts.
    pub url_signing_key: Arc<Vec<u8>>,
    /// Seals the ECR API's page tokens; its key is kept in the database so tokens
    /// survive restarts.
    pub page_tokens: Arc<services::paging::PageTokens>,
    /// Bytes of ECR API bodies that may be buffered before their signatures are
    /// verified, all requests together (`Limits::unauthenticated_body_bytes`).
    pub unauthenticated_bodies: Arc<tokio::sync::Semaphore>,
    pub pulls: Arc<PullRecorder>,
}

/// The whole HTTP app; tests and `main` build the same one.
pub fn app(state: AppState) -> Router {
    let console = state.config.console_dir.clone();
    let console_index = console.as_deref().map(routes::console::index);
    let mut router = routes::oci::route(routes::ecr::route(Router::new(), console_index));
    if let Some(dir) = console {
        router = routes::console::files(router, &dir);
    }
    router
        .layer(cors_layer(&state.config))
        .layer(axum::middleware::from_fn(routes::unread_body::finish))
        .with_state(state)
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

#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Service(#[from] services::Error),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A storage setting is wrong or its service does not answer.
    #[error("{0}")]
    Setup(String),
}

/// Opens the metadata store and the blob store the configuration names; a data dir,
/// when one is used, is made private first.
pub async fn open_storage(
    data: Option<&std::path::Path>,
    database: &Database,
    blob_store: &BlobStore,
) -> Result<(Arc<dyn Metadata>, Arc<dyn Blobs>), BootstrapError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| BootstrapError::Io { path, source }
    };
    let data_dir = || {
        data.ok_or_else(|| {
            BootstrapError::Setup("the embedded stores need a data dir (--data)".into())
        })
    };
    if let Some(dir) = data {
        for fix in data_dir::secure(dir).map_err(io(dir))? {
            eprintln!("berth-registry: made private: {fix}");
        }
    }
    let metadata: Arc<dyn Metadata> = match database {
        Database::Embedded => {
            let dir = data_dir()?;
            let store: Arc<dyn Metadata> = Arc::new(SqliteMetadata::open(dir)?);
            Arc::new(CachedMetadata::new(
                store,
                Box::new(SqliteChanges::open(dir)?),
            ))
        }
        Database::Postgres { url, pool_size } => {
            let store = PostgresMetadata::connect(url, *pool_size).await?;
            let changes = store.changes();
            Arc::new(CachedMetadata::new(Arc::new(store), Box::new(changes)))
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

/// Prepares everything a running registry needs: database, blob storage (a data dir
/// made private, when there is one), account id, URL-signing and page-token keys,
/// and the admin key (from `preset`, which replaces any other root key, else the
/// stored one, else a fresh one), written to `admin-credentials.json` when there is
/// a data dir. Processes sharing a database run this one at a time, so that they
/// agree on one of each key.
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
    let url_signing_key = stored_key(metadata.as_ref(), "url_signing_key").await?;
    let page_token_key = stored_key(metadata.as_ref(), "page_token_key").await?;
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
    let endpoint = credentials::Endpoint {
        region: config.region.clone(),
        endpoint_url: config.public_url.clone(),
    };
    let credentials_file = match &config.data_dir {
        Some(dir) => Some(
            credentials::write_admin(dir, &key, &config.root_arn(), &endpoint).map_err(
                |source| BootstrapError::Io {
                    path: dir
                        .join(credentials::ADMIN_CREDENTIALS_FILE)
                        .display()
                        .to_string(),
                    source,
                },
            )?,
        ),
        None => None,
    };
    let pulls = Arc::new(PullRecorder::start(
        metadata.clone(),
        config.pull_record_interval,
    ));
    let state = AppState {
        unauthenticated_bodies: Arc::new(tokio::sync::Semaphore::new(
            config.limits.unauthenticated_body_bytes,
        )),
        config: Arc::new(config),
        metadata,
        blobs,
        url_signing_key: Arc::new(url_signing_key.to_vec()),
        page_tokens: Arc::new(services::paging::PageTokens::new(&page_token_key)),
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

/// The state of an existing registry (its data dir, or its database and bucket), for
/// work beside a running `serve` (`berth-registry lifecycle run`): its stores and its
/// account, leaving keys and credentials as they are.
pub async fn open_existing(
    data_dir: Option<&std::path::Path>,
    database: &Database,
    blob_store: &BlobStore,
) -> Result<AppState, BootstrapError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| BootstrapError::Io { path, source }
    };
    if let (Some(dir), Database::Embedded) = (data_dir, database) {
        if !dir.join(storage::sqlite::DATABASE_FILE).is_file() {
            return Err(io(dir)(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!(
                    "no registry data here (no {})",
                    storage::sqlite::DATABASE_FILE
                ),
            )));
        }
    }
    let (metadata, blobs) = open_storage(data_dir, database, blob_store).await?;
    let account_id = metadata
        .get_setting("account_id")
        .await?
        .unwrap_or_else(|| config::DEFAULT_ACCOUNT_ID.to_string());
    let listen: std::net::SocketAddr = config::DEFAULT_LISTEN
        .parse()
        .map_err(|e| BootstrapError::Setup(format!("{e}")))?;
    let config = Config {
        listen,
        data_dir: data_dir.map(std::path::Path::to_path_buf),
        database: database.clone(),
        blob_store: blob_store.clone(),
        blob_redirect: false,
        public_url: format!("http://{listen}"),
        region: config::DEFAULT_REGION.to_string(),
        account_id,
        cors_origins: Vec::new(),
        console_dir: None,
        gc_interval: None,
        upload_expiry: std::time::Duration::from_secs(24 * 60 * 60),
        pull_record_interval: std::time::Duration::from_secs(60),
        lifecycle_interval: None,
        limits: config::Limits::default(),
    };
    let url_signing_key = stored_key(metadata.as_ref(), "url_signing_key").await?;
    let page_token_key = stored_key(metadata.as_ref(), "page_token_key").await?;
    let pulls = Arc::new(PullRecorder::start(
        metadata.clone(),
        config.pull_record_interval,
    ));
    Ok(AppState {
        unauthenticated_bodies: Arc::new(tokio::sync::Semaphore::new(
            config.limits.unauthenticated_body_bytes,
        )),
        config: Arc::new(config),
        metadata,
        blobs,
        url_signing_key: Arc::new(url_signing_key.to_vec()),
        page_tokens: Arc::new(services::paging::PageTokens::new(&page_token_key)),
        pulls,
    })
}

/// A 32-byte secret kept in the settings table, generated on first use.
async fn stored_key(metadata: &dyn Metadata, name: &str) -> Result<[u8; 32], StorageError> {
    let stored = metadata
        .get_setting(name)
        .await?
        .and_then(|hex_key| hex::decode(hex_key).ok())
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok());
    if let Some(key) = stored {
        return Ok(key);
    }
    let fresh: [u8; 32] = rand::random();
    metadata.put_setting(name, &hex::encode(fresh)).await?;
    Ok(fresh)
}
