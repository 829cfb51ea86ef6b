//! `DATA/admin-credentials.json`: the admin key where an operator finds it, written
//! whole (temp file, fsync, rename) and readable only by the registry's user.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::storage::AccessKey;

pub const ADMIN_CREDENTIALS_FILE: &str = "admin-credentials.json";

/// Where a client reaches the registry, as the credentials file records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub region: String,
    pub endpoint_url: String,
}

/// Writes the admin key (0600) and returns the file's path.
pub fn write_admin(
    data_dir: &Path,
    key: &AccessKey,
    arn: &str,
    endpoint: &Endpoint,
) -> std::io::Result<PathBuf> {
    let path = data_dir.join(ADMIN_CREDENTIALS_FILE);
    let json = serde_json::json!({
        "accessKeyId": key.access_key_id,
        "secretAccessKey": key.secret_access_key,
        "arn": arn,
        "region": endpoint.region,
        "endpointUrl": endpoint.endpoint_url,
    });
    write_private_file(&path, &serde_json::to_vec_pretty(&json).unwrap_or_default())?;
    Ok(path)
}

/// The region and URL the last `serve` wrote, so a key rotated from the command line
/// keeps them.
pub fn read_endpoint(data_dir: &Path) -> Option<Endpoint> {
    let text = std::fs::read(data_dir.join(ADMIN_CREDENTIALS_FILE)).ok()?;
    let json: serde_json::Value = serde_json::from_slice(&text).ok()?;
    Some(Endpoint {
        region: json.get("region")?.as_str()?.to_string(),
        endpoint_url: json.get("endpointUrl")?.as_str()?.to_string(),
    })
}

fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let temp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(&temp)?;
    // A temp file left by an older version may be looser than the mode asked for.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    file.write_all(contents)?;
    file.sync_all()?;
    std::fs::rename(temp, path)
}
