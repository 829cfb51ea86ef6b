//! Users and access keys, as `berth-registry user …` and `admin rotate-key` manage
//! them. Keys are read per request, so every change here holds at once for a
//! `serve` running on the same data dir.

use super::error::{Error, Result};
use crate::auth::tokens::generate_access_key;
use crate::config;
use crate::storage::{AccessKey, Metadata, UserRecord};

/// IAM's rule for user names: 1 to 64 letters, digits or `+=,.@_-`.
pub fn validate_user_name(name: &str) -> Result<()> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid user name '{name}': use 1 to 64 letters, digits or +=,.@_-"
        )))
    }
}

/// The account id the registry was last served with.
pub async fn account_id(metadata: &dyn Metadata) -> Result<String> {
    Ok(metadata
        .get_setting("account_id")
        .await?
        .unwrap_or_else(|| config::DEFAULT_ACCOUNT_ID.to_string()))
}

/// Adds a user with a fresh key.
pub async fn add(metadata: &dyn Metadata, name: &str) -> Result<AccessKey> {
    validate_user_name(name)?;
    let key = generate_access_key(Some(name));
    if !metadata.add_user(name, &key).await? {
        return Err(Error::UserAlreadyExists {
            name: name.to_string(),
        });
    }
    Ok(key)
}

pub async fn list(metadata: &dyn Metadata) -> Result<Vec<UserRecord>> {
    Ok(metadata.list_users().await?)
}

/// Removes a user: its keys and registry tokens stop working at once.
pub async fn remove(metadata: &dyn Metadata, name: &str) -> Result<()> {
    if !metadata.remove_user(name).await? {
        return Err(Error::UserNotFound {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Gives a user a fresh key; the old one and its tokens stop working at once.
pub async fn rotate_key(metadata: &dyn Metadata, name: &str) -> Result<AccessKey> {
    let key = generate_access_key(Some(name));
    if !metadata.replace_user_key(name, &key).await? {
        return Err(Error::UserNotFound {
            name: name.to_string(),
        });
    }
    Ok(key)
}

/// A fresh root key; the old one and its tokens stop working at once.
pub async fn rotate_admin_key(metadata: &dyn Metadata) -> Result<AccessKey> {
    let key = generate_access_key(None);
    metadata.replace_root_access_key(&key).await?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_follow_iam() {
        assert!(validate_user_name("ci.bot+deploy@example").is_ok());
        assert!(validate_user_name("no spaces").is_err());
        assert!(validate_user_name("").is_err());
        assert!(validate_user_name(&"a".repeat(65)).is_err());
    }
}
