//! `berth-registry`: run the registry, manage its users and keys, check its data.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use berth_registry::config::{self, Config, Limits};
use berth_registry::services::{self, users};
use berth_registry::storage::files::BlobFiles;
use berth_registry::storage::sqlite::{SqliteMetadata, DATABASE_FILE};
use berth_registry::storage::AccessKey;
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
        #[arg(long, default_value = "data")]
        data: PathBuf,
        /// Move damaged blobs to DATA/quarantine/: they then count as missing, and
        /// the next push of them stores them anew.
        #[arg(long)]
        repair: bool,
    },
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
    #[arg(long, env = "BERTH_ADMIN_ACCESS_KEY_ID", hide_env_values = true)]
    admin_access_key_id: Option<String>,
    #[arg(long, env = "BERTH_ADMIN_SECRET_ACCESS_KEY", hide_env_values = true)]
    admin_secret_access_key: Option<String>,
}

/// Every command that changes keys works while `serve` runs on the same data dir:
/// keys are read per request, so a change holds for the next request.
#[derive(Subcommand)]
enum UserCommand {
    /// Add a user and print its access key as JSON.
    Add {
        /// User name (letters, digits and +=,.@_-, as in IAM).
        name: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// List users with their access key ids, as JSON.
    List {
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Remove a user: its keys and registry tokens stop working at once.
    Remove {
        name: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
    /// Give a user a new access key, printed once as JSON; the old key and its
    /// registry tokens stop working at once.
    RotateKey {
        name: String,
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Replace the admin key: the new one is printed once as JSON and written to
    /// DATA/admin-credentials.json (0600); the old key and its tokens stop working at
    /// once. A registry started with BERTH_ADMIN_ACCESS_KEY_ID set goes back to that
    /// key when it restarts: rotate a preset key by changing the preset.
    RotateKey {
        #[arg(long, default_value = "data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    // Before any file is made: everything the registry writes is private to its user.
    data_dir::restrict_umask();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(*args),
        Command::User { command } => user(command),
        Command::Admin {
            command: AdminCommand::RotateKey { data },
        } => rotate_admin_key(&data),
        Command::Fsck { data, repair } => match fsck(&data, repair) {
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
    let largest = berth_registry::routes::ecr::body::PUT_IMAGE_LIMIT;
    if limits.unauthenticated_body_bytes < largest {
        return Err(format!(
            "--max-unauthenticated-body-bytes must be at least {largest}, the largest legal ECR request"
        ));
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
            limits: limits.clone(),
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
        berth_registry::server::raise_open_file_limit();
        berth_registry::server::serve(
            listener,
            berth_registry::app(state),
            limits,
            shutdown_signal(),
        )
        .await;
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

/// The metadata store of an existing data dir (or a new one, with `create`), its
/// modes made private first.
fn open_store(data: &Path, create: bool) -> Result<SqliteMetadata, String> {
    if !create && !data.join(DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no registry data here ({DATABASE_FILE} is missing); pass --data DIR",
            data.display()
        ));
    }
    data_dir::secure_and_report(data)?;
    SqliteMetadata::open(data).map_err(|e| e.to_string())
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
        UserCommand::Add { name, data } => {
            users::validate_user_name(&name).map_err(text)?;
            let store = open_store(&data, true)?;
            block_on(async {
                let key = users::add(&store, &name).await.map_err(text)?;
                let account = users::account_id(&store).await.map_err(text)?;
                print_json(&key_json(&account, &name, &key))
            })
        }
        UserCommand::List { data } => {
            let store = open_store(&data, false)?;
            block_on(async {
                let account = users::account_id(&store).await.map_err(text)?;
                let list: Vec<serde_json::Value> = users::list(&store)
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
            })
        }
        UserCommand::Remove { name, data } => {
            let store = open_store(&data, false)?;
            block_on(async {
                users::remove(&store, &name).await.map_err(text)?;
                eprintln!(
                    "berth-registry: removed user '{name}'; its keys and tokens no longer work"
                );
                Ok(())
            })
        }
        UserCommand::RotateKey { name, data } => {
            let store = open_store(&data, false)?;
            block_on(async {
                let key = users::rotate_key(&store, &name).await.map_err(text)?;
                let account = users::account_id(&store).await.map_err(text)?;
                print_json(&key_json(&account, &name, &key))
            })
        }
    }
}

fn rotate_admin_key(data: &Path) -> Result<(), String> {
    let text = |e: services::Error| e.to_string();
    let store = open_store(data, false)?;
    block_on(async {
        let key = users::rotate_admin_key(&store).await.map_err(text)?;
        let account = users::account_id(&store).await.map_err(text)?;
        let endpoint = credentials::read_endpoint(data).unwrap_or_else(|| credentials::Endpoint {
            region: config::DEFAULT_REGION.to_string(),
            endpoint_url: format!("http://{}", config::DEFAULT_LISTEN),
        });
        let arn = config::root_arn(&account);
        let file = credentials::write_admin(data, &key, &arn, &endpoint)
            .map_err(|e| format!("{}: {e}", data.display()))?;
        print_json(&serde_json::json!({
            "arn": arn,
            "accessKeyId": key.access_key_id,
            "secretAccessKey": key.secret_access_key,
            "credentialsFile": file,
        }))
    })
}

/// Runs fsck and prints its report; whether the data dir is sound.
fn fsck(data: &Path, repair: bool) -> Result<bool, String> {
    let store = open_store(data, false)?;
    let blobs = BlobFiles::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    block_on(async {
        let report = services::fsck::run(&store, &blobs, repair)
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
