//! Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, R2, …), shared
//! by every registry process of a deployment.
//!
//! - A blob is one object, `PREFIX/blobs/sha256/<hex>`, written only once its bytes
//!   are verified: by a server-side copy or by completing a multipart upload, both
//!   atomic in S3, so no reader ever sees half a blob under that key.
//! - Objects cannot be appended to, so each chunk of an upload (of any size, also
//!   below S3's 5 MiB multipart minimum) is stored whole as its own object under
//!   `PREFIX/uploads/<id>/` and recorded as an [`UploadPart`] in the metadata
//!   store, which checks offsets: any process can take the next chunk.
//! - Completing reads the parts once, in order, hashing as it writes the blob; a
//!   single-part upload is checked against the digest taken as it arrived and
//!   copied inside the store.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use berth_model::oci::Digest;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ClientOptions, MultipartUpload, ObjectStore, PutPayload, PutPayloadMut};
use sha2::{Digest as _, Sha256};

use super::{BlobError, BlobRead, Blobs, ByteStream, Metadata, UploadPart};

mod location;

pub use location::{credentials, Credentials, S3Location, StaticCredentials};

/// Parts of the multipart uploads this store writes: S3 wants at least 5 MiB (but
/// the last), allows 10,000 parts, so blobs up to 78 GiB at this size; larger ones
/// get larger parts.
const PART_SIZE: usize = 8 << 20;
const MAX_PARTS: u64 = 10_000;
/// Parts in flight per upload: enough to keep the connection busy while the next
/// part arrives, few enough to bound memory (about 3 × PART_SIZE per upload).
const PARTS_IN_FLIGHT: usize = 2;
/// The largest object S3 copies in one request.
const MAX_COPY: u64 = 5 << 30;

pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: Path,
    /// Where upload parts are recorded, shared by every process.
    metadata: Arc<dyn Metadata>,
}

fn store_error(error: object_store::Error) -> BlobError {
    BlobError::Io(std::io::Error::other(format!("object store: {error}")))
}

fn io_error(error: object_store::Error) -> std::io::Error {
    std::io::Error::other(format!("object store: {error}"))
}

impl S3Blobs {
    /// Connects to the bucket and checks that it answers.
    pub async fn open(
        location: &S3Location,
        credentials: &Credentials,
        metadata: Arc<dyn Metadata>,
    ) -> Result<S3Blobs, String> {
        let mut builder = match credentials {
            Credentials::Environment => AmazonS3Builder::from_env(),
            Credentials::Berth(keys) | Credentials::Profile(keys) => {
                let mut builder = AmazonS3Builder::new()
                    .with_access_key_id(&keys.access_key_id)
                    .with_secret_access_key(&keys.secret_access_key);
                if let Some(token) = &keys.session_token {
                    builder = builder.with_token(token);
                }
                builder
            }
        };
        let region = location
            .region
            .clone()
            .or_else(|| std::env::var("AWS_REGION").ok())
            .or_else(|| std::env::var("AWS_DEFAULT_REGION").ok())
            .unwrap_or_else(|| "us-east-1".into());
        builder = builder
            .with_bucket_name(&location.bucket)
            .with_region(region)
            .with_virtual_hosted_style_request(!location.path_style)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(
                        location
                            .endpoint
                            .as_deref()
                            .is_some_and(|e| e.starts_with("http://")),
                    )
                    .with_connect_timeout(Duration::from_secs(10))
                    // A blob streams to a client as fast as the client reads: no
                    // limit on a whole request, only on connecting.
                    .with_timeout_disabled(),
            );
        if let Some(endpoint) = &location.endpoint {
            builder = builder.with_endpoint(endpoint);
        }
        let store = builder
            .build()
            .map_err(|e| format!("--blob-store {location}: {e}"))?;
        let blobs = S3Blobs {
            store: Arc::new(store),
            prefix: Path::from(location.prefix.as_str()),
            metadata,
        };
        blobs
            .store
            .list_with_delimiter(Some(&blobs.prefix))
            .await
            .map_err(|e| format!("--blob-store {location}: the bucket does not answer: {e}"))?;
        Ok(blobs)
    }

    fn blob_key(&self, digest: &Digest) -> Path {
        self.prefix
            .child("blobs")
            .child("sha256")
            .child(digest.hex())
    }

    fn upload_prefix(&self, id: &str) -> Path {
        self.prefix.child("uploads").child(id)
    }

    async fn exists(&self, key: &Path) -> Result<Option<u64>, BlobError> {
        match self.store.head(key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Stores a body under `key`, hashing it: one PUT when it is small, a multipart
    /// upload (aborted if the body fails) when it is not. Returns its size and digest.
    async fn write_object(
        &self,
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
                            let mut started = PartWriter::start(&self.store, key).await?;
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
                self.store
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

    /// Writes the concatenated parts to the blob's key, verifying their digest
    /// before the multipart upload completes; a mismatch aborts it. With `verify_only`
    /// (the blob is already stored) the parts are only hashed.
    async fn assemble(
        &self,
        parts: &[UploadPart],
        expected: &Digest,
        verify_only: bool,
    ) -> Result<(), BlobError> {
        let total: u64 = parts.iter().map(|p| p.size).sum();
        let part_size = (PART_SIZE as u64).max(total.div_ceil(MAX_PARTS)) as usize;
        let target = self.blob_key(expected);
        let mut writer = if verify_only {
            None
        } else {
            Some(PartWriter::start(&self.store, &target).await?)
        };
        let mut hasher = Sha256::new();
        let mut pending = PutPayloadMut::new();
        let result: Result<(), BlobError> = async {
            for part in parts {
                let mut stream = self
                    .store
                    .get(&Path::from(part.key.as_str()))
                    .await
                    .map_err(store_error)?
                    .into_stream();
                while let Some(chunk) = stream.next().await {
                    let chunk = chunk.map_err(store_error)?;
                    hasher.update(&chunk);
                    if let Some(writer) = &mut writer {
                        pending.push(chunk);
                        if pending.content_length() >= part_size {
                            writer.put(std::mem::take(&mut pending).freeze()).await?;
                        }
                    }
                }
            }
            Ok(())
        }
        .await;
        let actual = Digest::from_sha256(&hasher.finalize());
        let result = result.and_then(|()| {
            if &actual == expected {
                Ok(())
            } else {
                Err(BlobError::DigestMismatch {
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                })
            }
        });
        match (result, writer) {
            (Ok(()), None) => Ok(()),
            (Ok(()), Some(mut writer)) => {
                if pending.content_length() > 0 {
                    writer.put(pending.freeze()).await?;
                }
                writer.complete().await
            }
            (Err(error), writer) => {
                if let Some(writer) = writer {
                    writer.abort().await;
                }
                Err(error)
            }
        }
    }

    /// Deletes every object of an upload, recorded or not (a process that died
    /// between storing a chunk and recording it leaves one behind).
    async fn discard(&self, id: &str) {
        let prefix = self.upload_prefix(id);
        let keys = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let _ = self.store.delete_stream(keys).try_collect::<Vec<_>>().await;
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

#[async_trait]
impl Blobs for S3Blobs {
    /// Nothing to prepare: the session is the metadata store's, parts come with chunks.
    async fn start_upload(&self, _id: &str) -> Result<(), BlobError> {
        Ok(())
    }

    async fn append(
        &self,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, BlobError> {
        let parts = self
            .metadata
            .upload_parts(id)
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e.0)))?
            .ok_or_else(|| BlobError::UnknownUpload(id.to_string()))?;
        let size = parts.last().map(|p| p.offset + p.size).unwrap_or(0);
        if let Some(start) = start {
            if start != size {
                return Err(BlobError::RangeMismatch { size, start });
            }
        }
        let key = self
            .upload_prefix(id)
            .child(uuid::Uuid::new_v4().to_string());
        let (written, digest) = self.write_object(&key, body).await?;
        if written == 0 {
            let _ = self.store.delete(&key).await;
            return Ok(size);
        }
        let part = UploadPart {
            offset: size,
            size: written,
            key: key.to_string(),
            digest: digest.to_string(),
        };
        let recorded = self
            .metadata
            .add_upload_part(id, &part)
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e.0)));
        if recorded.as_ref().is_ok_and(|&recorded| recorded) {
            return Ok(size + written);
        }
        // Another process appended first, or the upload was cancelled meanwhile.
        let _ = self.store.delete(&key).await;
        recorded?;
        match self.metadata.upload_parts(id).await {
            Ok(Some(now)) => Err(BlobError::RangeMismatch {
                size: now.last().map(|p| p.offset + p.size).unwrap_or(0),
                start: start.unwrap_or(size),
            }),
            _ => Err(BlobError::UnknownUpload(id.to_string())),
        }
    }

    async fn upload_size(&self, id: &str) -> Result<u64, BlobError> {
        let parts = self
            .metadata
            .upload_parts(id)
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e.0)))?
            .ok_or_else(|| BlobError::UnknownUpload(id.to_string()))?;
        Ok(parts.last().map(|p| p.offset + p.size).unwrap_or(0))
    }

    async fn finish_upload(&self, id: &str, expected: &Digest) -> Result<u64, BlobError> {
        let parts = self
            .metadata
            .upload_parts(id)
            .await
            .map_err(|e| BlobError::Io(std::io::Error::other(e.0)))?
            .ok_or_else(|| BlobError::UnknownUpload(id.to_string()))?;
        let size: u64 = parts.iter().map(|p| p.size).sum();
        let target = self.blob_key(expected);
        let stored = self.exists(&target).await?.is_some();
        let result = match parts.as_slice() {
            [] => {
                let actual = Digest::from_sha256(&Sha256::digest([]));
                if &actual != expected {
                    Err(BlobError::DigestMismatch {
                        expected: expected.to_string(),
                        actual: actual.to_string(),
                    })
                } else if stored {
                    Ok(())
                } else {
                    self.store
                        .put(&target, PutPayload::default())
                        .await
                        .map(|_| ())
                        .map_err(store_error)
                }
            }
            [only] if only.size <= MAX_COPY => {
                if only.digest != expected.as_str() {
                    Err(BlobError::DigestMismatch {
                        expected: expected.to_string(),
                        actual: only.digest.clone(),
                    })
                } else if stored {
                    Ok(())
                } else {
                    self.store
                        .copy(&Path::from(only.key.as_str()), &target)
                        .await
                        .map_err(store_error)
                }
            }
            _ => self.assemble(&parts, expected, stored).await,
        };
        self.discard(id).await;
        result.map(|()| size)
    }

    async fn cancel_upload(&self, id: &str) {
        self.discard(id).await;
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        self.exists(&self.blob_key(digest)).await
    }

    async fn read(&self, digest: &Digest) -> Result<BlobRead, BlobError> {
        match self.store.get(&self.blob_key(digest)).await {
            Ok(result) => Ok(BlobRead {
                size: result.meta.size,
                stream: result.into_stream().map_err(io_error).boxed(),
            }),
            Err(object_store::Error::NotFound { .. }) => {
                Err(BlobError::NotFound(digest.to_string()))
            }
            Err(e) => Err(store_error(e)),
        }
    }

    async fn presigned_url(
        &self,
        digest: &Digest,
        lifetime: Duration,
    ) -> Result<Option<String>, BlobError> {
        let url = self
            .store
            .signed_url(http::Method::GET, &self.blob_key(digest), lifetime)
            .await
            .map_err(store_error)?;
        Ok(Some(url.to_string()))
    }
}

impl S3Blobs {
    /// Stores a whole blob from a stream (`berth-registry migrate`), verified
    /// against `expected` on the way as an upload is: written under a scratch key,
    /// hashed, and only then copied to the blob's key.
    pub async fn store_blob(&self, expected: &Digest, body: ByteStream) -> Result<u64, BlobError> {
        let id = format!("import-{}", uuid::Uuid::new_v4());
        let key = self.upload_prefix(&id).child("whole");
        let result = async {
            let (size, actual) = self.write_object(&key, body).await?;
            if &actual != expected {
                return Err(BlobError::DigestMismatch {
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
            let part = UploadPart {
                offset: 0,
                size,
                key: key.to_string(),
                digest: actual.to_string(),
            };
            if size <= MAX_COPY {
                self.store
                    .copy(&key, &self.blob_key(expected))
                    .await
                    .map_err(store_error)?;
            } else {
                self.assemble(&[part], expected, false).await?;
            }
            Ok(size)
        }
        .await;
        self.discard(&id).await;
        result
    }
}
