//! Where the console connects and with which credentials.
//!
//! Credentials live in `sessionStorage` only: gone when the tab closes, never in
//! the URL or `localStorage`.

use serde::{Deserialize, Serialize};

const STORAGE_KEY: &str = "berth.connection";

/// What kind of registry the console talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RegistryKind {
    /// A `berth-registry` (the embedded registry).
    Berth,
    /// Amazon ECR: the endpoint follows from the region.
    Aws,
    /// Any other ECR-compatible endpoint.
    Custom,
}

impl RegistryKind {
    pub const ALL: [RegistryKind; 3] =
        [RegistryKind::Berth, RegistryKind::Aws, RegistryKind::Custom];

    pub fn label(self) -> &'static str {
        match self {
            RegistryKind::Berth => "Berth registry",
            RegistryKind::Aws => "AWS ECR",
            RegistryKind::Custom => "Custom ECR-compatible endpoint",
        }
    }

    pub fn id(self) -> &'static str {
        match self {
            RegistryKind::Berth => "berth",
            RegistryKind::Aws => "aws",
            RegistryKind::Custom => "custom",
        }
    }

    pub fn from_id(id: &str) -> RegistryKind {
        RegistryKind::ALL
            .into_iter()
            .find(|k| k.id() == id)
            .unwrap_or(RegistryKind::Berth)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connection {
    pub kind: RegistryKind,
    /// The ECR API endpoint, e.g. `http://127.0.0.1:5000`, without a trailing slash.
    pub endpoint: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl Connection {
    /// The ECR API endpoint for an AWS region.
    pub fn aws_endpoint(region: &str) -> String {
        format!("https://api.ecr.{region}.amazonaws.com")
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok()?
}

pub fn load() -> Option<Connection> {
    let raw = storage()?.get_item(STORAGE_KEY).ok()??;
    serde_json::from_str(&raw).ok()
}

pub fn save(connection: &Connection) {
    if let (Some(storage), Ok(raw)) = (storage(), serde_json::to_string(connection)) {
        let _ = storage.set_item(STORAGE_KEY, &raw);
    }
}

pub fn clear() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}
