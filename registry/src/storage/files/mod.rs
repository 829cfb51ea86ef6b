//! The embedded blob store: files, content-addressed on disk, written only by
//! rename of a fully hashed, verified and fsync'd upload. A crash leaves at most an
//! upload file or a not yet recorded blob file behind, never a half-written blob;
//! garbage collection finds and removes both.
//!
//! Files can still be damaged afterwards (a disk, an operator, a restore). Every
//! read is verified against the digest as it streams, unless this process already
//! hashed the very same file: [`Integrity`] remembers files by (device, inode, size,
//! mtime, ctime), which any write through the file system changes. Damage that
//! changes none of those (bit rot under the file system) is only found by
//! `berth-registry fsck`, which re-hashes everything.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use berth_model::oci::Digest;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;

use super::ingest::{self, IngestError};
use super::{BlobCheck, BlobError, BlobRead, Blobs, ByteStream, StoredBlob, StoredUpload};
use integrity::{FileIdentity, Integrity, Verdict};
use stream::{stream_checked, stream_range, StreamCheck};

mod integrity;
mod stream;

/// How far an upload has come: the hash of its bytes so far, and their count.
#[derive(Clone)]
struct UploadState {
    hasher: Sha256,
    size: u64,
}

type UploadSlot = Arc<tokio::sync::Mutex<Option<UploadState>>>;

/// Read size for blob downloads: large reads keep tokio's blocking-pool hops rare.
pub const READ_CHUNK: usize = 2 << 20;

/// Where `fsck --repair` moves damaged blobs, inside the data dir.
pub const QUARANTINE_DIR: &str = "quarantine";

pub struct BlobFiles {
    data_dir: PathBuf,
    blobs: PathBuf,
    uploads: PathBuf,
    slots: Mutex<HashMap<String, UploadSlot>>,
    integrity: Arc<Integrity>,
}

impl BlobFiles {
    pub fn open(data_dir: &Path) -> std::io::Result<BlobFiles> {
        let blobs = data_dir.join("blobs").join("sha256");
        let uploads = data_dir.join("uploads");
        std::fs::create_dir_all(&blobs)?;
        std::fs::create_dir_all(&uploads)?;
        Ok(BlobFiles {
            data_dir: data_dir.to_path_buf(),
            blobs,
            uploads,
            slots: Mutex::new(HashMap::new()),
            integrity: Arc::default(),
        })
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.blobs.join(&hex[..2]).join(hex)
    }

    fn upload_path(&self, id: &str) -> PathBuf {
        self.uploads.join(id)
    }

    fn slot(&self, id: &str) -> UploadSlot {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(id.to_string()).or_default().clone()
    }

    fn forget(&self, id: &str) {
        self.slots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// The state of an upload, rebuilt from its file after a restart.
    async fn load(
        &self,
        id: &str,
        state: &mut Option<UploadState>,
    ) -> Result<UploadState, BlobError> {
        if let Some(s) = state {
            return Ok(s.clone());
        }
        let mut file = tokio::fs::File::open(self.upload_path(id))
            .await
            .map_err(|_| BlobError::UnknownUpload(id.to_string()))?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = file.read(&mut buffer).await?;
            if n == 0 {
                break;
            }
            hasher.update(&buffer[..n]);
            size += n as u64;
        }
        let loaded = UploadState { hasher, size };
        *state = Some(loaded.clone());
        Ok(loaded)
    }
}

#[async_trait]
impl Blobs for BlobFiles {
    async fn start_upload(&self, id: &str) -> Result<(), BlobError> {
        tokio::fs::File::create(self.upload_path(id)).await?;
        *self.slot(id).lock().await = Some(UploadState {
            hasher: Sha256::new(),
            size: 0,
        });
        Ok(())
    }

    async fn upload_size(&self, id: &str) -> Result<u64, BlobError> {
        let slot = self.slot(id);
        let mut state = slot.lock().await;
        Ok(self.load(id, &mut state).await?.size)
    }

    async fn append(
        &self,
        id: &str,
        start: Option<u64>,
        body: ByteStream,
    ) -> Result<u64, BlobError> {
        let slot = self.slot(id);
        let mut state = slot.lock().await;
        let before = self.load(id, &mut state).await?;
        if let Some(start) = start {
            if start != before.size {
                return Err(BlobError::RangeMismatch {
                    size: before.size,
                    start,
                });
            }
        }
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(self.upload_path(id))
            .map_err(|e| gone_upload(id, e))?;
        match ingest::append_hashed(body, file, before.size, before.hasher.clone()).await {
            Ok((hasher, appended)) => {
                let size = before.size + appended;
                *state = Some(UploadState { hasher, size });
                Ok(size)
            }
            Err(error) => {
                if let Ok(file) = std::fs::OpenOptions::new()
                    .write(true)
                    .open(self.upload_path(id))
                {
                    let _ = file.set_len(before.size);
                }
                *state = Some(before);
                Err(match error {
                    IngestError::Body(e) => BlobError::Body(e.to_string()),
                    IngestError::File(e) => e.into(),
                })
            }
        }
    }

    /// Verifies the upload against `expected` and fsyncs it; on a mismatch the upload
    /// is discarded. The slow part of finishing an upload happens here, before
    /// [`Blobs::publish_upload`] runs under the metadata store's lock.
    async fn verify_upload(&self, id: &str, expected: &Digest) -> Result<u64, BlobError> {
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let state = self.load(id, &mut guard).await?;
        let actual = Digest::from_sha256(&state.hasher.finalize());
        let upload = self.upload_path(id);
        if &actual != expected {
            let _ = tokio::fs::remove_file(&upload).await;
            *guard = None;
            drop(guard);
            self.forget(id);
            return Err(BlobError::DigestMismatch {
                expected: expected.to_string(),
                actual: actual.to_string(),
            });
        }
        tokio::fs::File::open(&upload)
            .await
            .map_err(|e| gone_upload(id, e))?
            .sync_all()
            .await?;
        Ok(state.size)
    }

    /// Renames the verified upload into place and fsyncs the directory.
    async fn publish_upload(&self, id: &str, digest: &Digest) -> Result<(), BlobError> {
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let target = self.blob_path(digest);
        let parent = target.parent().map(Path::to_path_buf).unwrap_or_default();
        tokio::fs::create_dir_all(&parent).await?;
        let renamed = tokio::fs::rename(self.upload_path(id), &target)
            .await
            .map_err(|e| gone_upload(id, e));
        *guard = None;
        drop(guard);
        self.forget(id);
        renamed?;
        if let Ok(dir) = tokio::fs::File::open(&parent).await {
            let _ = dir.sync_all().await;
        }
        // Hashed as it arrived: the first download need not hash it again.
        if let Ok(metadata) = tokio::fs::metadata(&target).await {
            self.integrity
                .record(digest.hex(), FileIdentity::of(&metadata), Verdict::Intact);
        }
        Ok(())
    }

    async fn cancel_upload(&self, id: &str) {
        let slot = self.slot(id);
        let mut guard = slot.lock().await;
        let _ = tokio::fs::remove_file(self.upload_path(id)).await;
        *guard = None;
        drop(guard);
        self.forget(id);
    }

    async fn list_uploads(&self) -> Result<Vec<StoredUpload>, BlobError> {
        let uploads = self.uploads.clone();
        let listed = tokio::task::spawn_blocking(move || -> std::io::Result<Vec<StoredUpload>> {
            let mut found = Vec::new();
            for entry in std::fs::read_dir(&uploads)? {
                let entry = entry?;
                let Ok(id) = entry.file_name().into_string() else {
                    continue;
                };
                // Only session ids are ours to manage; leave anything else alone.
                if uuid::Uuid::parse_str(&id).is_err() {
                    continue;
                }
                let meta = match entry.metadata() {
                    Ok(meta) if meta.is_file() => meta,
                    Ok(_) => continue,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                };
                found.push(StoredUpload {
                    id,
                    size: meta.len(),
                    modified: epoch_seconds(meta.modified()?),
                });
            }
            Ok(found)
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))?;
        Ok(listed)
    }

    async fn stat(&self, digest: &Digest) -> Result<Option<u64>, BlobError> {
        match tokio::fs::metadata(self.blob_path(digest)).await {
            Ok(metadata) => {
                let identity = FileIdentity::of(&metadata);
                Ok(match self.integrity.verdict(digest.hex(), &identity) {
                    Some(Verdict::Damaged) => None,
                    _ => Some(metadata.len()),
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The blob's bytes as a stream of large chunks. A blocking thread reads the file
    /// straight into each chunk's buffer (tokio's `File` would read into its own
    /// buffer and copy again), at most two chunks ahead of the socket, hashing as it
    /// goes; the last chunk is sent only once the whole matches the digest.
    async fn read(&self, digest: &Digest, size: u64) -> Result<BlobRead, BlobError> {
        let path = self.blob_path(digest);
        let not_found = || BlobError::NotFound(digest.to_string());
        let file = match std::fs::File::open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(not_found()),
            Err(e) => return Err(e.into()),
        };
        let identity = FileIdentity::of(&file.metadata()?);
        let hex = digest.hex().to_string();
        let verdict = self.integrity.verdict(&hex, &identity);
        if verdict == Some(Verdict::Damaged) {
            return Err(not_found());
        }
        if identity.size != size {
            eprintln!(
                "berth-registry: blob {digest} is damaged: {} bytes on disk, {size} stored; it counts as missing until pushed again",
                identity.size
            );
            self.integrity.record(&hex, identity, Verdict::Damaged);
            return Err(not_found());
        }
        let verified = verdict == Some(Verdict::Intact);
        let check = StreamCheck {
            digest: digest.clone(),
            hex,
            identity,
            hasher: (!verified).then(Sha256::new),
            integrity: self.integrity.clone(),
        };
        if !verified {
            return Ok(BlobRead {
                size,
                stream: stream_checked(file, size, check),
                verified_file: None,
            });
        }
        let verified_file = file.try_clone().ok();
        // Not started unless the caller streams instead of sending the file.
        let stream = futures_util::stream::once(async move { stream_checked(file, size, check) })
            .flatten()
            .boxed();
        Ok(BlobRead {
            size,
            stream,
            verified_file,
        })
    }

    async fn read_range(
        &self,
        digest: &Digest,
        start: u64,
        end: u64,
    ) -> Result<BlobRead, BlobError> {
        use std::io::{Seek, SeekFrom};
        let mut file = self.open_blob(digest)?;
        self.check_whole(digest, &file).await?;
        let size = file.metadata()?.len();
        if start > end || end >= size {
            return Err(BlobError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("range {start}-{end} is outside the blob's {size} bytes"),
            )));
        }
        // Verified whole just above.
        let verified_file = file.try_clone().ok();
        file.seek(SeekFrom::Start(start))?;
        Ok(BlobRead {
            size,
            stream: stream_range(file, end - start + 1),
            verified_file,
        })
    }

    /// Walks the two-hex-digit shard directories in order, reading only as many as
    /// the page needs.
    async fn list_blobs(
        &self,
        after: Option<&Digest>,
        limit: usize,
    ) -> Result<Vec<StoredBlob>, BlobError> {
        let root = self.blobs.clone();
        let after = after.map(|d| d.hex().to_string());
        let listed = tokio::task::spawn_blocking(move || list_blob_files(&root, after, limit))
            .await
            .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))?;
        Ok(listed)
    }

    async fn delete_blob(&self, digest: &Digest) -> Result<(), BlobError> {
        match tokio::fs::remove_file(self.blob_path(digest)).await {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    async fn verify(&self, digest: &Digest, quarantine: bool) -> Result<BlobCheck, BlobError> {
        let path = self.blob_path(digest);
        let quarantine_dir = self.data_dir.join(QUARANTINE_DIR);
        let digest = digest.clone();
        let integrity = self.integrity.clone();
        let check = tokio::task::spawn_blocking(move || -> std::io::Result<BlobCheck> {
            use std::io::Read;
            let mut file = match std::fs::File::open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Ok(BlobCheck::Missing)
                }
                Err(e) => return Err(e),
            };
            let identity = FileIdentity::of(&file.metadata()?);
            let mut hasher = Sha256::new();
            let mut buffer = vec![0u8; READ_CHUNK];
            let mut size = 0u64;
            loop {
                match file.read(&mut buffer) {
                    Ok(0) => break,
                    Ok(n) => {
                        hasher.update(&buffer[..n]);
                        size += n as u64;
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                }
            }
            let actual = Digest::from_sha256(&hasher.finalize());
            if actual == digest {
                integrity.record(digest.hex(), identity, Verdict::Intact);
                return Ok(BlobCheck::Intact(size));
            }
            integrity.record(digest.hex(), identity, Verdict::Damaged);
            // Move only the file that was hashed: a push may have replaced it since.
            let still_there = std::fs::symlink_metadata(&path)
                .map(|m| FileIdentity::of(&m) == identity)
                .unwrap_or(false);
            let quarantined = if quarantine && still_there {
                std::fs::create_dir_all(&quarantine_dir)?;
                let target = quarantine_dir.join(format!(
                    "{}.{}",
                    digest.hex(),
                    crate::clock::now_epoch_seconds() as u64
                ));
                std::fs::rename(&path, &target)?;
                Some(target.display().to_string())
            } else {
                None
            };
            Ok(BlobCheck::Corrupt {
                actual: actual.to_string(),
                size,
                quarantined,
            })
        })
        .await
        .map_err(std::io::Error::other)??;
        Ok(check)
    }

    async fn presigned_url(
        &self,
        _digest: &Digest,
        _lifetime: std::time::Duration,
    ) -> Result<Option<String>, BlobError> {
        Ok(None)
    }
}

impl BlobFiles {
    /// Hashes the whole of an open blob file unless this very file already was: a
    /// part of a blob (a `Range` read) cannot be checked against the digest alone.
    async fn check_whole(&self, digest: &Digest, file: &std::fs::File) -> Result<(), BlobError> {
        let identity = FileIdentity::of(&file.metadata()?);
        match self.integrity.verdict(digest.hex(), &identity) {
            Some(Verdict::Intact) => Ok(()),
            Some(Verdict::Damaged) => Err(BlobError::NotFound(digest.to_string())),
            None => match self.verify(digest, false).await? {
                BlobCheck::Intact(_) => Ok(()),
                BlobCheck::Missing => Err(BlobError::NotFound(digest.to_string())),
                BlobCheck::Corrupt { .. } => {
                    eprintln!(
                        "berth-registry: blob {digest} is damaged; it counts as missing until pushed again"
                    );
                    Err(BlobError::NotFound(digest.to_string()))
                }
            },
        }
    }

    fn open_blob(&self, digest: &Digest) -> Result<std::fs::File, BlobError> {
        match std::fs::File::open(self.blob_path(digest)) {
            Ok(file) => Ok(file),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                Err(BlobError::NotFound(digest.to_string()))
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// An upload file that vanished (expired by garbage collection, perhaps in another
/// process) means the session is gone, not that the disk failed.
fn gone_upload(id: &str, error: std::io::Error) -> BlobError {
    if error.kind() == std::io::ErrorKind::NotFound {
        BlobError::UnknownUpload(id.to_string())
    } else {
        error.into()
    }
}

fn epoch_seconds(time: std::time::SystemTime) -> f64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn is_lower_hex(name: &str, len: usize) -> bool {
    name.len() == len && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Blob files (named by their 64 hex digits, in a directory named by the first two)
/// in digest order after `after`; anything else in the tree is not a blob and is skipped.
fn list_blob_files(
    root: &Path,
    after: Option<String>,
    limit: usize,
) -> std::io::Result<Vec<StoredBlob>> {
    let mut shards = Vec::new();
    for entry in std::fs::read_dir(root)? {
        let name = entry?.file_name().into_string().unwrap_or_default();
        if is_lower_hex(&name, 2) && after.as_deref().is_none_or(|a| name.as_str() >= &a[..2]) {
            shards.push(name);
        }
    }
    shards.sort();
    let mut found = Vec::new();
    for shard in shards {
        let mut names = Vec::new();
        let entries = match std::fs::read_dir(root.join(&shard)) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        for entry in entries {
            let name = entry?.file_name().into_string().unwrap_or_default();
            if is_lower_hex(&name, 64)
                && name.starts_with(&shard)
                && after.as_deref().is_none_or(|a| name.as_str() > a)
            {
                names.push(name);
            }
        }
        names.sort();
        for name in names {
            let size = match std::fs::metadata(root.join(&shard).join(&name)) {
                Ok(meta) if meta.is_file() => meta.len(),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(e),
            };
            let Ok(digest) = Digest::parse(&format!("sha256:{name}")) else {
                continue;
            };
            found.push(StoredBlob { digest, size });
            if found.len() == limit {
                return Ok(found);
            }
        }
    }
    Ok(found)
}
