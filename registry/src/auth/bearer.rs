//! The distribution token flow, beside ECR's Basic `AWS:<token>`: a client answered
//! with a `Bearer` challenge asks `/v2/token` for a token scoped to what it is about
//! to do, then presents it. Tokens are stateless (claims + HMAC), so any process
//! sharing the signing key accepts them; each still names an access key, so
//! revoking the key revokes its tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::Principal;
use crate::clock::now_epoch_seconds;
use crate::config::Config;
use crate::storage::Metadata;

/// How long a bearer token lives (docker and podman ask again when it runs out).
pub const LIFETIME_SECONDS: f64 = 60.0 * 60.0;

/// One `scope` of the token spec: `repository:<name>:<actions>` or `registry:catalog:*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Grant {
    /// Reads `type:name:actions`; names may hold `/` but not `:`.
    pub fn parse(scope: &str) -> Option<Grant> {
        let (kind, rest) = scope.split_once(':')?;
        let (name, actions) = rest.rsplit_once(':')?;
        if kind.is_empty() || name.is_empty() {
            return None;
        }
        Some(Grant {
            kind: kind.to_string(),
            name: name.to_string(),
            actions: actions
                .split(',')
                .filter(|a| !a.is_empty())
                .map(str::to_string)
                .collect(),
        })
    }

    pub fn allows(&self, kind: &str, name: &str, action: &str) -> bool {
        self.kind == kind
            && self.name == name
            && self.actions.iter().any(|a| a == action || a == "*")
    }
}

/// What a token says: who, for which key, what, until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Claims {
    /// The access key the token was issued to.
    kid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
    exp: f64,
    access: Vec<Grant>,
}

fn signing_key(url_signing_key: &[u8]) -> Hmac<Sha256> {
    // A key of its own, derived from the stored secret, so tokens and download URLs
    // can never be mistaken for each other.
    let mut derive =
        Hmac::<Sha256>::new_from_slice(url_signing_key).expect("HMAC takes keys of any size");
    derive.update(b"berth bearer tokens v1");
    Hmac::<Sha256>::new_from_slice(&derive.finalize().into_bytes())
        .expect("HMAC takes keys of any size")
}

/// A token for `principal`, granting `access`, valid until `expires_at`.
pub fn issue(
    url_signing_key: &[u8],
    principal: &Principal,
    access: Vec<Grant>,
    expires_at: f64,
) -> String {
    let claims = Claims {
        kid: principal.access_key_id.clone(),
        user: principal.user_name.clone(),
        exp: expires_at,
        access,
    };
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap_or_default());
    let mut mac = signing_key(url_signing_key);
    mac.update(payload.as_bytes());
    format!(
        "{payload}.{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// The principal and grants of a genuine, unexpired token whose key still exists.
pub async fn verify(
    config: &Config,
    metadata: &dyn Metadata,
    url_signing_key: &[u8],
    token: &str,
) -> Result<(Principal, Vec<Grant>), String> {
    let invalid = || "the bearer token is not one this registry issued".to_string();
    let (payload, signature) = token.split_once('.').ok_or_else(invalid)?;
    let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid())?;
    let mut mac = signing_key(url_signing_key);
    mac.update(payload.as_bytes());
    mac.verify_slice(&signature).map_err(|_| invalid())?;
    let claims: Claims = URL_SAFE_NO_PAD
        .decode(payload)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(invalid)?;
    if claims.exp < now_epoch_seconds() {
        return Err("the bearer token has expired: ask the token endpoint again".into());
    }
    let key = metadata
        .find_access_key(&claims.kid)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "the access key this token was issued to no longer exists".to_string())?;
    let principal = Principal {
        arn: match &key.user_name {
            Some(name) => config.user_arn(name),
            None => config.root_arn(),
        },
        user_name: key.user_name,
        access_key_id: key.access_key_id,
    };
    Ok((principal, claims.access))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_with_slashes_in_names() {
        let grant = Grant::parse("repository:team/app:pull,push").unwrap();
        assert_eq!(grant.name, "team/app");
        assert_eq!(grant.actions, ["pull", "push"]);
        assert!(grant.allows("repository", "team/app", "push"));
        assert!(!grant.allows("repository", "team/other", "push"));
        assert!(Grant::parse("registry:catalog:*")
            .unwrap()
            .allows("registry", "catalog", "anything"));
        assert_eq!(Grant::parse("nonsense"), None);
    }

    #[test]
    fn a_tampered_token_does_not_verify_its_signature() {
        let principal = Principal {
            arn: "arn:aws:iam::123456789012:root".into(),
            access_key_id: "AKIA".into(),
            user_name: None,
        };
        let token = issue(b"key", &principal, vec![], 1e12);
        let (payload, signature) = token.split_once('.').unwrap();
        let mut mac = signing_key(b"key");
        mac.update(payload.as_bytes());
        assert!(mac
            .verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
            .is_ok());
        let mut other = signing_key(b"other key");
        other.update(payload.as_bytes());
        assert!(other
            .verify_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap())
            .is_err());
    }
}
