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

use crate::config::Config;
use crate::services::pulls::PullRecorder;
use crate::storage::cache::CachedMetadata;
use crate::storage::files::BlobFiles;
use crate::storage::sqlite::changes::SqliteChanges;
use crate::storage::sqlite::SqliteMetadata;
use crate::storage::{AccessKey, Blobs, Metadata, StorageError};

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
    pub credentials_file: PathBuf,
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
}

/// Prepares the data dir and everything a running registry needs: private modes on
/// everything in it, database, blob storage, account id, URL-signing key, and the
/// admin key (from `preset`, which replaces any other root key, else the stored one,
/// else a fresh one), written to `admin-credentials.json`.
pub async fn bootstrap(
    config: Config,
    preset: Option<AccessKey>,
) -> Result<(AppState, AdminKey), BootstrapError> {
    let io = |path: &std::path::Path| {
        let path = path.display().to_string();
        move |source| BootstrapError::Io { path, source }
    };
    for fix in data_dir::secure(&config.data_dir).map_err(io(&config.data_dir))? {
        eprintln!("berth-registry: made private: {fix}");
    }
    let store: Arc<dyn Metadata> = Arc::new(SqliteMetadata::open(&config.data_dir)?);
    let changes = SqliteChanges::open(&config.data_dir)?;
    let metadata: Arc<dyn Metadata> = Arc::new(CachedMetadata::new(store, Box::new(changes)));
    let blobs: Arc<dyn Blobs> =
        Arc::new(BlobFiles::open(&config.data_dir).map_err(io(&config.data_dir))?);
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
    let endpoint = credentials::Endpoint {
        region: config.region.clone(),
        endpoint_url: config.public_url.clone(),
    };
    let credentials_file =
        credentials::write_admin(&config.data_dir, &key, &config.root_arn(), &endpoint).map_err(
            io(&config.data_dir.join(credentials::ADMIN_CREDENTIALS_FILE)),
        )?;
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
