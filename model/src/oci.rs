//! OCI and Docker manifests, digests and tags: the parts both the registry (to
//! validate and index pushes) and the console (to show image details) read.
//!
//! Parsing is deliberately tolerant: it reads the fields Berth needs from any of the
//! four manifest kinds and keeps the original bytes as the source of truth.

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const DOCKER_MANIFEST_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// The manifest media types Berth stores.
pub const MANIFEST_MEDIA_TYPES: &[&str] = &[
    DOCKER_MANIFEST_V2,
    DOCKER_MANIFEST_LIST,
    OCI_MANIFEST,
    OCI_INDEX,
];

pub fn is_index_media_type(media_type: &str) -> bool {
    media_type == OCI_INDEX || media_type == DOCKER_MANIFEST_LIST
}

/// A content digest, `sha256:<64 lowercase hex>` (the only algorithm Berth accepts).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DigestError {
    #[error("'{0}' is not a digest: expected sha256:<64 hex digits>")]
    Malformed(String),
    #[error("digest algorithm '{0}' is not supported: use sha256")]
    UnsupportedAlgorithm(String),
}

impl Digest {
    pub fn parse(s: &str) -> Result<Digest, DigestError> {
        let Some((algorithm, hex)) = s.split_once(':') else {
            return Err(DigestError::Malformed(s.to_string()));
        };
        if algorithm != "sha256" {
            if !algorithm.is_empty()
                && algorithm
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b))
            {
                return Err(DigestError::UnsupportedAlgorithm(algorithm.to_string()));
            }
            return Err(DigestError::Malformed(s.to_string()));
        }
        if hex.len() != 64
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Malformed(s.to_string()));
        }
        Ok(Digest(s.to_string()))
    }

    /// From a raw SHA-256 output.
    pub fn from_sha256(bytes: &[u8]) -> Digest {
        let mut s = String::with_capacity(71);
        s.push_str("sha256:");
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        Digest(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 64 hex digits.
    pub fn hex(&self) -> &str {
        &self.0[7..]
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Digest {
    type Error = DigestError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Digest::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

/// OCI tag rule: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
pub fn is_valid_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

/// Any of the four manifest kinds, read for the fields Berth uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    pub schema_version: u32,
    #[serde(default)]
    pub media_type: Option<String>,
    #[serde(default)]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    pub subject: Option<Descriptor>,
    #[serde(default)]
    pub annotations: Option<std::collections::BTreeMap<String, String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ManifestError {
    #[error("the manifest is not valid JSON: {0}")]
    Json(String),
    #[error("schemaVersion must be 2, got {0}")]
    SchemaVersion(u32),
    #[error("media type '{0}' is not a manifest type this registry stores (Docker v2 schema 2, manifest list, OCI manifest, OCI index)")]
    UnsupportedMediaType(String),
    #[error("the Content-Type '{header}' disagrees with the manifest's mediaType '{body}'")]
    MediaTypeMismatch { header: String, body: String },
    #[error("an image manifest needs a config and a layers list")]
    MissingImageFields,
    #[error("an index needs a manifests list")]
    MissingIndexFields,
}

/// A parsed manifest with its effective media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedManifest {
    pub media_type: String,
    pub manifest: Manifest,
}

impl ParsedManifest {
    /// Parses and checks a pushed manifest; `content_type` is the request's header, if any.
    pub fn parse(
        bytes: &[u8],
        content_type: Option<&str>,
    ) -> Result<ParsedManifest, ManifestError> {
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|e| ManifestError::Json(e.to_string()))?;
        if manifest.schema_version != 2 {
            return Err(ManifestError::SchemaVersion(manifest.schema_version));
        }
        let header = content_type
            .map(|c| c.split(';').next().unwrap_or(c).trim())
            .filter(|c| !c.is_empty());
        let header = header.filter(|h| MANIFEST_MEDIA_TYPES.contains(h));
        let media_type = match (&manifest.media_type, header) {
            (Some(body), Some(header)) if body != header => {
                return Err(ManifestError::MediaTypeMismatch {
                    header: header.into(),
                    body: body.clone(),
                })
            }
            (Some(body), _) => body.clone(),
            (None, Some(header)) => header.to_string(),
            // OCI allows omitting mediaType: infer it from the shape.
            (None, None) if manifest.manifests.is_some() => OCI_INDEX.to_string(),
            (None, None) => OCI_MANIFEST.to_string(),
        };
        if !MANIFEST_MEDIA_TYPES.contains(&media_type.as_str()) {
            return Err(ManifestError::UnsupportedMediaType(media_type));
        }
        if is_index_media_type(&media_type) {
            if manifest.manifests.is_none() {
                return Err(ManifestError::MissingIndexFields);
            }
        } else if manifest.config.is_none() || manifest.layers.is_none() {
            return Err(ManifestError::MissingImageFields);
        }
        Ok(ParsedManifest {
            media_type,
            manifest,
        })
    }

    pub fn is_index(&self) -> bool {
        is_index_media_type(&self.media_type)
    }

    /// Blobs this manifest needs present: config and layers.
    pub fn blob_references(&self) -> impl Iterator<Item = &Descriptor> {
        self.manifest
            .config
            .iter()
            .chain(self.manifest.layers.iter().flatten())
    }

    /// Child manifests of an index.
    pub fn manifest_references(&self) -> impl Iterator<Item = &Descriptor> {
        self.manifest.manifests.iter().flatten()
    }

    /// The compressed size ECR reports: the sum of the layers.
    pub fn layers_size(&self) -> u64 {
        self.manifest.layers.iter().flatten().map(|l| l.size).sum()
    }

    /// The artifact type, as the referrers API defines it: `artifactType`, else the config's media type.
    pub fn artifact_type(&self) -> Option<String> {
        self.manifest
            .artifact_type
            .clone()
            .or_else(|| self.manifest.config.as_ref().map(|c| c.media_type.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn digests() {
        assert_eq!(Digest::parse(D).unwrap().hex().len(), 64);
        assert!(matches!(
            Digest::parse("sha256:abc"),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            Digest::parse(&D.to_uppercase()),
            Err(DigestError::Malformed(_))
        ));
        assert!(matches!(
            Digest::parse("sha512:abc"),
            Err(DigestError::UnsupportedAlgorithm(_))
        ));
        assert!(matches!(
            Digest::parse("nocolon"),
            Err(DigestError::Malformed(_))
        ));
        assert_eq!(
            Digest::from_sha256(&[0xab; 32]).as_str(),
            format!("sha256:{}", "ab".repeat(32))
        );
    }

    #[test]
    fn tags() {
        for ok in ["latest", "v1.2.3", "_x", "A-b_c.d", &"a".repeat(128)] {
            assert!(is_valid_tag(ok), "{ok}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"a".repeat(129)] {
            assert!(!is_valid_tag(bad), "{bad}");
        }
    }

    #[test]
    fn parses_docker_and_oci_manifests() {
        let docker = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_MANIFEST_V2}","config":{{"mediaType":"{DOCKER_CONFIG}","digest":"{D}","size":7}},
               "layers":[{{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{D}","size":10}},
                         {{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"{D}","size":32}}]}}"#
        );
        let parsed = ParsedManifest::parse(docker.as_bytes(), Some(DOCKER_MANIFEST_V2)).unwrap();
        assert_eq!(parsed.media_type, DOCKER_MANIFEST_V2);
        assert_eq!(parsed.layers_size(), 42);
        assert_eq!(parsed.blob_references().count(), 3);
        assert_eq!(parsed.artifact_type().as_deref(), Some(DOCKER_CONFIG));

        let index = format!(
            r#"{{"schemaVersion":2,"manifests":[{{"mediaType":"{OCI_MANIFEST}","digest":"{D}","size":1,"platform":{{"architecture":"arm64","os":"linux","variant":"v8"}}}}]}}"#
        );
        let parsed = ParsedManifest::parse(index.as_bytes(), None).unwrap();
        assert!(parsed.is_index());
        assert_eq!(
            parsed
                .manifest_references()
                .next()
                .unwrap()
                .platform
                .as_ref()
                .unwrap()
                .variant
                .as_deref(),
            Some("v8")
        );
    }

    #[test]
    fn refuses_bad_manifests_with_reasons() {
        assert!(matches!(
            ParsedManifest::parse(b"{", None),
            Err(ManifestError::Json(_))
        ));
        assert_eq!(
            ParsedManifest::parse(br#"{"schemaVersion":1}"#, None),
            Err(ManifestError::SchemaVersion(1))
        );
        assert_eq!(
            ParsedManifest::parse(br#"{"schemaVersion":2,"mediaType":"text/plain"}"#, None),
            Err(ManifestError::UnsupportedMediaType("text/plain".into()))
        );
        assert_eq!(
            ParsedManifest::parse(
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}"}}"#).as_bytes(),
                Some(OCI_INDEX)
            ),
            Err(ManifestError::MediaTypeMismatch {
                header: OCI_INDEX.into(),
                body: OCI_MANIFEST.into()
            })
        );
        assert_eq!(
            ParsedManifest::parse(
                format!(r#"{{"schemaVersion":2,"mediaType":"{OCI_MANIFEST}"}}"#).as_bytes(),
                None
            ),
            Err(ManifestError::MissingImageFields)
        );
    }
}
