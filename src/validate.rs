//! Form checks that only the console makes: the registry records these values as
//! given, so the console stops a typo before it is stored.

/// A KMS key as ECR takes it ("the alias, key ID, or full ARN of the KMS key"):
/// `arn:aws:kms:REGION:ACCOUNT:key/KEY-ID`, `…:alias/NAME`, a key id, or `alias/NAME`.
pub fn check_kms_key(key: &str) -> Result<(), String> {
    let key = key.trim();
    let ok = match key.strip_prefix("arn:") {
        Some(rest) => kms_arn(rest),
        None => key_id(key) || alias(key),
    };
    if ok {
        Ok(())
    } else if key.is_empty() {
        Err("Enter the KMS key, or choose AES-256.".into())
    } else {
        Err(format!(
            "'{key}' is not a KMS key: use its ARN (arn:aws:kms:REGION:ACCOUNT:key/KEY-ID), its key id, or an alias (alias/NAME)."
        ))
    }
}

/// `aws:kms:REGION:ACCOUNT:key/ID` or `…:alias/NAME` (any AWS partition).
fn kms_arn(rest: &str) -> bool {
    let parts: Vec<&str> = rest.splitn(5, ':').collect();
    let [partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    partition.starts_with("aws")
        && service == "kms"
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && (resource.strip_prefix("key/").is_some_and(key_id) || alias(resource))
}

/// A UUID, or a multi-Region key id (`mrk-` and 32 hex digits).
fn key_id(id: &str) -> bool {
    let hex = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_hexdigit());
    if let Some(mrk) = id.strip_prefix("mrk-") {
        return hex(mrk, 32);
    }
    let groups: Vec<&str> = id.split('-').collect();
    groups.len() == 5 && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| hex(g, n))
}

/// `alias/NAME`: letters, digits, `/`, `_` and `-`, up to 256 characters in all.
fn alias(text: &str) -> bool {
    text.len() <= 256
        && text.strip_prefix("alias/").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-'))
        })
}

/// An endpoint as typed on the sign-in form: a message when it cannot be one.
pub fn check_endpoint(endpoint: &str) -> Result<(), String> {
    if endpoint.starts_with("http://") || endpoint.starts_with("https://") {
        let rest = endpoint
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or_default();
        if rest.is_empty() || rest.starts_with('/') {
            return Err("The endpoint URL needs a host, e.g. http://127.0.0.1:5000.".into());
        }
        return Ok(());
    }
    let suggestion = endpoint
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(endpoint);
    Err(format!(
        "The endpoint URL must start with http:// or https:// (for example http://{suggestion})."
    ))
}
