//! `berth-registry`: run the registry, collect its garbage, apply its lifecycle policies,
//! manage its users and keys, check its data, or copy an embedded registry into
//! PostgreSQL and S3.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_registry::config::{self, BlobStore, Config, Database, Limits};
use berth_registry::services::lifecycle::run as lifecycle;
use berth_registry::services::{self, gc, users};
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::postgres::{self, PostgresMetadata};
use berth_registry::storage::s3::{self, S3Location};
use berth_registry::storage::sqlite::{SqliteMetadata, DATABASE_FILE};
use berth_registry::storage::{AccessKey, Metadata};
use berth_registry::{credentials, data_dir};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth-registry",
    version,
    about = "Berth's embedded container registry (ECR API + OCI Distribution)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the registry.
    Serve(Box<ServeArgs>),
    /// Collect garbage now: free blobs nothing references, expire abandoned uploads,
    /// remove crash leftovers. Safe while `serve` runs on the same data dir.
    Gc(GcArgs),
    /// Manage users (IAM-style principals with their own access keys).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage the admin (account root) key.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Check the data dir: re-hash every blob; report damaged, missing and orphaned
    /// blob files and manifests that reference unlinked blobs, as JSON. Safe while
    /// `serve` runs. Exits 1 when it finds something that needs an operator.
    Fsck {
        #[command(flatten)]
        storage: StorageArgs,
        /// Move damaged blobs to DATA/quarantine/: they then count as missing, and
        /// the next push of them stores them anew.
        #[arg(long)]
        repair: bool,
    },
    /// Serve a built console (Trunk's dist/) alone on its own address, as `serve
    /// --console` serves it (what `cargo xtask dev` runs beside the registry).
    Console {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The built console: index.html and the files it names.
        #[arg(long)]
        dir: PathBuf,
    },
    /// Apply the repositories' lifecycle policies.
    Lifecycle {
        #[command(subcommand)]
        command: LifecycleCommand,
    },
    /// Copy an embedded registry (--data) into PostgreSQL (--database) and S3
    /// (--blob-store): every repository, image, tag, policy, user and key. Safe to
    /// run again after an interruption: what is there already is kept.
    Migrate {
        /// The embedded registry's data directory.
        #[arg(long)]
        data: PathBuf,
        #[arg(long, env = "BERTH_DATABASE", hide_env_values = true)]
        database: String,
        #[arg(long)]
        blob_store: String,
    },
    /// Make a registry of `blobs` blobs in a new data dir, for `cargo xtask bench`:
    /// half of them linked to one repository and referenced by its images, half
    /// referenced by nothing.
    #[command(hide = true)]
    BenchFill {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, default_value_t = 100_000)]
        blobs: usize,
    },
}

/// Where the registry keeps its data: a data dir (SQLite and files, the default),
/// or PostgreSQL and S3 shared by several processes, or one of each.
#[derive(clap::Args)]
struct StorageArgs {
    /// Data directory (metadata database, blobs, admin credentials) [default: data,
    /// unless both --database and --blob-store are given].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Metadata in PostgreSQL instead of the data dir: postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, env = "BERTH_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Connections to PostgreSQL per process.
    #[arg(long, default_value_t = postgres::DEFAULT_POOL_SIZE)]
    database_pool_size: usize,
    /// Blobs in S3-compatible storage instead of the data dir:
    /// s3://BUCKET/PREFIX?region=REGION&endpoint=URL. Credentials: BERTH_S3_ACCESS_KEY_ID
    /// and BERTH_S3_SECRET_ACCESS_KEY, else the usual AWS environment and profile.
    #[arg(long)]
    blob_store: Option<String>,
}

impl StorageArgs {
    fn resolve(self) -> Result<(Option<PathBuf>, Database, BlobStore), String> {
        let database = match self.database {
            Some(url) => Database::Postgres {
                url,
                pool_size: self.database_pool_size,
            },
            None => Database::Embedded,
        };
        let blob_store = match self.blob_store {
            Some(text) => BlobStore::S3 {
                location: S3Location::parse(&text)?,
                credentials: s3::credentials(&|name| std::env::var(name).ok())?,
            },
            None => BlobStore::Files,
        };
        let stateless = matches!(
            (&database, &blob_store),
            (Database::Postgres { .. }, BlobStore::S3 { .. })
        );
        let data = match (self.data, stateless) {
            (Some(dir), true) => {
                return Err(format!(
                    "--data {}: with both --database and --blob-store nothing is kept in a \
                     data dir; drop --data",
                    dir.display()
                ))
            }
            (None, true) => None,
            (dir, false) => Some(dir.unwrap_or_else(|| PathBuf::from("data"))),
        };
        Ok((data, database, blob_store))
    }
}

/// Where a command that changes only keys and users finds the registry's metadata:
/// its data dir, or its PostgreSQL database.
#[derive(clap::Args)]
struct MetadataArgs {
    /// The data dir of an embedded registry.
    #[arg(long, default_value = "data", conflicts_with = "database")]
    data: PathBuf,
    /// The PostgreSQL database of a scale-out registry.
    #[arg(long, env = "BERTH_DATABASE", hide_env_values = true)]
    database: Option<String>,
}

#[derive(Subcommand)]
enum LifecycleCommand {
    /// Evaluate every repository's lifecycle policy now and delete the images it
    /// expires. Safe while `serve` runs on the same data dir; waits for a run in
    /// progress elsewhere to finish.
    Run {
        #[command(flatten)]
        storage: StorageArgs,
        /// Report what would expire, and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Print the report as JSON instead of a sentence.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args)]
struct GcArgs {
    #[command(flatten)]
    storage: StorageArgs,
    /// Report what would be freed, and free nothing.
    #[arg(long)]
    dry_run: bool,
    /// Upload sessions idle this long expire (e.g. 90s, 15m, 24h, 1d).
    #[arg(long, default_value = "24h", value_parser = config::parse_duration)]
    upload_expiry: Duration,
    /// Print the report as JSON instead of a sentence.
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = config::DEFAULT_LISTEN)]
    listen: SocketAddr,
    #[command(flatten)]
    storage: StorageArgs,
    /// Answer blob downloads (and GetDownloadUrlForLayer) with short-lived presigned
    /// URLs of the S3 store, as ECR does, instead of streaming through this process.
    #[arg(long)]
    blob_redirect: bool,
    /// The URL clients use to reach this registry [default: http://<listen address>].
    #[arg(long)]
    public_url: Option<String>,
    /// The AWS region this registry answers as.
    #[arg(long, default_value = config::DEFAULT_REGION)]
    region: String,
    /// The 12-digit account id in ARNs and registry ids.
    #[arg(long, default_value = config::DEFAULT_ACCOUNT_ID)]
    account_id: String,
    /// A browser origin allowed to call the API (repeatable; `*` for any)
    /// [default: http://127.0.0.1:8080 and http://localhost:8080].
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// Serve a built console (trunk's dist/) at / on this registry's own address.
    #[arg(long)]
    console: Option<PathBuf>,
    /// Seconds a client has to send a request's head, from the connection opening
    /// or from the head's first byte.
    #[arg(long, value_name = "SECONDS", default_value_t = config::DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    header_read_timeout: u64,
    /// Seconds an idle connection is kept open between requests.
    #[arg(long, value_name = "SECONDS", default_value_t = config::DEFAULT_KEEP_ALIVE_TIMEOUT_SECS)]
    keep_alive_timeout: u64,
    /// Seconds a request may go without a byte moving either way before it is cut off.
    #[arg(long, value_name = "SECONDS", default_value_t = config::DEFAULT_STALL_TIMEOUT_SECS)]
    stall_timeout: u64,
    /// Connections served at once; more wait to be accepted.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// Bytes of ECR API request bodies held in memory, all requests together, before
    /// their signatures are verified.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_UNAUTHENTICATED_BODY_BYTES)]
    max_unauthenticated_body_bytes: usize,
    /// How often to collect garbage (e.g. 30m, 6h, 1d); 0 collects only on demand
    /// (`berth-registry gc`).
    #[arg(long, default_value = "6h", value_parser = config::parse_duration)]
    gc_interval: Duration,
    /// Upload sessions idle this long expire at the next collection.
    #[arg(long, default_value = "24h", value_parser = config::parse_duration)]
    upload_expiry: Duration,
    /// Record an image's last pull time at most once per this long.
    #[arg(long, default_value = "60s", value_parser = config::parse_duration)]
    pull_record_interval: Duration,
    /// How often to apply lifecycle policies (e.g. 30m, 1h, 1d); 0 applies them only
    /// on demand (`berth-registry lifecycle run`).
    #[arg(long, default_value = "1h", value_parser = config::parse_duration)]
    lifecycle_interval: Duration,
    /// Append every ECR API exchange to this file as JSON lines (a test aid).
    #[arg(long, hide = true)]
    record_api: Option<PathBuf>,
    #[arg(long, env = "BERTH_ADMIN_ACCESS_KEY_ID", hide_env_values = true)]
    admin_access_key_id: Option<String>,
    #[arg(long, env = "BERTH_ADMIN_SECRET_ACCESS_KEY", hide_env_values = true)]
    admin_secret_access_key: Option<String>,
}

/// Every command that changes keys works while `serve` runs on the same data dir:
/// the next request sees the change (the server's caches ask the database what changed).
#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print its access key as JSON.
    Add {
        /// User name (letters, digits and +=,.@_-, as in IAM).
        name: String,
        #[command(flatten)]
        target: MetadataArgs,
    },
    /// List users with their access key ids, as JSON.
    List {
        #[command(flatten)]
        target: MetadataArgs,
    },
    /// Remove a user: its keys and registry tokens stop working at once.
    Remove {
        name: String,
        #[command(flatten)]
        target: MetadataArgs,
    },
    /// Give a user a new access key, printed once as JSON; the old key and its
    /// registry tokens stop working at once.
    RotateKey {
        name: String,
        #[command(flatten)]
        target: MetadataArgs,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Replace the admin key: the new one is printed once as JSON and written to
    /// DATA/admin-credentials.json (0600); the old key and its tokens stop working at
    /// once. A registry started with BERTH_ADMIN_ACCESS_KEY_ID set goes back to that
    /// key when it restarts: rotate a preset key by changing the preset.
    RotateKey {
        #[command(flatten)]
        target: MetadataArgs,
    },
}

fn main() -> ExitCode {
    // Before any file is made: everything the registry writes is private to its user.
    data_dir::restrict_umask();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Gc(args) => collect_garbage(args),
        Command::BenchFill { data, blobs } => bench_fill(&data, blobs),
        Command::Console { listen, dir } => serve_console(listen, &dir),
        Command::Lifecycle {
            command:
                LifecycleCommand::Run {
                    storage,
                    dry_run,
                    json,
                },
        } => run_lifecycle(storage, dry_run, json),
        Command::User { command } => user(command),
        Command::Admin {
            command: AdminCommand::RotateKey { target },
        } => rotate_admin_key(target),
        Command::Migrate {
            data,
            database,
            blob_store,
        } => migrate(data, database, &blob_store),
        Command::Fsck { storage, repair } => match fsck(storage, repair) {
            Ok(true) => Ok(()),
            Ok(false) => return ExitCode::from(1),
            Err(message) => Err(message),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("berth-registry: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
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
            tokio::spawn(gc::run_on_schedule(
                state.metadata.clone(),
                state.blobs.clone(),
                interval,
                config.upload_expiry,
            ));
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

fn serve_console(listen: std::net::SocketAddr, dir: &std::path::Path) -> Result<(), String> {
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

async fn shutdown_signal() {
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

fn collect_garbage(args: GcArgs) -> Result<(), String> {
    let (data_dir, database, blob_store) = args.storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here (no {DATABASE_FILE})",
                data.display()
            ));
        }
    }
    let options = gc::Options {
        upload_expiry: args.upload_expiry,
        dry_run: args.dry_run,
        wait: true,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(async {
            let (metadata, blobs) =
                berth_registry::open_storage(data_dir.as_deref(), &database, &blob_store)
                    .await
                    .map_err(|e| e.to_string())?;
            gc::run(&metadata, &blobs, &options)
                .await
                .map_err(|e| e.to_string())
        })?
        .ok_or("garbage collection did not run")?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.summary());
    }
    if report.failure_count > 0 {
        return Err(format!(
            "{} items could not be deleted",
            report.failure_count
        ));
    }
    Ok(())
}

fn run_lifecycle(storage: StorageArgs, dry_run: bool, json: bool) -> Result<(), String> {
    let (data_dir, database, blob_store) = storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
                data.display()
            ));
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(async {
        let state = berth_registry::open_existing(data_dir.as_deref(), &database, &blob_store)
            .await
            .map_err(|e| e.to_string())?;
        let options = lifecycle::Options {
            dry_run,
            wait: true,
        };
        lifecycle::run(&state, options)
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "the lifecycle run did not start".to_string())
    })?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", report.summary());
        for image in &report.expired {
            println!(
                "  {} {}@{} (rulePriority {})",
                if dry_run { "would expire" } else { "expired" },
                image.repository_name,
                image.image_digest,
                image.applied_rule_priority
            );
        }
    }
    if report.failure_count > 0 {
        return Err(format!("{} lifecycle actions failed", report.failure_count));
    }
    Ok(())
}

fn bench_fill(data: &std::path::Path, count: usize) -> Result<(), String> {
    use berth_model::oci::Digest;
    use berth_registry::storage::sqlite::fixtures::BulkImage;
    use sha2::Digest as _;

    const BLOBS_PER_IMAGE: usize = 10;
    if data.join(DATABASE_FILE).exists() {
        return Err(format!("{}: already holds a registry", data.display()));
    }
    std::fs::create_dir_all(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let metadata = SqliteMetadata::open(data).map_err(|e| e.to_string())?;
    let files = BlobFiles::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let mut blobs = Vec::with_capacity(count);
    for i in 0..count {
        let content = format!("berth garbage collection benchmark, blob {i:012}\n");
        let digest = Digest::from_sha256(&sha2::Sha256::digest(content.as_bytes()));
        let path = files.blob_path(&digest);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(&path, &content).map_err(|e| format!("{}: {e}", path.display()))?;
        blobs.push((digest, content.len() as u64));
    }
    let referenced = count / 2;
    let descriptor = |(digest, size): &(Digest, u64)| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest.as_str(), "size": size});
    let images: Vec<BulkImage> = blobs[..referenced]
        .chunks(BLOBS_PER_IMAGE)
        .map(|group| {
            let content = serde_json::json!({
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": descriptor(&group[0]),
                "layers": group[1..].iter().map(descriptor).collect::<Vec<_>>(),
            })
            .to_string()
            .into_bytes();
            BulkImage {
                digest: Digest::from_sha256(&sha2::Sha256::digest(&content)),
                content,
                blobs: group.iter().map(|(d, _)| d.clone()).collect(),
            }
        })
        .collect();
    let image_count = images.len();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let record = berth_registry::storage::RepositoryRecord {
            id: 0,
            policy: None,
            name: "bench/gc".into(),
            created_at: berth_registry::clock::now_epoch_seconds(),
            image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
            image_tag_mutability_exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
            kms_key: None,
        };
        let repository = metadata
            .insert_repository(&record, &[])
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the repository exists")?;
        // Recorded a minute ago, as if pushed before the collection starts.
        let recorded_at = berth_registry::clock::now_epoch_seconds() - 60.0;
        metadata
            .record_in_bulk(repository, blobs, referenced, images, recorded_at)
            .await
            .map_err(|e| e.to_string())
    })?;
    println!(
        "{}",
        serde_json::json!({"blobs": count, "referenced": referenced, "images": image_count})
    );
    Ok(())
}

/// The metadata store of an existing data dir (or a new one, with `create`), its
/// modes made private first; or the PostgreSQL database named.
async fn open_metadata(target: &MetadataArgs, create: bool) -> Result<Box<dyn Metadata>, String> {
    if let Some(url) = &target.database {
        let store = PostgresMetadata::connect(url, 2)
            .await
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(store));
    }
    let data = &target.data;
    if !create && !data.join(DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
            data.display()
        ));
    }
    data_dir::secure_and_report(data)?;
    Ok(Box::new(
        SqliteMetadata::open(data).map_err(|e| e.to_string())?,
    ))
}

fn block_on<T>(future: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(future)
}

fn print_json(value: &serde_json::Value) -> Result<(), String> {
    println!(
        "{}",
        serde_json::to_string_pretty(value).map_err(|e| e.to_string())?
    );
    Ok(())
}

fn key_json(account_id: &str, name: &str, key: &AccessKey) -> serde_json::Value {
    serde_json::json!({
        "userName": name,
        "arn": config::user_arn(account_id, name),
        "accessKeyId": key.access_key_id,
        "secretAccessKey": key.secret_access_key,
    })
}

fn user(command: UserCommand) -> Result<(), String> {
    let text = |e: services::Error| e.to_string();
    match command {
        UserCommand::Add { name, target } => {
            users::validate_user_name(&name).map_err(text)?;
            block_on(async {
                let store = open_metadata(&target, true).await?;
                let key = users::add(store.as_ref(), &name).await.map_err(text)?;
                let account = users::account_id(store.as_ref()).await.map_err(text)?;
                print_json(&key_json(&account, &name, &key))
            })
        }
        UserCommand::List { target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            let account = users::account_id(store.as_ref()).await.map_err(text)?;
            let list: Vec<serde_json::Value> = users::list(store.as_ref())
                .await
                .map_err(text)?
                .into_iter()
                .map(|u| {
                    serde_json::json!({
                        "userName": u.user_name,
                        "arn": config::user_arn(&account, &u.user_name),
                        "accessKeyIds": u.access_key_ids,
                        "createdAt": u.created_at,
                    })
                })
                .collect();
            print_json(&serde_json::Value::Array(list))
        }),
        UserCommand::Remove { name, target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            users::remove(store.as_ref(), &name).await.map_err(text)?;
            eprintln!("berth-registry: removed user '{name}'; its keys and tokens no longer work");
            Ok(())
        }),
        UserCommand::RotateKey { name, target } => block_on(async {
            let store = open_metadata(&target, false).await?;
            let key = users::rotate_key(store.as_ref(), &name)
                .await
                .map_err(text)?;
            let account = users::account_id(store.as_ref()).await.map_err(text)?;
            print_json(&key_json(&account, &name, &key))
        }),
    }
}

fn rotate_admin_key(target: MetadataArgs) -> Result<(), String> {
    let text = |e: services::Error| e.to_string();
    block_on(async {
        let store = open_metadata(&target, false).await?;
        let key = users::rotate_admin_key(store.as_ref())
            .await
            .map_err(text)?;
        let account = users::account_id(store.as_ref()).await.map_err(text)?;
        let arn = config::root_arn(&account);
        // A scale-out registry keeps the key only in its database.
        let file = match &target.database {
            Some(_) => None,
            None => {
                let data = &target.data;
                let endpoint =
                    credentials::read_endpoint(data).unwrap_or_else(|| credentials::Endpoint {
                        region: config::DEFAULT_REGION.to_string(),
                        endpoint_url: format!("http://{}", config::DEFAULT_LISTEN),
                    });
                Some(
                    credentials::write_admin(data, &key, &arn, &endpoint)
                        .map_err(|e| format!("{}: {e}", data.display()))?,
                )
            }
        };
        print_json(&serde_json::json!({
            "arn": arn,
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret_access_key,
            "credentialsFile": file,
        }))
    })
}

/// Runs fsck and prints its report; whether the data dir is sound.
fn fsck(storage: StorageArgs, repair: bool) -> Result<bool, String> {
    let (data_dir, database, blob_store) = storage.resolve()?;
    if let (Some(data), Database::Embedded) = (&data_dir, &database) {
        if !data.join(DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
                data.display()
            ));
        }
    }
    block_on(async {
        let (store, blobs) =
            berth_registry::open_storage(data_dir.as_deref(), &database, &blob_store)
                .await
                .map_err(|e| e.to_string())?;
        let report = services::fsck::run(store.as_ref(), blobs.as_ref(), repair)
            .await
            .map_err(|e| e.to_string())?;
        let damaged: Vec<serde_json::Value> = report
            .damaged
            .iter()
            .map(|d| {
                serde_json::json!({
                    "digest": d.digest,
                    "actualDigest": d.actual,
                    "size": d.size,
                    "quarantinedTo": d.quarantined,
                })
            })
            .collect();
        let dangling: Vec<serde_json::Value> = report
            .dangling
            .iter()
            .map(|d| {
                serde_json::json!({
                    "repositoryName": d.repository,
                    "imageDigest": d.manifest,
                    "layerDigest": d.blob,
                })
            })
            .collect();
        print_json(&serde_json::json!({
            "blobsChecked": report.blobs_checked,
            "damaged": damaged,
            "missing": report.missing,
            "orphans": report.orphans,
            "danglingReferences": dangling,
        }))?;
        Ok(!report.has_problems())
    })
}

fn migrate(data: PathBuf, database: String, blob_store: &str) -> Result<(), String> {
    if !data
        .join(berth_registry::storage::sqlite::DATABASE_FILE)
        .is_file()
    {
        return Err(format!(
            "--data {}: no embedded registry there (no {})",
            data.display(),
            berth_registry::storage::sqlite::DATABASE_FILE
        ));
    }
    let blob_store = BlobStore::S3 {
        location: S3Location::parse(blob_store)?,
        credentials: s3::credentials(&|name| std::env::var(name).ok())?,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let report = berth_registry::migrate::run(&data, &database, &blob_store, &mut |line| {
            println!("{line}")
        })
        .await
        .map_err(|e| e.to_string())?;
        println!("{report}");
        Ok(())
    })
}
