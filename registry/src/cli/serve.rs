//! `serve`: the registry on its address, until a signal says stop.

use berth_registry::config::{self, BlobStore, Config, Limits};
use berth_registry::services::gc;
use berth_registry::services::lifecycle::run as lifecycle;
use berth_registry::storage::AccessKey;

use crate::ServeArgs;

pub(crate) fn serve(args: ServeArgs) -> Result<(), String> {
    config::validate_account_id(&args.account_id)?;
    let preset =
        match (args.admin_access_key_id, args.admin_secret_access_key) {
            (Some(id), Some(secret)) if !id.is_empty() && !secret.is_empty() => Some(AccessKey {
                access_key_id: id,
                secret_access_key: secret,
                user_name: None,
            }),
            (None, None) => None,
            _ => return Err(
                "set both BERTH_ADMIN_ACCESS_KEY_ID and BERTH_ADMIN_SECRET_ACCESS_KEY, or neither"
                    .into(),
            ),
        };
    let seconds = std::time::Duration::from_secs;
    let limits = Limits {
        header_read_timeout: seconds(args.header_read_timeout),
        keep_alive_timeout: seconds(args.keep_alive_timeout),
        stall_timeout: seconds(args.stall_timeout),
        max_connections: args.max_connections,
        unauthenticated_body_bytes: args.max_unauthenticated_body_bytes,
    };
    if limits.max_connections == 0 {
        return Err("--max-connections must be at least 1".into());
    }
    let largest = berth_registry::routes::ecr::body::LARGEST_LIMIT;
    if limits.unauthenticated_body_bytes < largest {
        return Err(format!(
            "--max-unauthenticated-body-bytes must be at least {largest}, the largest legal ECR request"
        ));
    }
    let (data_dir, database, blob_store) = args.storage.resolve()?;
    if args.blob_redirect && !matches!(blob_store, BlobStore::S3 { .. }) {
        return Err(
            "--blob-redirect needs --blob-store s3://…: files have no presigned URLs".into(),
        );
    }
    if let Some(dir) = &args.console {
        if !dir.join("index.html").is_file() {
            return Err(format!(
                "--console {}: no index.html there (build the console with trunk first)",
                dir.display()
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        let config = Config {
            listen: bound,
            data_dir,
            database,
            blob_store,
            blob_redirect: args.blob_redirect,
            public_url: args
                .public_url
                .unwrap_or_else(|| format!("http://{bound}"))
                .trim_end_matches('/')
                .to_string(),
            region: args.region,
            account_id: args.account_id,
            cors_origins: if args.cors_origins.is_empty() {
                config::DEFAULT_CORS_ORIGINS
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            } else {
                args.cors_origins
            },
            console_dir: args.console,
            limits: limits.clone(),
            gc_interval: Some(args.gc_interval).filter(|i| !i.is_zero()),
            upload_expiry: args.upload_expiry,
            pull_record_interval: args.pull_record_interval,
            lifecycle_interval: Some(args.lifecycle_interval).filter(|i| !i.is_zero()),
        };
        let (state, admin) = berth_registry::bootstrap(config, preset)
            .await
            .map_err(|e| e.to_string())?;
        let config = &state.config;
        println!("Berth registry listening on http://{bound}");
        println!(
            "  public URL: {}   region: {}   account: {}",
            config.public_url, config.region, config.account_id
        );
        if config.console_dir.is_some() {
            println!("  console:    {}/", config.public_url);
        }
        println!("  admin access key id:     {}", admin.key.access_key_id);
        if admin.created {
            println!("  admin secret access key: {}", admin.key.secret_access_key);
        }
        if let Some(file) = &admin.credentials_file {
            println!("  admin credentials file:  {}", file.display());
        } else if admin.created {
            println!("  (printed once: the key is kept only in the database)");
        }
        if let Some(interval) = config.gc_interval {
            println!(
                "  garbage collection every {}s; upload sessions expire after {}s idle",
                interval.as_secs(),
                config.upload_expiry.as_secs()
            );
            tokio::spawn(
                gc::run_on_schedule(
                    state.metadata.clone(),
                    state.blobs.clone(),
                    interval,
                    config.upload_expiry,
                )
                .await,
            );
        }
        if let Some(interval) = config.lifecycle_interval {
            println!("  lifecycle policies applied every {}s", interval.as_secs());
            tokio::spawn(lifecycle::run_on_schedule(state.clone(), interval));
        }
        let mut app = berth_registry::app(state);
        if let Some(path) = &args.record_api {
            let recorder = berth_registry::routes::record::Recorder::open(path)
                .map_err(|e| format!("--record-api {}: {e}", path.display()))?;
            app = app.layer(axum::middleware::from_fn_with_state(
                recorder,
                berth_registry::routes::record::record,
            ));
        }
        berth_registry::server::raise_open_file_limit();
        berth_registry::server::serve(listener, app, limits, shutdown_signal()).await;
        Ok(())
    })
}

/// The built console alone, on its own address (`berth-registry console`).
pub(crate) fn serve_console(
    listen: std::net::SocketAddr,
    dir: &std::path::Path,
) -> Result<(), String> {
    if !dir.join("index.html").is_file() {
        return Err(format!("{}: no index.html there", dir.display()));
    }
    let app = berth_registry::routes::console::files(
        axum::Router::new().route("/", berth_registry::routes::console::index(dir)),
        dir,
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
        println!("Berth console on http://{listen}/ from {}", dir.display());
        berth_registry::server::serve(listener, app, Limits::default(), shutdown_signal()).await;
        Ok(())
    })
}

pub(crate) async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
