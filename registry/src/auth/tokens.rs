//! Registry tokens (what `docker login` carries after `aws ecr get-login-password`)
//! and the `/v2` Basic authentication that presents them; access-key minting.

use std::time::Duration;

use axum::http::HeaderMap;
use rand::Rng;

use super::Principal;
use crate::clock::now_epoch_seconds;
use crate::config::Config;
use crate::storage::{AccessKey, Metadata};

/// How long a registry token (`aws ecr get-login-password`) is valid, as on AWS.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);

/// A fresh registry token: 48 random bytes, URL-safe base64.
pub fn new_registry_token() -> String {
    use base64::Engine;
    let mut bytes = [0u8; 48];
    rand::Rng::fill(&mut rand::rngs::OsRng, &mut bytes[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are kept only as their SHA-256, so a copied database grants nothing.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Why `/v2` refused a caller; the caller turns it into a 401 challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuthError(pub String);

const LOGIN_HINT: &str =
    "log in with: aws ecr get-login-password | docker login --username AWS --password-stdin";

/// The user name and password of an `Authorization: Basic …` header.
pub fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), BasicAuthError> {
    use base64::Engine;
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| BasicAuthError(format!("authentication required: {LOGIN_HINT}")))?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))
        .ok_or_else(|| {
            BasicAuthError(format!(
                "use Basic authentication with username AWS: {LOGIN_HINT}"
            ))
        })?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| BasicAuthError("the Authorization header is not valid base64".into()))?;
    let (user, password) = decoded
        .split_once(':')
        .ok_or_else(|| BasicAuthError("the credentials must be username:password".into()))?;
    Ok((user.to_string(), password.to_string()))
}

fn principal(config: &Config, access_key_id: String, user_name: Option<String>) -> Principal {
    Principal {
        arn: match &user_name {
            Some(name) => config.user_arn(name),
            None => config.root_arn(),
        },
        user_name,
        access_key_id,
    }
}

/// The principal a registry token (the password of user `AWS`) stands for, and
/// when the token expires.
pub async fn principal_for_token(
    config: &Config,
    metadata: &dyn Metadata,
    token: &str,
) -> Result<(Principal, f64), BasicAuthError> {
    let record = metadata
        .find_token(&token_hash(token))
        .await
        .map_err(|e| BasicAuthError(e.to_string()))?
        .ok_or_else(|| {
            BasicAuthError(format!(
                "the password is not a token issued by this registry: {LOGIN_HINT}"
            ))
        })?;
    if record.expires_at < now_epoch_seconds() {
        return Err(BasicAuthError(format!(
            "the token has expired: {LOGIN_HINT}"
        )));
    }
    Ok((
        principal(config, record.access_key_id, record.user_name),
        record.expires_at,
    ))
}

/// The principal an access key pair stands for (the token endpoint's other login).
pub async fn principal_for_key(
    config: &Config,
    metadata: &dyn Metadata,
    access_key_id: &str,
    secret: &str,
) -> Result<Principal, BasicAuthError> {
    let refused = || BasicAuthError("unknown access key id or wrong secret access key".into());
    let key = metadata
        .find_access_key(access_key_id)
        .await
        .map_err(|e| BasicAuthError(e.to_string()))?
        .ok_or_else(refused)?;
    if !super::constant_time_eq(key.secret_access_key.as_bytes(), secret.as_bytes()) {
        return Err(refused());
    }
    Ok(principal(config, key.access_key_id, key.user_name))
}

/// Verifies `Authorization: Basic base64("AWS:" + token)` and returns its principal.
pub async fn verify_basic(
    config: &Config,
    metadata: &dyn Metadata,
    headers: &HeaderMap,
) -> Result<Principal, BasicAuthError> {
    let (user, token) = basic_credentials(headers)?;
    if user != "AWS" {
        return Err(BasicAuthError(format!(
            "the username must be AWS, not '{user}'"
        )));
    }
    Ok(principal_for_token(config, metadata, &token).await?.0)
}

/// A fresh key pair in AWS's shapes: `AKIA` + 16 characters, a 40-character secret.
pub fn generate_access_key(user_name: Option<&str>) -> AccessKey {
    const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    const SECRET_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::rngs::OsRng;
    let pick = |alphabet: &[u8], n: usize, rng: &mut rand::rngs::OsRng| -> String {
        (0..n)
            .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
            .collect()
    };
    AccessKey {
        access_key_id: format!("AKIA{}", pick(ID_ALPHABET, 16, &mut rng)),
        secret_access_key: pick(SECRET_ALPHABET, 40, &mut rng),
        user_name: user_name.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_have_aws_shapes() {
        let key = generate_access_key(Some("ci"));
        assert!(key.access_key_id.starts_with("AKIA") && key.access_key_id.len() == 20);
        assert_eq!(key.secret_access_key.len(), 40);
        assert_ne!(key.access_key_id, generate_access_key(None).access_key_id);
    }
}
