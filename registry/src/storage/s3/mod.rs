//! Blobs in S3-compatible object storage (AWS S3, MinIO, Ceph RGW, R2, …), shared
//! by every registry process of a deployment.
//!
//! - A blob is one object, `PREFIX/blobs/sha256/<hex>`, written only once its bytes
//!   are verified: by a server-side copy (atomic in S3), so no reader ever sees half
//!   a blob under that key.
//! - Objects cannot be appended to, so each chunk of an upload (of any size, also
//!   below S3's 5 MiB multipart minimum) is stored whole as its own object under
//!   `PREFIX/uploads/<id>/` and recorded as an [`UploadPart`] in the metadata
//!   store, which checks offsets: any process can take the next chunk.
//! - Verifying an upload reads its parts once, in order, hashing as it writes them
//!   to one object under the upload's prefix (a multipart upload, completed only
//!   if the digest matches); a single-part upload is checked against the digest
//!   taken as it arrived. Publishing, under the metadata store's lock, is then one
//!   server-side copy to the blob's key.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use berth_model::oci::Digest;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{ClientOptions, GetOptions, GetRange, ObjectStore, PutPayload};
use sha2::{Digest as _, Sha256};

use super::{
    BlobCheck, BlobError, BlobRead, Blobs, ByteStream, Metadata, StoredBlob, StoredUpload,
    UploadPart,
};

mod integrity;
mod location;
mod writer;

use integrity::{Integrity, Verdict};

pub use location::{credentials, Credentials, S3Location, StaticCredentials};

/// The largest object S3 copies in one request.
const MAX_COPY: u64 = 5 << 30;
/// Where a verified multi-part upload's bytes wait to be published.
const VERIFIED: &str = "verified";

/// Verified bytes waiting for [`Blobs::publish_upload`].
#[derive(Debug, Clone)]
enum Verified {
    Empty,
    At { key: Path, size: u64 },
}

pub struct S3Blobs {
    store: Arc<AmazonS3>,
    prefix: Path,
    /// Where upload parts are recorded, shared by every process.
    metadata: Arc<dyn Metadata>,
    /// Uploads this process verified, by session id: a publication follows its
    /// verification in the same process (the services run them back to back), and
    /// must not ask the metadata store, whose lock it runs under.
    verified: Mutex<HashMap<String, Verified>>,
    /// What this process found re-reading stored blobs.
    integrity: Arc<Integrity>,
}

fn store_error(error: object_store::Error) -> BlobError {
    BlobError::Io(std::io::Error::other(format!("object store: {error}")))
}

fn io_error(error: object_store::Error) -> std::io::Error {
    std::io::Error::other(format!("object store: {error}"))
}

fn metadata_error(error: super::StorageError) -> BlobError {
    BlobError::Io(std::io::Error::other(error.0))
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
            verified: Mutex::new(HashMap::new()),
            integrity: Arc::default(),
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

    fn uploads(&self) -> Path {
        self.prefix.child("uploads")
    }

    fn upload_prefix(&self, id: &str) -> Path {
        self.uploads().child(id)
    }

    async fn parts(&self, id: &str) -> Result<Vec<UploadPart>, BlobError> {
        self.metadata
            .upload_parts(id)
            .await
            .map_err(metadata_error)?
            .ok_or_else(|| BlobError::UnknownUpload(id.to_string()))
    }

    /// Deletes every object of an upload, recorded or not (a process that died
    /// between storing a chunk and recording it leaves one behind), after aborting
    /// the multipart uploads its markers name (one a process died in the middle of).
    async fn discard(&self, id: &str) {
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
        let prefix = self.upload_prefix(id);
        writer::abort_marked(&self.store, &prefix).await;
        let keys = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let _ = self.store.delete_stream(keys).try_collect::<Vec<_>>().await;
    }

    /// Checks the parts against `expected`, leaving one object to publish from.
    async fn verify_parts(
        &self,
        id: &str,
        parts: &[UploadPart],
        expected: &Digest,
    ) -> Result<Verified, BlobError> {
        let mismatch = |actual: String| BlobError::DigestMismatch {
            expected: expected.to_string(),
            actual,
        };
        match parts {
            [] => {
                let empty = Digest::from_sha256(&Sha256::digest([]));
                if &empty == expected {
                    Ok(Verified::Empty)
                } else {
                    Err(mismatch(empty.to_string()))
                }
            }
            [only] if only.size <= MAX_COPY => {
                if only.digest == expected.as_str() {
                    Ok(Verified::At {
                        key: Path::from(only.key.as_str()),
                        size: only.size,
                    })
                } else {
                    Err(mismatch(only.digest.clone()))
                }
            }
            _ => {
                let key = self.upload_prefix(id).child(VERIFIED);
                writer::concatenate(
                    &self.store,
                    parts,
                    &key,
                    &self.upload_prefix(id),
                    Some(expected),
                )
                .await?;
                Ok(Verified::At {
                    key,
                    size: parts.iter().map(|p| p.size).sum(),
                })
            }
        }
    }

    /// Puts verified bytes under the blob's key, replacing what is there (identical
    /// bytes, or damaged ones a push now repairs).
    async fn put_in_place(
        &self,
        id: &str,
        verified: &Verified,
        digest: &Digest,
    ) -> Result<(), BlobError> {
        let target = self.blob_key(digest);
        match verified {
            Verified::Empty => self
                .store
                .put(&target, PutPayload::default())
                .await
                .map(|_| ())
                .map_err(store_error),
            Verified::At { key, size } if *size <= MAX_COPY => {
                self.store.copy(key, &target).await.map_err(store_error)
            }
            Verified::At { key, size } => {
                let whole = UploadPart {
                    offset: 0,
                    size: *size,
                    key: key.to_string(),
                    digest: digest.to_string(),
                };
                writer::concatenate(
                    &self.store,
                    &[whole],
                    &target,
                    &self.upload_prefix(id),
                    None,
                )
                .await
            }
        }
    }

    /// Stores a whole blob from a stream (`berth-registry migrate`), verified against
    /// `expected` as an upload is; returns the staging id and size to publish with
    /// [`Blobs::publish_upload`].
    pub async fn stage_blob(
        &self,
        expected: &Digest,
        body: ByteStream,
    ) -> Result<(String, u64), BlobError> {
        let id = format!("import-{}", uuid::Uuid::new_v4());
        let key = self.upload_prefix(&id).child(VERIFIED);
        let markers = self.upload_prefix(&id);
        let (size, actual) = match writer::write_object(&self.store, &key, &markers, body).await {
            Ok(written) => written,
            Err(error) => {
                self.discard(&id).await;
                return Err(error);
            }
        };
        if &actual != expected {
            self.discard(&id).await;
            return Err(BlobError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        self.verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), Verified::At { key, size });
        Ok((id, size))
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
        let parts = self.parts(id).await?;
        let size = parts.last().map(|p| p.offset + p.size).unwrap_or(0);
        if let Some(start) = start {
            if start != size {
                return Err(BlobError::RangeMismatch { size, start });
            }
        }
        let key = self
            .upload_prefix(id)
            .child(uuid::Uuid::new_v4().to_string());
        let (written, digest) =
            writer::write_object(&self.store, &key, &self.upload_prefix(id), body).await?;
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
            .map_err(metadata_error);
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
        let parts = self.parts(id).await?;
        Ok(parts.last().map(|p| p.offset + p.size).unwrap_or(0))
    }

    async fn verify_upload(&self, id: &str, expected: &Digest) -> Result<u64, BlobError> {
        let parts = self.parts(id).await?;
        match self.verify_parts(id, &parts, expected).await {
            Ok(verified) => {
                self.verified
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(id.to_string(), verified);
                Ok(parts.iter().map(|p| p.size).sum())
            }
            Err(error) => {
                self.discard(id).await;
                Err(error)
            }
        }
    }

    /// One server-side copy (or nothing, when the blob is stored already), then the
    /// upload's objects go.
    async fn publish_upload(&self, id: &str, digest: &Digest) -> Result<(), BlobError> {
        let verified = self
            .verified
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(id)
            .cloned()
            .ok_or_else(|| BlobError::UnknownUpload(id.to_string()))?;
        self.put_in_place(id, &verified, digest).await?;
        self.discard(id).await;
        Ok(())
    }

    async fn cancel_upload(&self, id: &str) {
        self.discard(id).await;
    }

    /// Sessions with objects under `uploads/`, by their newest object. Only session
    /// ids (UUIDs) are listed: `migrate`'s staging is not garbage collection's to expire.
    async fn list_uploads(&self) -> Result<Vec<StoredUpload>, BlobError> {
        let root = self.uploads();
        let mut objects = self.store.list(Some(&root));
        let mut found: HashMap<String, StoredUpload> = HashMap::new();
        while let Some(meta) = objects.next().await {
            let meta = meta.map_err(store_error)?;
            let Some(id) = meta
                .location
                .prefix_match(&root)
                .and_then(|mut parts| parts.next())
                .map(|part| part.as_ref().to_string())
            else {
                continue;
            };
            if uuid::Uuid::parse_str(&id).is_err() {
                continue;
            }
            let modified = meta.last_modified.timestamp_millis() as f64 / 1000.0;
            let entry = found.entry(id.clone()).or_insert(StoredUpload {
                id,
                size: 0,
                modified,
            });
            entry.size += meta.size;
            entry.modified = entry.modified.max(modified);
        }
        Ok(found.into_values().collect())
    }

    /// `None` also for a blob this process found damaged (until it is pushed again).
    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        match self.store.head(&self.blob_key(digest)).await {
            Ok(meta) => Ok(match self.integrity.verdict(digest, &meta.e_tag) {
                Some(Verdict::Damaged) => None,
                _ => Some(meta.size),
            }),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(store_error(e)),
        }
    }

    /// Streams the object, verified against the digest unless this very version of
    /// it already was.
    async fn read(&self, digest: &Digest, size: u64) -> Result<BlobRead, BlobError> {
        let not_found = || BlobError::NotFound(digest.to_string());
        let result = match self.store.get(&self.blob_key(digest)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Err(not_found()),
            Err(e) => return Err(store_error(e)),
        };
        let e_tag = result.meta.e_tag.clone();
        let verdict = self.integrity.verdict(digest, &e_tag);
        if verdict == Some(Verdict::Damaged) {
            return Err(not_found());
        }
        if result.meta.size != size {
            self.integrity.record(digest, e_tag, Verdict::Damaged);
            return Err(not_found());
        }
        let stream = result.into_stream().map_err(io_error).boxed();
        let stream = if verdict == Some(Verdict::Intact) {
            stream
        } else {
            integrity::verified(stream, digest.clone(), e_tag, self.integrity.clone())
        };
        Ok(BlobRead {
            size,
            stream,
            verified_file: None,
        })
    }

    /// A ranged GET of the object, once the whole is known intact (a part cannot be
    /// checked against the digest); `size` is the whole blob's.
    async fn read_range(
        &self,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> Result<BlobRead, BlobError> {
        let key = self.blob_key(digest);
        let meta = match self.store.head(&key).await {
            Ok(meta) => meta,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(BlobError::NotFound(digest.to_string()))
            }
            Err(e) => return Err(store_error(e)),
        };
        if self.integrity.verdict(digest, &meta.e_tag) != Some(Verdict::Intact) {
            match self.verify(digest, false).await? {
                BlobCheck::Intact(_) => {}
                _ => return Err(BlobError::NotFound(digest.to_string())),
            }
        }
        let size = meta.size;
        if start > end || end >= size {
            return Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("range {start}-{end} is outside the blob's {size} bytes"),
            )));
        }
        let options = GetOptions {
            range: Some(GetRange::Bounded(start..end + 1)),
            ..GetOptions::default()
        };
        match self.store.get_opts(&key, options).await {
            Ok(result) => Ok(BlobRead {
                size,
                stream: result.into_stream().map_err(io_error).boxed(),
                verified_file: None,
            }),
            Err(object_store::Error::NotFound { .. }) => {
                Err(BlobError::NotFound(digest.to_string()))
            }
            Err(e) => Err(store_error(e)),
        }
    }

    /// Re-reads and hashes the object; with `quarantine`, a damaged one is copied to
    /// `PREFIX/quarantine/` (kept for inspection) and removed, so the next push stores
    /// it anew.
    async fn verify(&self, digest: &Digest, quarantine: bool) -> Result<BlobCheck, BlobError> {
        let key = self.blob_key(digest);
        let result = match self.store.get(&key).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => return Ok(BlobCheck::Missing),
            Err(e) => return Err(store_error(e)),
        };
        let e_tag = result.meta.e_tag.clone();
        let mut stream = result.into_stream();
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(store_error)?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
        }
        let actual = Digest::from_sha256(&hasher.finalize());
        if &actual == digest {
            self.integrity.record(digest, e_tag, Verdict::Intact);
            return Ok(BlobCheck::Intact(size));
        }
        self.integrity.record(digest, e_tag, Verdict::Damaged);
        let quarantined = if quarantine {
            let aside = self.prefix.child("quarantine").child(format!(
                "{}.{}",
                digest.hex(),
                crate::clock::now_epoch_seconds() as u64
            ));
            self.store.copy(&key, &aside).await.map_err(store_error)?;
            self.store.delete(&key).await.map_err(store_error)?;
            Some(aside.to_string())
        } else {
            None
        };
        Ok(BlobCheck::Corrupt {
            actual: actual.to_string(),
            size,
            quarantined,
        })
    }

    /// Keys list in byte order, which for lower-case hex names is digest order.
    async fn list_blobs(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, BlobError> {
        let root = self.prefix.child("blobs").child("sha256");
        let mut objects = match after {
            Some(after) => self
                .store
                .list_with_offset(Some(&root), &root.child(after.hex())),
            None => self.store.list(Some(&root)),
        };
        let mut found = Vec::new();
        while let Some(meta) = objects.next().await {
            let meta = meta.map_err(store_error)?;
            let Some(name) = meta.location.filename() else {
                continue;
            };
            // Anything not named by a digest is not a blob; skip it.
            let Ok(digest) = Digest::parse(&format!("sha256:{name}")) else {
                continue;
            };
            found.push(StoredBlob {
                digest,
                size: meta.size,
            });
            if found.len() == limit {
                break;
            }
        }
        Ok(found)
    }

    async fn delete_blob(&self, digest: &Digest) -> Result<(), BlobError> {
        match self.store.delete(&self.blob_key(digest)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
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
