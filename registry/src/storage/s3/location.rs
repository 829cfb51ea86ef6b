//! `--blob-store s3://BUCKET/PREFIX?region=…&endpoint=…`, and the credentials the
//! store signs with.

use std::collections::HashMap;
use std::path::PathBuf;

/// Where blobs live in an S3-compatible object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    /// Keys start with this (no leading or trailing `/`); empty for the bucket's root.
    pub prefix: String,
    pub region: Option<String>,
    /// A non-AWS endpoint (MinIO, Ceph RGW, R2, …), e.g. `http://127.0.0.1:9000`.
    pub endpoint: Option<String>,
    /// `https://endpoint/bucket/key` rather than `https://bucket.endpoint/key`: the
    /// default with a custom endpoint, which most S3-compatible servers expect.
    pub path_style: bool,
}

impl S3Location {
    pub fn parse(text: &str) -> Result<S3Location, String> {
        let problem = |why: &str| format!("--blob-store {text}: {why}");
        let rest = text
            .strip_prefix("s3://")
            .ok_or_else(|| problem("use s3://BUCKET/PREFIX?region=…&endpoint=…"))?;
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (bucket, prefix) = path.split_once('/').unwrap_or((path, ""));
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
        if !bucket_ok {
            return Err(problem(&format!(
                "'{bucket}' is not a bucket name (3 to 63 lowercase letters, digits, '.' or '-')"
            )));
        }
        let prefix = prefix.trim_matches('/').to_string();
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(problem("the prefix may not contain '.' or '..' segments"));
        }
        let mut options: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let region = options.remove("region").filter(|r| !r.is_empty());
        let endpoint = options
            .remove("endpoint")
            .filter(|e| !e.is_empty())
            .map(|e| e.trim_end_matches('/').to_string());
        if let Some(endpoint) = &endpoint {
            if !(endpoint.starts_with("http://") || endpoint.starts_with("https://")) {
                return Err(problem("endpoint must be an http:// or https:// URL"));
            }
        }
        let path_style = match options.remove("path_style").as_deref() {
            None => endpoint.is_some(),
            Some("true") => true,
            Some("false") => false,
            Some(other) => {
                return Err(problem(&format!(
                    "path_style is true or false, not '{other}'"
                )))
            }
        };
        if let Some(unknown) = options.keys().next() {
            return Err(problem(&format!(
                "unknown option '{unknown}' (known: region, endpoint, path_style)"
            )));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix,
            region,
            endpoint,
            path_style,
        })
    }
}

impl std::fmt::Display for S3Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// Keys the store signs with, when they are given rather than discovered.
#[derive(Clone, PartialEq, Eq)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticCredentials")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

/// Which credentials to use, in order: `BERTH_S3_ACCESS_KEY_ID` and
/// `BERTH_S3_SECRET_ACCESS_KEY` (for when the environment's AWS keys are the
/// registry's own), the usual `AWS_*` variables, the shared credentials file's
/// profile (`AWS_PROFILE`, else `default`); `None` leaves discovery to the object
/// store client (container and instance roles, web identity).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credentials {
    /// The registry's own S3 keys; the `AWS_*` environment is ignored entirely.
    Berth(StaticCredentials),
    /// The process environment (`AWS_ACCESS_KEY_ID`, roles, …).
    Environment,
    /// A profile of the shared credentials file.
    Profile(StaticCredentials),
}

pub fn credentials(env: &dyn Fn(&str) -> Option<String>) -> Result<Credentials, String> {
    let get = |name: &str| env(name).filter(|v| !v.is_empty());
    match (
        get("BERTH_S3_ACCESS_KEY_ID"),
        get("BERTH_S3_SECRET_ACCESS_KEY"),
    ) {
        (Some(access_key_id), Some(secret_access_key)) => {
            return Ok(Credentials::Berth(StaticCredentials {
                access_key_id,
                secret_access_key,
                session_token: get("BERTH_S3_SESSION_TOKEN"),
            }))
        }
        (None, None) => {}
        _ => {
            return Err(
                "set both BERTH_S3_ACCESS_KEY_ID and BERTH_S3_SECRET_ACCESS_KEY, or neither".into(),
            )
        }
    }
    if get("AWS_ACCESS_KEY_ID").is_some()
        || get("AWS_WEB_IDENTITY_TOKEN_FILE").is_some()
        || get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI").is_some()
        || get("AWS_CONTAINER_CREDENTIALS_FULL_URI").is_some()
    {
        return Ok(Credentials::Environment);
    }
    let file = get("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| get("HOME").map(|home| PathBuf::from(home).join(".aws/credentials")));
    let profile = get("AWS_PROFILE").unwrap_or_else(|| "default".into());
    if let Some(text) = file.and_then(|path| std::fs::read_to_string(path).ok()) {
        if let Some(found) = profile_credentials(&text, &profile) {
            return Ok(Credentials::Profile(found));
        }
    }
    Ok(Credentials::Environment)
}

/// A profile's keys from the shared credentials file (INI: `[name]`, `key = value`).
fn profile_credentials(text: &str, profile: &str) -> Option<StaticCredentials> {
    let mut in_profile = false;
    let mut values = HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            continue;
        }
        if in_profile {
            if let Some((key, value)) = line.split_once('=') {
                values.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
    }
    Some(StaticCredentials {
        access_key_id: values.remove("aws_access_key_id")?,
        secret_access_key: values.remove("aws_secret_access_key")?,
        session_token: values.remove("aws_session_token"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_name_bucket_prefix_and_options() {
        let location = S3Location::parse(
            "s3://berth-blobs/team/registry/?region=eu-west-1&endpoint=http://127.0.0.1:9000/",
        )
        .unwrap();
        assert_eq!(
            location,
            S3Location {
                bucket: "berth-blobs".into(),
                prefix: "team/registry".into(),
                region: Some("eu-west-1".into()),
                endpoint: Some("http://127.0.0.1:9000".into()),
                path_style: true,
            }
        );
        let aws = S3Location::parse("s3://berth-blobs").unwrap();
        assert_eq!((aws.prefix.as_str(), aws.path_style), ("", false));
        for wrong in [
            "berth-blobs",
            "s3://B/x",
            "s3://ok-bucket/a/../b",
            "s3://ok-bucket?endpoint=ftp://x",
            "s3://ok-bucket?colour=blue",
            "s3://ok-bucket?path_style=maybe",
        ] {
            assert!(S3Location::parse(wrong).is_err(), "{wrong}");
        }
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn berth_keys_win_over_the_aws_environment() {
        let found = credentials(&env(&[
            ("BERTH_S3_ACCESS_KEY_ID", "s3-key"),
            ("BERTH_S3_SECRET_ACCESS_KEY", "s3-secret"),
            ("AWS_ACCESS_KEY_ID", "registry-admin"),
        ]))
        .unwrap();
        assert_eq!(
            found,
            Credentials::Berth(StaticCredentials {
                access_key_id: "s3-key".into(),
                secret_access_key: "s3-secret".into(),
                session_token: None,
            })
        );
        assert!(credentials(&env(&[("BERTH_S3_ACCESS_KEY_ID", "half")])).is_err());
        assert_eq!(
            credentials(&env(&[("AWS_ACCESS_KEY_ID", "a")])).unwrap(),
            Credentials::Environment
        );
    }

    #[test]
    fn profiles_come_from_the_shared_credentials_file() {
        let text = "[default]\naws_access_key_id = A\naws_secret_access_key = B\n\n[ci]\n# comment\naws_access_key_id=C\naws_secret_access_key=D\naws_session_token=E\n";
        assert_eq!(
            profile_credentials(text, "ci"),
            Some(StaticCredentials {
                access_key_id: "C".into(),
                secret_access_key: "D".into(),
                session_token: Some("E".into()),
            })
        );
        assert_eq!(
            profile_credentials(text, "default").unwrap().access_key_id,
            "A"
        );
        assert_eq!(profile_credentials(text, "other"), None);
    }
}
