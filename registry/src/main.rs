//! `berth-registry`: run the registry, collect its garbage, apply its lifecycle policies,
//! or manage its users.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use berth_registry::auth;
use berth_registry::config::{self, Config};
use berth_registry::services::gc;
use berth_registry::services::lifecycle::run as lifecycle;
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::sqlite::{self, SqliteMetadata};
use berth_registry::storage::{AccessKey, Blobs, Metadata};
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
    /// Apply the repositories' lifecycle policies.
    Lifecycle {
        #[command(subcommand)]
        command: LifecycleCommand,
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

#[derive(Subcommand)]
enum LifecycleCommand {
    /// Evaluate every repository's lifecycle policy now and delete the images it
    /// expires. Safe while `serve` runs on the same data dir; waits for a run in
    /// progress elsewhere to finish.
    Run {
        /// Data directory of the registry.
        #[arg(long, default_value = "data")]
        data: PathBuf,
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
    /// Data directory of the registry.
    #[arg(long, default_value = "data")]
    data: PathBuf,
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
    /// Data directory (metadata database, blobs, admin credentials).
    #[arg(long, default_value = "data")]
    data: PathBuf,
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

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print its access key as JSON. Works while `serve` runs.
    Add {
        /// User name (letters, digits and +=,.@_-, as in IAM).
        name: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::Gc(args) => collect_garbage(args),
        Command::BenchFill { data, blobs } => bench_fill(&data, blobs),
        Command::Lifecycle {
            command:
                LifecycleCommand::Run {
                    data,
                    dry_run,
                    json,
                },
        } => run_lifecycle(&data, dry_run, json),
        Command::User {
            command: UserCommand::Add { name, data },
        } => add_user(&name, &data),
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
            data_dir: args.data,
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
        println!(
            "  admin credentials file:  {}",
            admin.credentials_file.display()
        );
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
    if !args.data.join(sqlite::DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no registry data here (no {})",
            args.data.display(),
            sqlite::DATABASE_FILE
        ));
    }
    let metadata: Arc<dyn Metadata> =
        Arc::new(SqliteMetadata::open(&args.data).map_err(|e| e.to_string())?);
    let blobs: Arc<dyn Blobs> =
        Arc::new(BlobFiles::open(&args.data).map_err(|e| format!("{}: {e}", args.data.display()))?);
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
        .block_on(gc::run(&metadata, &blobs, &options))
        .map_err(|e| e.to_string())?
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

fn run_lifecycle(data: &std::path::Path, dry_run: bool, json: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let report = runtime.block_on(async {
        let state = berth_registry::open_existing(data)
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

fn add_user(name: &str, data: &std::path::Path) -> Result<(), String> {
    validate_user_name(name)?;
    std::fs::create_dir_all(data).map_err(|e| format!("cannot create {}: {e}", data.display()))?;
    let metadata = SqliteMetadata::open(data).map_err(|e| e.to_string())?;
    let key = auth::tokens::generate_access_key(Some(name));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let account_id = runtime.block_on(async {
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
