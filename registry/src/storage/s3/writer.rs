//! Writing objects: a streamed body (hashed on the way), the concatenation of an
//! upload's parts (hashed and checked before it completes), and copies too large
//! for one server-side copy. Large objects go up as multipart uploads, which S3
//! makes visible only when completed, and which are aborted on any failure.

use std::collections::VecDeque;

use berth_model::oci::Digest;
use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::path::Path;
use object_store::{MultipartUpload, ObjectStore, PutPayload, PutPayloadMut};
use sha2::{Digest as _, Sha256};

use super::{store_error, UploadPart};
use crate::storage::{BlobError, ByteStream};

/// Parts of the multipart uploads this store writes: S3 wants at least 5 MiB (but
/// the last), allows 10,000 parts, so objects up to 78 GiB at this size; larger ones
/// get larger parts.
const PART_SIZE: usize = 8 << 20;
const MAX_PARTS: u64 = 10_000;
/// Parts in flight per upload: enough to keep the connection busy while the next
/// part arrives, few enough to bound memory (about 3 × PART_SIZE per upload).
const PARTS_IN_FLIGHT: usize = 2;

/// Stores a body under `key`, hashing it: one PUT when it is small, a multipart
/// upload (aborted if the body fails) when it is not. Returns its size and digest.
pub async fn write_object(
    store: &AmazonS3,
    key: &Path,
    mut body: ByteStream,
) -> Result<(u64, Digest), BlobError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut pending = PutPayloadMut::new();
    let mut writer: Option<PartWriter> = None;
    let result: Result<(), BlobError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            pending.push(chunk);
            if pending.content_length() >= PART_SIZE {
                let part = std::mem::take(&mut pending).freeze();
                match &mut writer {
                    Some(writer) => writer.put(part).await?,
                    None => {
                        let mut started = PartWriter::start(store, key).await?;
                        started.put(part).await?;
                        writer = Some(started);
                    }
                }
            }
        }
        Ok(())
    }
    .await;
    match (result, writer) {
        (Ok(()), None) => {
            store
                .put(key, pending.freeze())
                .await
                .map_err(store_error)?;
        }
        (Ok(()), Some(mut writer)) => {
            if pending.content_length() > 0 {
                writer.put(pending.freeze()).await?;
            }
            writer.complete().await?;
        }
        (Err(error), writer) => {
            if let Some(writer) = writer {
                writer.abort().await;
            }
            return Err(error);
        }
    }
    Ok((size, Digest::from_sha256(&hasher.finalize())))
}

/// Writes the concatenated `parts` to `target`, reading each once, in order, and
/// hashing as it goes: with `expected`, the multipart upload completes only if the
/// digest matches and is aborted otherwise.
pub async fn concatenate(
    store: &AmazonS3,
    parts: &[UploadPart],
    target: &Path,
    expected: Option<&Digest>,
) -> Result<(), BlobError> {
    let total: u64 = parts.iter().map(|p| p.size).sum();
    let part_size = (PART_SIZE as u64).max(total.div_ceil(MAX_PARTS)) as usize;
    let mut writer = PartWriter::start(store, target).await?;
    let mut hasher = Sha256::new();
    let mut pending = PutPayloadMut::new();
    let result: Result<(), BlobError> = async {
        for part in parts {
            let mut stream = store
                .get(&Path::from(part.key.as_str()))
                .await
                .map_err(store_error)?
                .into_stream();
            while let Some(chunk) = stream.next().await {
                let chunk = chunk.map_err(store_error)?;
                if expected.is_some() {
                    hasher.update(&chunk);
                }
                pending.push(chunk);
                if pending.content_length() >= part_size {
                    writer.put(std::mem::take(&mut pending).freeze()).await?;
                }
            }
        }
        if let Some(expected) = expected {
            let actual = Digest::from_sha256(&hasher.finalize());
            if &actual != expected {
                return Err(BlobError::DigestMismatch {
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        if pending.content_length() > 0 {
            writer.put(pending.freeze()).await?;
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => writer.complete().await,
        Err(error) => {
            writer.abort().await;
            Err(error)
        }
    }
}

/// A multipart upload with a bounded number of parts in flight. Parts upload on
/// their own tasks (object_store's part futures only progress when polled), so the
/// next part is received while the previous ones are sent.
struct PartWriter {
    upload: Box<dyn MultipartUpload>,
    in_flight: VecDeque<tokio::task::JoinHandle<object_store::Result<()>>>,
}

impl PartWriter {
    async fn start(store: &AmazonS3, key: &Path) -> Result<PartWriter, BlobError> {
        Ok(PartWriter {
            upload: store.put_multipart(key).await.map_err(store_error)?,
            in_flight: VecDeque::new(),
        })
    }

    async fn put(&mut self, part: PutPayload) -> Result<(), BlobError> {
        self.in_flight
            .push_back(tokio::spawn(self.upload.put_part(part)));
        while self.in_flight.len() > PARTS_IN_FLIGHT {
            if let Some(oldest) = self.in_flight.pop_front() {
                join_part(oldest).await?;
            }
        }
        Ok(())
    }

    async fn complete(&mut self) -> Result<(), BlobError> {
        while let Some(part) = self.in_flight.pop_front() {
            join_part(part).await?;
        }
        self.upload.complete().await.map_err(store_error)?;
        Ok(())
    }

    async fn abort(mut self) {
        for part in self.in_flight.drain(..) {
            part.abort();
        }
        let _ = self.upload.abort().await;
    }
}

async fn join_part(
    part: tokio::task::JoinHandle<object_store::Result<()>>,
) -> Result<(), BlobError> {
    match part.await {
        Ok(result) => result.map_err(store_error),
        Err(e) => Err(BlobError::Io(std::io::Error::other(format!(
            "a part upload stopped: {e}"
        )))),
    }
}
