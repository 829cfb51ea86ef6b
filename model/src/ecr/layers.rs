//! Layers: availability, download URLs, and uploads through the API
//! (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload).

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const LAYER_AVAILABLE: &str = "AVAILABLE";
pub const LAYER_UNAVAILABLE: &str = "UNAVAILABLE";
pub const LAYER_ARCHIVED: &str = "ARCHIVED";
pub const LAYER_FAILURE_INVALID_LAYER_DIGEST: &str = "InvalidLayerDigest";
pub const LAYER_FAILURE_MISSING_LAYER_DIGEST: &str = "MissingLayerDigest";
/// The largest `layerPartBlob` botocore sends (20 MiB).
pub const MAX_LAYER_PART_BYTES: usize = 20_971_520;

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckLayerAvailabilityRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub layer_digests: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Layer {
    pub layer_digest: String,
    pub layer_availability: String,
    pub layer_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerFailure {
    pub layer_digest: String,
    pub failure_code: String,
    pub failure_reason: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckLayerAvailabilityResponse {
    #[serde(default)]
    pub layers: Vec<Layer>,
    #[serde(default)]
    pub failures: Vec<LayerFailure>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDownloadUrlForLayerRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub layer_digest: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetDownloadUrlForLayerResponse {
    pub download_url: String,
    pub layer_digest: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateLayerUploadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitiateLayerUploadResponse {
    /// A UUID.
    pub upload_id: String,
    /// The part size the registry expects, in bytes.
    pub part_size: u64,
}

/// Bytes that travel as base64 in JSON (botocore's `blob` type).
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Blob(pub Vec<u8>);

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob({} bytes)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|e| serde::de::Error::custom(format!("not base64: {e}")))
    }
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadLayerPartRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub upload_id: String,
    /// Offset of the part's first byte in the layer.
    pub part_first_byte: u64,
    /// Offset of the part's last byte (inclusive).
    pub part_last_byte: u64,
    pub layer_part_blob: Blob,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UploadLayerPartResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub upload_id: String,
    pub last_byte_received: u64,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteLayerUploadRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_id: Option<String>,
    pub repository_name: String,
    pub upload_id: String,
    /// botocore's list holds 1 to 100 digests; the layer's is the one that counts.
    pub layer_digests: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CompleteLayerUploadResponse {
    pub registry_id: String,
    pub repository_name: String,
    pub upload_id: String,
    pub layer_digest: String,
}

#[cfg(test)]
mod tests {
    use super::super::tests::round_trip;
    use super::*;
    use serde_json::json;

    const UPLOAD: &str = "6bc05ba6-1a42-4ad6-a1f4-4e4d0c2cc6a4";

    // Every member of botocore's layer upload shapes.
    #[test]
    fn layer_uploads_round_trip() {
        round_trip::<InitiateLayerUploadRequest>(
            json!({"registryId": "123456789012", "repositoryName": "team-a/api"}),
        );
        round_trip::<InitiateLayerUploadResponse>(
            json!({"uploadId": UPLOAD, "partSize": 10485760}),
        );
        let part: UploadLayerPartRequest = round_trip(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "uploadId": UPLOAD, "partFirstByte": 0, "partLastByte": 10,
            "layerPartBlob": "aGVsbG8gd29ybGQ="}));
        assert_eq!(part.layer_part_blob.0, b"hello world");
        round_trip::<UploadLayerPartResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "uploadId": UPLOAD, "lastByteReceived": 10}));
        let digest = format!("sha256:{}", "ab".repeat(32));
        round_trip::<CompleteLayerUploadRequest>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "uploadId": UPLOAD, "layerDigests": [digest]}));
        round_trip::<CompleteLayerUploadResponse>(json!({"registryId": "123456789012",
            "repositoryName": "team-a/api", "uploadId": UPLOAD, "layerDigest": digest}));
    }

    #[test]
    fn blobs_refuse_what_is_not_base64() {
        let bad = serde_json::from_value::<UploadLayerPartRequest>(json!({"repositoryName": "r",
            "uploadId": UPLOAD, "partFirstByte": 0, "partLastByte": 0, "layerPartBlob": "not base64!"}));
        assert!(bad.unwrap_err().to_string().contains("not base64"));
        assert_eq!(format!("{:?}", Blob(vec![0; 3])), "Blob(3 bytes)");
    }
}
