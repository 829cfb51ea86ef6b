//! Writing objects: a streamed body (hashed on the way), the concatenation of an
//! upload's parts (hashed and checked before it completes), and copies too large
//! for one server-side copy. Large objects go up as multipart uploads, which S3
//! makes visible only when completed, and which are aborted on any failure.
//!
//! A process can die in the middle of one, which S3 would keep (and bill) until
//! told otherwise: so each multipart upload is announced by a small marker object
//! under its upload session's prefix, naming the target and the multipart upload
//! id, written before the first part and removed after the last step.
//! [`abort_marked`] aborts what the markers under a prefix name, which is how a
//! cancelled or expired session takes its unfinished multipart uploads with it.

use std::collections::VecDeque;
use std::sync::Arc;

use berth_model::oci::Digest;
use bytes::Bytes;
use futures_util::StreamExt;
use object_store::aws::AmazonS3;
use object_store::multipart::{MultipartStore, PartId};
use object_store::path::Path;
use object_store::{MultipartId, ObjectStore, PutPayload};
use sha2::{Digest as _, Sha256};

use super::{store_error, UploadPart};
use crate::storage::{BlobError, ByteStream};

/// Parts of the multipart uploads this store writes, all of exactly this size but
/// the last (S3 wants at least 5 MiB; R2 wants them equal); 10,000 parts at most,
/// so objects up to 78 GiB at this size, larger ones get larger parts.
const PART_SIZE: usize = 8 << 20;
const MAX_PARTS: u64 = 10_000;
/// Parts in flight per upload: enough to keep the connection busy while the next
/// part arrives, few enough to bound memory (about 3 × the part size per upload).
const PARTS_IN_FLIGHT: usize = 2;
/// What marker objects' names end with.
const MARKER: &str = ".multipart";

/// Bytes gathered into parts of exactly `size` (splitting chunks without copying).
struct Parts {
    size: usize,
    pending: Vec<Bytes>,
    length: usize,
}

impl Parts {
    fn new(size: usize) -> Parts {
        Parts {
            size,
            pending: Vec::new(),
            length: 0,
        }
    }

    /// Adds a chunk; returns the parts it completed.
    fn push(&mut self, mut chunk: Bytes) -> Vec<PutPayload> {
        let mut full = Vec::new();
        while !chunk.is_empty() {
            let room = self.size - self.length;
            let piece = if chunk.len() > room {
                chunk.split_to(room)
            } else {
                std::mem::take(&mut chunk)
            };
            self.length += piece.len();
            self.pending.push(piece);
            if self.length == self.size {
                full.push(self.take());
            }
        }
        full
    }

    fn take(&mut self) -> PutPayload {
        self.length = 0;
        std::mem::take(&mut self.pending).into_iter().collect()
    }

    fn is_empty(&self) -> bool {
        self.length == 0
    }
}

/// Stores a body under `key`, hashing it: one PUT when it is small, a multipart
/// upload (aborted if the body fails) when it is not, marked under `markers`.
/// Returns its size and digest.
pub async fn write_object(
    store: &Arc<AmazonS3>,
    key: &Path,
    markers: &Path,
    mut body: ByteStream,
) -> Result<(u64, Digest), BlobError> {
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut parts = Parts::new(PART_SIZE);
    let mut writer: Option<PartWriter> = None;
    let result: Result<(), BlobError> = async {
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| BlobError::Body(e.to_string()))?;
            hasher.update(&chunk);
            size += chunk.len() as u64;
            for part in parts.push(chunk) {
                if writer.is_none() {
                    writer = Some(PartWriter::start(store, key, markers).await?);
                }
                if let Some(writer) = &mut writer {
                    writer.put(part).await?;
                }
            }
        }
        Ok(())
    }
    .await;
    match (result, writer) {
        (Ok(()), None) => {
            store.put(key, parts.take()).await.map_err(store_error)?;
        }
        (Ok(()), Some(mut writer)) => {
            if !parts.is_empty() {
                writer.put(parts.take()).await?;
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
    store: &Arc<AmazonS3>,
    parts: &[UploadPart],
    target: &Path,
    markers: &Path,
    expected: Option<&Digest>,
) -> Result<(), BlobError> {
    let total: u64 = parts.iter().map(|p| p.size).sum();
    let part_size = (PART_SIZE as u64).max(total.div_ceil(MAX_PARTS)) as usize;
    let mut writer = PartWriter::start(store, target, markers).await?;
    let mut hasher = Sha256::new();
    let mut gathered = Parts::new(part_size);
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
                for full in gathered.push(chunk) {
                    writer.put(full).await?;
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
        if !gathered.is_empty() {
            writer.put(gathered.take()).await?;
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

/// Aborts the multipart uploads that markers under `prefix` name (a process died
/// while writing them, or is writing them for a session being cancelled).
pub async fn abort_marked(store: &Arc<AmazonS3>, prefix: &Path) {
    let mut listed = store.list(Some(prefix));
    let mut markers = Vec::new();
    while let Some(Ok(meta)) = listed.next().await {
        if meta
            .location
            .filename()
            .is_some_and(|name| name.ends_with(MARKER))
        {
            markers.push(meta.location);
        }
    }
    for marker in markers {
        let Ok(content) = store.get(&marker).await else {
            continue;
        };
        let Ok(content) = content.bytes().await else {
            continue;
        };
        let text = String::from_utf8_lossy(&content);
        if let Some((target, id)) = text.split_once('\n') {
            let _ = store
                .abort_multipart(&Path::from(target), &id.to_string())
                .await;
        }
    }
}

/// A multipart upload with a bounded number of parts in flight, each on its own
/// task, so the next part is received while the previous ones are sent.
struct PartWriter {
    store: Arc<AmazonS3>,
    target: Path,
    id: MultipartId,
    marker: Path,
    done: Vec<PartId>,
    in_flight: VecDeque<tokio::task::JoinHandle<object_store::Result<PartId>>>,
}

impl PartWriter {
    async fn start(
        store: &Arc<AmazonS3>,
        target: &Path,
        markers: &Path,
    ) -> Result<PartWriter, BlobError> {
        let id = store.create_multipart(target).await.map_err(store_error)?;
        let marker = markers.child(format!("{}{MARKER}", uuid::Uuid::new_v4()));
        let announced = store
            .put(&marker, PutPayload::from(format!("{target}\n{id}")))
            .await;
        if let Err(error) = announced {
            let _ = store.abort_multipart(target, &id).await;
            return Err(store_error(error));
        }
        Ok(PartWriter {
            store: store.clone(),
            target: target.clone(),
            id,
            marker,
            done: Vec::new(),
            in_flight: VecDeque::new(),
        })
    }

    async fn put(&mut self, part: PutPayload) -> Result<(), BlobError> {
        let (store, target, id) = (self.store.clone(), self.target.clone(), self.id.clone());
        let index = self.done.len() + self.in_flight.len();
        self.in_flight.push_back(tokio::spawn(async move {
            store.put_part(&target, &id, index, part).await
        }));
        while self.in_flight.len() > PARTS_IN_FLIGHT {
            self.join_oldest().await?;
        }
        Ok(())
    }

    async fn join_oldest(&mut self) -> Result<(), BlobError> {
        if let Some(oldest) = self.in_flight.pop_front() {
            let part = match oldest.await {
                Ok(result) => result.map_err(store_error)?,
                Err(e) => {
                    return Err(BlobError::Io(std::io::Error::other(format!(
                        "a part upload stopped: {e}"
                    ))))
                }
            };
            self.done.push(part);
        }
        Ok(())
    }

    async fn complete(mut self) -> Result<(), BlobError> {
        let result = async {
            while !self.in_flight.is_empty() {
                self.join_oldest().await?;
            }
            let parts = std::mem::take(&mut self.done);
            self.store
                .complete_multipart(&self.target, &self.id, parts)
                .await
                .map_err(store_error)?;
            Ok(())
        }
        .await;
        match result {
            Ok(()) => {
                let _ = self.store.delete(&self.marker).await;
                Ok(())
            }
            Err(error) => {
                self.abort().await;
                Err(error)
            }
        }
    }

    async fn abort(mut self) {
        for part in self.in_flight.drain(..) {
            part.abort();
        }
        let _ = self.store.abort_multipart(&self.target, &self.id).await;
        let _ = self.store.delete(&self.marker).await;
    }
}
