//! Blob records: publishing a blob, and what garbage collection reads and deletes.
//!
//! The lock that orders publication against sweeping (see README, "Architecture
//! notes: garbage collection") is a transaction-scoped advisory lock keyed by the
//! digest: publications of a digest share it, a sweep of that digest takes it alone.
//! Pushes of different blobs never wait on each other or on a sweep of other blobs.

use berth_model::oci::Digest;
use deadpool_postgres::{Client, GenericClient};

use crate::storage::{
    BlobStep, PublishError, RemoveBytes, StorageError, SweepOutcome, UploadRecord,
};

type Result<T> = std::result::Result<T, StorageError>;

/// The advisory lock key of a blob's digest, in Berth's own namespace.
const BLOB_KEY: &str = "hashtextextended('berth:blob:' || $1, 0)";

/// Whether a recorded blob may be swept: recorded before `$1`, no link, no
/// manifest reference. Shared by the snapshot query and the locked check.
const SWEEPABLE: &str = "b.created_at < $1
    AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
    AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = b.digest)";

/// Runs `put_bytes`, then records the blob and links it, in one transaction holding
/// the digest's lock (shared).
pub async fn publish_blob(
    client: &mut Client,
    repository_id: i64,
    digest: &Digest,
    size: u64,
    now: f64,
    put_bytes: BlobStep,
) -> std::result::Result<(), PublishError> {
    let storage = |e: tokio_postgres::Error| PublishError::Storage(e.into());
    let tx = client.transaction().await.map_err(storage)?;
    tx.execute(
        &format!("SELECT pg_advisory_xact_lock_shared({BLOB_KEY})"),
        &[&digest.as_str()],
    )
    .await
    .map_err(storage)?;
    put_bytes.await?;
    let record = tx
        .prepare_cached(
            "INSERT INTO blobs (digest, size, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .await
        .map_err(storage)?;
    tx.execute(&record, &[&digest.as_str(), &(size as i64), &now])
        .await
        .map_err(storage)?;
    // An upload renews the link: an image deletion meanwhile keeps it for this push.
    let link = tx
        .prepare_cached(
            "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES ($1, $2, $3)
             ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at",
        )
        .await
        .map_err(storage)?;
    tx.execute(&link, &[&repository_id, &digest.as_str(), &now])
        .await
        .map_err(storage)?;
    tx.commit().await.map_err(storage)?;
    Ok(())
}

pub async fn unreferenced_blobs(
    client: &impl GenericClient,
    before: f64,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(Digest, u64)>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT b.digest, b.size FROM blobs b WHERE b.digest > $2 AND {SWEEPABLE}
             ORDER BY b.digest LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[&before, &after.unwrap_or(""), &(limit as i64)],
        )
        .await?;
    // Every record came through a parsed digest; skip anything else rather than fail.
    Ok(rows
        .iter()
        .filter_map(|row| {
            let digest = Digest::parse(row.get::<_, &str>(0)).ok()?;
            Some((digest, row.get::<_, i64>(1) as u64))
        })
        .collect())
}

pub async fn unrecorded_blobs(
    client: &impl GenericClient,
    digests: &[Digest],
) -> Result<Vec<Digest>> {
    let wanted: Vec<&str> = digests.iter().map(Digest::as_str).collect();
    let statement = client
        .prepare_cached(
            "SELECT d FROM unnest($1::TEXT[]) AS d
             WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.digest = d)",
        )
        .await?;
    let missing: Vec<String> = client
        .query(&statement, &[&wanted])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    Ok(digests
        .iter()
        .filter(|d| missing.iter().any(|m| m == d.as_str()))
        .cloned()
        .collect())
}

/// Per digest, one transaction holding its lock alone: checks again, removes the
/// bytes of a blob still sweepable (or of bytes with no record at all), then its
/// record. Bytes that cannot be removed keep their record, and the failure is
/// reported rather than stopping the sweep.
pub async fn sweep_blobs(
    client: &mut Client,
    digests: &[Digest],
    before: f64,
    remove_bytes: &RemoveBytes,
) -> Result<SweepOutcome> {
    let mut outcome = SweepOutcome::default();
    for digest in digests {
        let tx = client.transaction().await?;
        tx.execute(
            &format!("SELECT pg_advisory_xact_lock({BLOB_KEY})"),
            &[&digest.as_str()],
        )
        .await?;
        // `None`: bytes without a record, which nothing can reach.
        let sweepable: Option<bool> = tx
            .query_opt(
                &format!("SELECT {SWEEPABLE} FROM blobs b WHERE b.digest = $2 FOR UPDATE"),
                &[&before, &digest.as_str()],
            )
            .await?
            .map(|row| row.get(0));
        if sweepable == Some(false) {
            continue;
        }
        if let Err(error) = remove_bytes(digest.clone()).await {
            outcome.failures.push((digest.clone(), error.to_string()));
            continue;
        }
        if sweepable.is_some() {
            tx.execute("DELETE FROM blobs WHERE digest = $1", &[&digest.as_str()])
                .await?;
        }
        tx.commit().await?;
        outcome.swept.push(digest.clone());
    }
    Ok(outcome)
}

pub async fn uploads_started_before(
    client: &impl GenericClient,
    before: f64,
) -> Result<Vec<UploadRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT id, repository_id, started_at FROM uploads WHERE started_at < $1
             ORDER BY started_at",
        )
        .await?;
    Ok(client
        .query(&statement, &[&before])
        .await?
        .iter()
        .map(|row| UploadRecord {
            id: row.get(0),
            repository_id: row.get(1),
            started_at: row.get(2),
        })
        .collect())
}
