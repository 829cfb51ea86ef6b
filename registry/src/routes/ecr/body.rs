//! ECR API request bodies. Nothing in a body counts until its signature is verified,
//! so a body is read only after its headers passed every check they can
//! ([`crate::auth::sigv4::check_headers`]), only up to what the action's largest legal
//! request needs, and only within a byte budget shared by every request whose
//! signature is not verified yet.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap};
use berth_model::ecr::{Action, ErrorType, MAX_LAYER_PART_BYTES};
use futures_util::StreamExt;
use tokio::sync::OwnedSemaphorePermit;

use crate::routes::error::EcrError;
use crate::AppState;

/// The largest body of any action but PutImage and UploadLayerPart: a repository
/// policy of 10,240 characters, each escaped at worst as `\uXXXX`, is about 60 KiB;
/// lifecycle and registry policies, scanning configurations and 100-image batches
/// stay well under this.
pub const DEFAULT_LIMIT: usize = 1 << 20;

/// PutImage's manifest may have 4,194,304 characters; escaped at worst as `\uXXXX`
/// (6 bytes each) inside the JSON envelope, plus the envelope itself.
pub const PUT_IMAGE_LIMIT: usize = 6 * 4_194_304 + (64 << 10);

/// UploadLayerPart's largest part: 20 MiB (`MAX_LAYER_PART_BYTES`, the API
/// reference's and botocore's maximum; ECR's quota table says 10 MiB, and Berth is
/// never stricter than AWS), as base64 (4 characters for every 3 bytes; base64 needs
/// no JSON escaping), plus the JSON envelope around it (names, ids and offsets).
pub const UPLOAD_LAYER_PART_LIMIT: usize = MAX_LAYER_PART_BYTES.div_ceil(3) * 4 + (64 << 10);

/// The largest body any action takes: the shared budget must hold at least one, or
/// such a request could never be read (`serve` refuses a smaller budget).
pub const LARGEST_LIMIT: usize = if PUT_IMAGE_LIMIT > UPLOAD_LAYER_PART_LIMIT {
    PUT_IMAGE_LIMIT
} else {
    UPLOAD_LAYER_PART_LIMIT
};

// The default budget must hold the largest legal request.
const _: () = assert!(LARGEST_LIMIT <= crate::config::DEFAULT_UNAUTHENTICATED_BODY_BYTES);

/// How long a request waits for room in the shared budget before it is turned away
/// (ThrottlingException, which AWS's SDKs retry with backoff).
const BUDGET_WAIT: Duration = Duration::from_secs(10);

/// How long a body may take to arrive before its signature is checked.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// The most bytes a request for `action` may carry: what its largest legal request
/// needs, so the shared budget is spent on large bodies only where they are legal.
pub fn limit(action: Option<Action>) -> usize {
    match action {
        Some(Action::PutImage) => PUT_IMAGE_LIMIT,
        Some(Action::UploadLayerPart) => UPLOAD_LAYER_PART_LIMIT,
        _ => DEFAULT_LIMIT,
    }
}

/// A body read before its signature is verified, holding its share of the budget.
pub struct Unverified {
    pub bytes: Bytes,
    _budget: OwnedSemaphorePermit,
}

impl Unverified {
    /// The body once its signature is verified: its share of the budget goes back.
    pub fn verified(self) -> Bytes {
        self.bytes
    }
}

fn too_large(limit: usize, action: &str) -> EcrError {
    EcrError::invalid_parameter(format!(
        "The request body is larger than the {limit} bytes the largest {action} request needs."
    ))
}

/// Reads a body of at most `limit` bytes, reserving its declared length (or `limit`,
/// when it declares none) from the shared budget first. A body declared too large
/// is refused before a byte of it is read.
pub async fn read(
    state: &AppState,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    action: &str,
) -> Result<Unverified, EcrError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit, action));
    }
    let reserve = declared.map_or(limit, |n| n as usize);
    let permits = u32::try_from(reserve.max(1)).unwrap_or(u32::MAX);
    let budget = tokio::time::timeout(
        BUDGET_WAIT,
        state.unauthenticated_bodies.clone().acquire_many_owned(permits),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .ok_or_else(|| {
        EcrError::new(
            ErrorType::Throttling,
            "The registry is reading as many unverified request bodies as it allows; retry shortly.",
        )
    })?;
    let mut buffer = Vec::with_capacity(declared.map_or(0, |n| n as usize));
    let mut stream = body.into_data_stream();
    let read = async {
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                EcrError::invalid_parameter(format!("The request body could not be read: {e}"))
            })?;
            if buffer.len() + chunk.len() > limit {
                return Err(too_large(limit, action));
            }
            buffer.extend_from_slice(&chunk);
        }
        Ok(())
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .map_err(|_| {
            EcrError::invalid_parameter(format!(
                "The request body did not arrive within {} seconds.",
                READ_TIMEOUT.as_secs()
            ))
        })??;
    Ok(Unverified {
        bytes: Bytes::from(buffer),
        _budget: budget,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_part_fits_its_limit_and_the_default_budget() {
        let request = serde_json::to_vec(&berth_model::ecr::UploadLayerPartRequest {
            registry_id: Some("123456789012".into()),
            repository_name: format!("{}/{}", "a".repeat(127), "b".repeat(128)),
            upload_id: "6bc05ba6-1a42-4ad6-a1f4-4e4d0c2cc6a4".into(),
            part_first_byte: u64::MAX - MAX_LAYER_PART_BYTES as u64,
            part_last_byte: u64::MAX,
            layer_part_blob: berth_model::ecr::Blob(vec![0xff; MAX_LAYER_PART_BYTES]),
        })
        .unwrap();
        assert!(request.len() <= limit(Some(Action::UploadLayerPart)));
        assert!(
            request.len() > limit(Some(Action::PutImage)),
            "a part needs more than PutImage"
        );
        assert_eq!(limit(Some(Action::CompleteLayerUpload)), DEFAULT_LIMIT);
    }
}
