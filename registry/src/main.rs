//! `berth-registry`: run the registry, collect its garbage, apply its lifecycle policies,
//! manage its users and keys, check its data, or copy an embedded registry into
//! PostgreSQL and S3.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use berth_registry::config::{self, BlobStore, Database};
use berth_registry::data_dir;
use berth_registry::storage::postgres;
use berth_registry::storage::s3::{self, S3Location};
use clap::{Parser, Subcommand};

mod cli;

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
        Command::Serve(args) => cli::serve::serve(*args),
        Command::Gc(args) => cli::maintenance::collect_garbage(args),
        Command::BenchFill { data, blobs } => cli::migrate::bench_fill(&data, blobs),
        Command::Console { listen, dir } => cli::serve::serve_console(listen, &dir),
        Command::Lifecycle {
            command:
                LifecycleCommand::Run {
                    storage,
                    dry_run,
                    json,
                },
        } => cli::maintenance::run_lifecycle(storage, dry_run, json),
        Command::User { command } => cli::keys::user(command),
        Command::Admin {
            command: AdminCommand::RotateKey { target },
        } => cli::keys::rotate_admin_key(target),
        Command::Migrate {
            data,
            database,
            blob_store,
        } => cli::migrate::migrate(data, database, &blob_store),
        Command::Fsck { storage, repair } => match cli::maintenance::fsck(storage, repair) {
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
