//! `berth-registry`: run the registry, collect its garbage, manage its users, or
//! copy an embedded registry into PostgreSQL and S3.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_registry::auth;
use berth_registry::config::{self, BlobStore, Config, Database};
use berth_registry::services::gc;
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::postgres::{self, PostgresMetadata};
use berth_registry::storage::s3::{self, S3Location};
use berth_registry::storage::sqlite::{self, SqliteMetadata};
use berth_registry::storage::{AccessKey, Metadata};
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
    /// Append every ECR API exchange to this file as JSON lines (a test aid).
    #[arg(long, hide = true)]
    record_api: Option<PathBuf>,
    #[arg(long, env = "BERTH_ADMIN_ACCESS_KEY_ID", hide_env_values = true)]
    admin_access_key_id: Option<String>,
    #[arg(long, env = "BERTH_ADMIN_SECRET_ACCESS_KEY", hide_env_values = true)]
    admin_secret_access_key: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print its access key as JSON. Works while `serve` runs.
    Add {
        /// User name (letters, digits and +=,.@_-, as in IAM).
        name: String,
        /// The data dir of an embedded registry.
        #[arg(long, default_value = "data", conflicts_with = "database")]
        data: PathBuf,
        /// The PostgreSQL database of a scale-out registry.
        #[arg(long, env = "BERTH_DATABASE", hide_env_values = true)]
        database: Option<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Gc(args) => collect_garbage(args),
        Command::BenchFill { data, blobs } => bench_fill(&data, blobs),
        Command::User {
            command:
                UserCommand::Add {
                    name,
                    data,
                    database,
                },
        } => add_user(&name, &data, database.as_deref()),
        Command::Migrate {
            data,
            database,
            blob_store,
        } => migrate(data, database, &blob_store),
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
            gc_interval: Some(args.gc_interval).filter(|i| !i.is_zero()),
            upload_expiry: args.upload_expiry,
            pull_record_interval: args.pull_record_interval,
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
        let mut app = berth_registry::app(state);
        if let Some(path) = &args.record_api {
            let recorder = berth_registry::routes::record::Recorder::open(path)
                .map_err(|e| format!("--record-api {}: {e}", path.display()))?;
            app = app.layer(axum::middleware::from_fn_with_state(
                recorder,
                berth_registry::routes::record::record,
            ));
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(|e| e.to_string())
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
        if !data.join(sqlite::DATABASE_FILE).is_file() {
            return Err(format!(
                "{}: no registry data here (no {})",
                data.display(),
                sqlite::DATABASE_FILE
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

fn bench_fill(data: &std::path::Path, count: usize) -> Result<(), String> {
    use berth_model::oci::Digest;
    use berth_registry::storage::sqlite::fixtures::BulkImage;
    use sha2::Digest as _;

    const BLOBS_PER_IMAGE: usize = 10;
    if data.join(sqlite::DATABASE_FILE).exists() {
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

fn validate_user_name(name: &str) -> Result<(), String> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid user name '{name}': use 1 to 64 letters, digits or +=,.@_-"
        ))
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
}

fn add_user(name: &str, data: &std::path::Path, database: Option<&str>) -> Result<(), String> {
    validate_user_name(name)?;
    let key = auth::tokens::generate_access_key(Some(name));
    let account_id = runtime()?.block_on(async {
        let metadata: Box<dyn Metadata> = match database {
            Some(url) => Box::new(
                PostgresMetadata::connect(url, 1)
                    .await
                    .map_err(|e| e.to_string())?,
            ),
            None => {
                std::fs::create_dir_all(data)
                    .map_err(|e| format!("cannot create {}: {e}", data.display()))?;
                Box::new(SqliteMetadata::open(data).map_err(|e| e.to_string())?)
            }
        };
        if !metadata
            .add_user(name, &key)
            .await
            .map_err(|e| e.to_string())?
        {
            return Err(format!("a user named '{name}' already exists"));
        }
        Ok::<_, String>(
            metadata
                .get_setting("account_id")
                .await
                .map_err(|e| e.to_string())?
                .unwrap_or_else(|| config::DEFAULT_ACCOUNT_ID.to_string()),
        )
    })?;
    let json = serde_json::json!({
        "userName": name,
        "arn": config::user_arn(&account_id, name),
        "accessKeyId": key.access_key_id,
        "secretAccessKey": key.secret_access_key,
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?
    );
    Ok(())
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
