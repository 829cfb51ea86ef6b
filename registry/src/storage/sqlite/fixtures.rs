//! Registries made in bulk for `cargo xtask bench` (the hidden `berth-registry
//! bench-fill`): pushing 100,000 blobs one by one would take far longer than the
//! garbage collection the benchmark times, so their records go in one transaction.

use berth_model::oci::Digest;
use rusqlite::params;

use super::{write_transaction, SqliteMetadata};
use crate::storage::{Result, StorageError};

/// An image to record: its manifest and the blobs it references.
pub struct BulkImage {
    pub digest: Digest,
    pub content: Vec<u8>,
    pub blobs: Vec<Digest>,
}

impl SqliteMetadata {
    /// Records `blobs` (their bytes already in place), links the first `linked` of
    /// them to the repository, and stores `images` with their references, in one
    /// transaction. For benchmarks: nothing here checks what the protocol checks.
    pub async fn record_in_bulk(
        &self,
        repository_id: i64,
        blobs: Vec<(Digest, u64)>,
        linked: usize,
        images: Vec<BulkImage>,
        now: f64,
    ) -> Result<()> {
        self.call(move |c| {
            let tx = write_transaction(c)?;
            {
                let mut blob = tx.prepare(
                    "INSERT INTO blobs (digest, size, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
                )?;
                let mut link = tx.prepare(
                    "INSERT INTO repository_blobs (repository_id, digest) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
                )?;
                for (i, (digest, size)) in blobs.iter().enumerate() {
                    blob.execute(params![digest.as_str(), *size as i64, now])?;
                    if i < linked {
                        link.execute(params![repository_id, digest.as_str()])?;
                    }
                }
                let mut manifest = tx.prepare(
                    "INSERT INTO manifests (repository_id, digest, media_type, content, image_size, pushed_at)
                     VALUES (?1, ?2, 'application/vnd.oci.image.manifest.v1+json', ?3, 0, ?4)",
                )?;
                let mut reference = tx.prepare(
                    "INSERT INTO manifest_blobs (repository_id, manifest_digest, blob_digest) VALUES (?1, ?2, ?3)
                     ON CONFLICT DO NOTHING",
                )?;
                for image in &images {
                    manifest.execute(params![
                        repository_id,
                        image.digest.as_str(),
                        image.content,
                        now
                    ])?;
                    for blob in &image.blobs {
                        reference.execute(params![
                            repository_id,
                            image.digest.as_str(),
                            blob.as_str()
                        ])?;
                    }
                }
            }
            tx.commit()?;
            Ok::<_, StorageError>(())
        })
        .await
    }
}
