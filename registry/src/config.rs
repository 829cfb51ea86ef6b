//! How a running registry is set up: addresses, identity of the account, who may call it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::storage::s3::{Credentials, S3Location};

pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
/// The origins `cargo xtask dev` serves the console from.
pub const DEFAULT_CORS_ORIGINS: &[&str] = &["http://127.0.0.1:8080", "http://localhost:8080"];

/// Where metadata lives.
#[derive(Clone)]
pub enum Database {
    /// SQLite in the data dir.
    Embedded,
    /// PostgreSQL, shared by every process: a `postgres://` URL and the pool size.
    Postgres { url: String, pool_size: usize },
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Embedded => f.write_str("Embedded"),
            Database::Postgres { url, pool_size } => f
                .debug_struct("Postgres")
                .field("url", &crate::storage::postgres::redact(url))
                .field("pool_size", pool_size)
                .finish(),
        }
    }
}

/// Where blob bytes live.
#[derive(Debug, Clone)]
pub enum BlobStore {
    /// Files in the data dir.
    Files,
    /// An S3-compatible bucket, shared by every process.
    S3 {
        location: S3Location,
        credentials: Credentials,
    },
}

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    /// The data dir, when something embedded (SQLite, files) lives there; `None`
    /// for a stateless process on PostgreSQL and S3.
    pub data_dir: Option<PathBuf>,
    pub database: Database,
    pub blob_store: BlobStore,
    /// Answer blob GETs with a redirect to a presigned URL of the blob store (S3).
    pub blob_redirect: bool,
    /// What clients use to reach this registry, e.g. `http://127.0.0.1:5000`.
    pub public_url: String,
    pub region: String,
    pub account_id: String,
    /// Browser origins allowed to call the API; `*` allows any.
    pub cors_origins: Vec<String>,
    /// A built console (trunk's `dist/`) to serve at `/`.
    pub console_dir: Option<PathBuf>,
    /// How often garbage collection runs; `None` when it only runs on demand.
    pub gc_interval: Option<Duration>,
    /// How long an upload session may sit idle before garbage collection expires it.
    pub upload_expiry: Duration,
    /// At most one `lastRecordedPullTime` write per image per this long.
    pub pull_record_interval: Duration,
    /// How often lifecycle policies run; `None` when they only run on demand.
    pub lifecycle_interval: Option<Duration>,
    pub limits: Limits,
}

/// What a client may hold of the server: connections, time, and memory before it
/// has proven who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// A request's head must be complete this long after its first byte (or after the
    /// connection opened, for the first request).
    pub header_read_timeout: Duration,
    /// An idle connection between requests is closed after this long.
    pub keep_alive_timeout: Duration,
    /// A request whose bytes stop moving either way for this long is cut off.
    pub stall_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog.
    pub max_connections: usize,
    /// Bytes of ECR API bodies buffered, all requests together, before their
    /// signatures are verified.
    pub unauthenticated_body_bytes: usize,
}

pub const DEFAULT_HEADER_READ_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_KEEP_ALIVE_TIMEOUT_SECS: u64 = 60;
pub const DEFAULT_STALL_TIMEOUT_SECS: u64 = 120;
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Room for the largest legal ECR request (an UploadLayerPart of 20 MiB, about 27 MiB
/// as base64) and smaller ones beside it.
pub const DEFAULT_UNAUTHENTICATED_BODY_BYTES: usize = 32 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(DEFAULT_HEADER_READ_TIMEOUT_SECS),
            keep_alive_timeout: Duration::from_secs(DEFAULT_KEEP_ALIVE_TIMEOUT_SECS),
            stall_timeout: Duration::from_secs(DEFAULT_STALL_TIMEOUT_SECS),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            unauthenticated_body_bytes: DEFAULT_UNAUTHENTICATED_BODY_BYTES,
        }
    }
}

impl Config {
    /// `host[:port]` of the public URL: the registry part of every image reference.
    pub fn registry_host(&self) -> &str {
        let without_scheme = self
            .public_url
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.public_url);
        without_scheme.split('/').next().unwrap_or(without_scheme)
    }

    pub fn root_arn(&self) -> String {
        root_arn(&self.account_id)
    }

    pub fn user_arn(&self, user_name: &str) -> String {
        user_arn(&self.account_id, user_name)
    }
}

pub fn root_arn(account_id: &str) -> String {
    format!("arn:aws:iam::{account_id}:root")
}

pub fn user_arn(account_id: &str, user_name: &str) -> String {
    format!("arn:aws:iam::{account_id}:user/{user_name}")
}

/// Account ids are 12 digits, as on AWS; ARNs and registry ids carry them.
pub fn validate_account_id(id: &str) -> Result<(), String> {
    if id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        Err(format!("account id must be 12 digits, got '{id}'"))
    }
}

/// A duration as people write it on a command line: `90`, `90s`, `15m`, `6h`, `1d`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit_seconds) = match text.char_indices().last() {
        Some((i, 's')) => (&text[..i], 1),
        Some((i, 'm')) => (&text[..i], 60),
        Some((i, 'h')) => (&text[..i], 60 * 60),
        Some((i, 'd')) => (&text[..i], 24 * 60 * 60),
        _ => (text, 1),
    };
    let invalid = || format!("'{text}' is not a duration: write e.g. 90s, 15m, 6h or 1d");
    let value: u64 = number.parse().map_err(|_| invalid())?;
    value
        .checked_mul(unit_seconds)
        .map(Duration::from_secs)
        .ok_or_else(invalid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: &str) -> Config {
        Config {
            listen: DEFAULT_LISTEN.parse().unwrap(),
            data_dir: Some("data".into()),
            database: Database::Embedded,
            blob_store: BlobStore::Files,
            blob_redirect: false,
            public_url: public_url.into(),
            region: DEFAULT_REGION.into(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            cors_origins: vec![],
            console_dir: None,
            limits: Limits::default(),
            gc_interval: None,
            upload_expiry: Duration::from_secs(1),
            pull_record_interval: Duration::from_secs(1),
            lifecycle_interval: None,
        }
    }

    #[test]
    fn durations_take_a_unit_or_mean_seconds() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::from_secs(900)));
        assert_eq!(parse_duration("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_duration("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in ["", "h", "1.5h", "-1s", "6 hours", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn registry_host_is_the_authority_of_the_public_url() {
        assert_eq!(
            config("http://127.0.0.1:5000").registry_host(),
            "127.0.0.1:5000"
        );
        assert_eq!(
            config("https://registry.example.com/").registry_host(),
            "registry.example.com"
        );
    }

    #[test]
    fn account_ids_are_twelve_digits() {
        assert!(validate_account_id("123456789012").is_ok());
        assert!(validate_account_id("12345678901").is_err());
        assert!(validate_account_id("12345678901a").is_err());
    }
}
