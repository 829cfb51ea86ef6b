//! How a running registry is set up: addresses, identity of the account, who may call it.

use std::net::SocketAddr;
use std::path::PathBuf;

pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_ACCOUNT_ID: &str = "123456789012";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:5000";
/// The origins `cargo xtask dev` serves the console from.
pub const DEFAULT_CORS_ORIGINS: &[&str] = &["http://127.0.0.1:8080", "http://localhost:8080"];

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// What clients use to reach this registry, e.g. `http://127.0.0.1:5000`.
    pub public_url: String,
    pub region: String,
    pub account_id: String,
    /// Browser origins allowed to call the API; `*` allows any.
    pub cors_origins: Vec<String>,
    /// A built console (trunk's `dist/`) to serve at `/`.
    pub console_dir: Option<PathBuf>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn config(public_url: &str) -> Config {
        Config {
            listen: DEFAULT_LISTEN.parse().unwrap(),
            data_dir: "data".into(),
            public_url: public_url.into(),
            region: DEFAULT_REGION.into(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            cors_origins: vec![],
            console_dir: None,
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
