//! Blob records: publishing a blob, and what garbage collection reads and deletes.
//!
//! Publishing (bytes into place, then record and link) and sweeping (check again,
//! bytes out, then record) each run inside one `BEGIN IMMEDIATE` transaction. SQLite
//! gives that write lock to one connection at a time across every process that opens
//! the database, so the two never interleave: a sweep sees a blob's bytes either
//! together with its committed record and link, or not at all.

use berth_model::oci::Digest;
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use tokio::runtime::Handle;

use crate::storage::{
    BlobStep, PublishError, RemoveBytes, StorageError, SweepOutcome, UploadRecord,
};

/// Runs `put_bytes`, then records the blob and links it, inside the caller's write
/// transaction.
pub fn publish_blob(
    tx: &Transaction<'_>,
    handle: &Handle,
    repository_id: i64,
    digest: &str,
    size: u64,
    now: f64,
    put_bytes: BlobStep,
) -> Result<(), PublishError> {
    handle.block_on(put_bytes)?;
    tx.execute(
        "INSERT INTO blobs (digest, size, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
        params![digest, size as i64, now],
    )
    .map_err(StorageError::from)?;
    // An upload renews the link: an image deletion meanwhile keeps it for this push.
    tx.execute(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT DO UPDATE SET linked_at = excluded.linked_at",
        params![repository_id, digest, now],
    )
    .map_err(StorageError::from)?;
    Ok(())
}

/// Whether a recorded blob may be swept: recorded before `before`, no link, no
/// manifest reference. Shared by the snapshot query and the locked check.
const SWEEPABLE: &str = "b.created_at < ?1
    AND NOT EXISTS (SELECT 1 FROM repository_blobs rb WHERE rb.digest = b.digest)
    AND NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.blob_digest = b.digest)";

pub fn unreferenced_blobs(
    conn: &Connection,
    before: f64,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(Digest, u64)>, StorageError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT b.digest, b.size FROM blobs b WHERE b.digest > ?2 AND {SWEEPABLE}
         ORDER BY b.digest LIMIT ?3"
    ))?;
    let rows = statement.query_map(params![before, after.unwrap_or(""), limit as i64], |row| {
        Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
    })?;
    let mut found = Vec::new();
    for row in rows {
        let (digest, size) = row?;
        // Every record came through a parsed digest; skip anything else rather than fail.
        if let Ok(digest) = Digest::parse(&digest) {
            found.push((digest, size as u64));
        }
    }
    Ok(found)
}

pub fn unrecorded_blobs(
    conn: &Connection,
    digests: &[Digest],
) -> Result<Vec<Digest>, StorageError> {
    let mut statement =
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM blobs WHERE digest = ?1)")?;
    let mut missing = Vec::new();
    for digest in digests {
        let recorded: bool = statement.query_row([digest.as_str()], |row| row.get(0))?;
        if !recorded {
            missing.push(digest.clone());
        }
    }
    Ok(missing)
}

/// Checks each digest again under the caller's write transaction, removes the bytes
/// of those still sweepable, then their records. Bytes that cannot be removed keep
/// their record, and the failure is reported rather than stopping the sweep.
pub fn sweep_blobs(
    tx: &Transaction<'_>,
    handle: &Handle,
    digests: &[Digest],
    before: f64,
    remove_bytes: &RemoveBytes,
) -> Result<SweepOutcome, StorageError> {
    let mut check = tx.prepare_cached(&format!(
        "SELECT {SWEEPABLE} FROM blobs b WHERE b.digest = ?2"
    ))?;
    let mut delete = tx.prepare_cached("DELETE FROM blobs WHERE digest = ?1")?;
    let mut outcome = SweepOutcome::default();
    for digest in digests {
        // `None`: bytes without a record, which nothing can reach.
        let sweepable: Option<bool> = check
            .query_row(params![before, digest.as_str()], |row| row.get(0))
            .optional()?;
        if sweepable == Some(false) {
            continue;
        }
        if let Err(error) = handle.block_on(remove_bytes(digest.clone())) {
            outcome.failures.push((digest.clone(), error.to_string()));
            continue;
        }
        if sweepable.is_some() {
            delete.execute([digest.as_str()])?;
        }
        outcome.swept.push(digest.clone());
    }
    Ok(outcome)
}

pub fn uploads_started_before(
    conn: &Connection,
    before: f64,
) -> Result<Vec<UploadRecord>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, repository_id, started_at FROM uploads WHERE started_at < ?1 ORDER BY started_at",
    )?;
    let rows = statement.query_map([before], |row| {
        Ok(UploadRecord {
            id: row.get(0)?,
            repository_id: row.get(1)?,
            started_at: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Fills `manifest_blobs` for manifests stored before the table existed.
pub fn backfill_manifest_blobs(conn: &Connection) -> Result<(), StorageError> {
    let mut insert = conn.prepare(
        "INSERT INTO manifest_blobs (repository_id, manifest_digest, blob_digest)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM blobs WHERE digest = ?3)
         ON CONFLICT DO NOTHING",
    )?;
    super::references::each_stored_manifest(conn, |repository_id, digest, parsed| {
        for blob in parsed.blob_references() {
            insert.execute(params![repository_id, digest, blob.digest.as_str()])?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use berth_model::oci::Digest;

    use crate::storage::sqlite::SqliteMetadata;
    use crate::storage::{
        BlobError, BlobStep, BlobUnlink, ImageDeletion, Job, ManifestRecord, Metadata, NewManifest,
        RemoveBytes, RepositoryRecord,
    };

    fn tempdir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-blobs-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn digest(n: u8) -> Digest {
        Digest::from_sha256(&[n; 32])
    }

    async fn repository(store: &SqliteMetadata, name: &str) -> i64 {
        let record = RepositoryRecord {
            id: 0,
            policy: None,
            name: name.into(),
            created_at: 1.0,
            image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
            image_tag_mutability_exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
            kms_key: None,
        };
        store
            .insert_repository(&record, &[])
            .await
            .unwrap()
            .unwrap()
    }

    /// Bytes as files named by digest in `dir`, so a test sees what a sweep removed.
    fn put_bytes(dir: &Path, digest: &Digest) -> BlobStep {
        let path = dir.join(digest.hex());
        Box::pin(async move { std::fs::write(path, b"bytes").map_err(BlobError::from) })
    }

    fn remover(dir: &Path, removed: &Arc<Mutex<Vec<Digest>>>) -> RemoveBytes {
        let (dir, removed) = (dir.to_path_buf(), removed.clone());
        Arc::new(move |digest: Digest| {
            let path = dir.join(digest.hex());
            removed.lock().unwrap().push(digest);
            Box::pin(async move {
                match std::fs::remove_file(path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
                    _ => Ok(()),
                }
            })
        })
    }

    async fn publish(store: &SqliteMetadata, dir: &Path, repository_id: i64, d: &Digest, at: f64) {
        store
            .publish_blob(repository_id, d, 5, at, put_bytes(dir, d))
            .await
            .unwrap();
    }

    fn manifest_referencing(blobs: &[&Digest]) -> NewManifest {
        let layer = |d: &Digest| serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d.as_str(), "size": 5});
        let content = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": layer(blobs[0]),
            "layers": blobs[1..].iter().map(|d| layer(d)).collect::<Vec<_>>(),
        })
        .to_string()
        .into_bytes();
        NewManifest {
            record: ManifestRecord {
                digest: Digest::from_sha256(&[0xee; 32]).to_string(),
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                artifact_type: None,
                content,
                image_size: 5,
                pushed_at: 1.0,
                last_pulled_at: None,
                subject: None,
            },
            blobs: blobs.iter().map(|d| d.to_string()).collect(),
            children: vec![],
            tag: Some("v1".into()),
            tag_immutable: false,
        }
    }

    #[tokio::test]
    async fn publishing_puts_the_bytes_then_records_and_links_the_blob() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&store, "app").await;
        publish(&store, &dir, repo, &digest(1), 10.0).await;
        assert!(dir.join(digest(1).hex()).is_file());
        assert_eq!(
            store
                .repository_blob(repo, digest(1).as_str())
                .await
                .unwrap(),
            Some(5)
        );

        let failing: BlobStep = Box::pin(async { Err(BlobError::UnknownUpload("gone".into())) });
        assert!(store
            .publish_blob(repo, &digest(2), 5, 10.0, failing)
            .await
            .is_err());
        assert_eq!(
            store
                .repository_blob(repo, digest(2).as_str())
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn only_blobs_nothing_links_or_references_recorded_before_the_run_are_swept() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&store, "app").await;
        let (unlinked, referenced, linked) = (digest(1), digest(2), digest(3));
        for d in [&unlinked, &referenced, &linked] {
            publish(&store, &dir, repo, d, 10.0).await;
        }
        store
            .put_manifest(repo, manifest_referencing(&[&referenced]))
            .await
            .unwrap();
        assert_eq!(
            store.unlink_blob(repo, unlinked.as_str()).await.unwrap(),
            BlobUnlink::Unlinked
        );
        // A blob a manifest references keeps its link.
        assert!(matches!(
            store.unlink_blob(repo, referenced.as_str()).await.unwrap(),
            BlobUnlink::ReferencedBy(_)
        ));

        let listed = store.unreferenced_blobs(20.0, None, 10).await.unwrap();
        assert_eq!(listed, vec![(unlinked.clone(), 5)]);
        assert_eq!(store.unreferenced_blobs(10.0, None, 10).await.unwrap(), []);
        assert_eq!(
            store
                .unreferenced_blobs(20.0, Some(unlinked.as_str()), 10)
                .await
                .unwrap(),
            []
        );

        let removed = Arc::new(Mutex::new(Vec::new()));
        // Recorded at 10.0: a run that started at 10.0 leaves it alone.
        let outcome = store
            .sweep_blobs(
                std::slice::from_ref(&unlinked),
                10.0,
                remover(&dir, &removed),
            )
            .await
            .unwrap();
        assert!(outcome.swept.is_empty());
        let everything = [unlinked.clone(), referenced.clone(), linked.clone()];
        let outcome = store
            .sweep_blobs(&everything, 20.0, remover(&dir, &removed))
            .await
            .unwrap();
        assert_eq!(outcome.swept, vec![unlinked.clone()]);
        assert_eq!(*removed.lock().unwrap(), vec![unlinked.clone()]);
        assert!(!dir.join(unlinked.hex()).exists());
        assert!(dir.join(referenced.hex()).exists() && dir.join(linked.hex()).exists());
        assert_eq!(
            store.unrecorded_blobs(&everything).await.unwrap(),
            vec![unlinked.clone()]
        );

        // Once its image is deleted (which keeps the link: the blob was published after
        // the image's push) and the link removed, nothing holds the blob any more.
        let manifest = manifest_referencing(&[&referenced]).record.digest;
        assert_eq!(
            store.delete_image(repo, &manifest).await.unwrap(),
            ImageDeletion::Deleted
        );
        assert_eq!(
            store.unlink_blob(repo, referenced.as_str()).await.unwrap(),
            BlobUnlink::Unlinked
        );
        assert_eq!(
            store.unreferenced_blobs(20.0, None, 10).await.unwrap(),
            vec![(referenced.clone(), 5)]
        );
    }

    #[tokio::test]
    async fn bytes_without_a_record_are_swept_whenever_the_sweep_finds_them() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let leftover = digest(9);
        std::fs::write(dir.join(leftover.hex()), b"crash").unwrap();
        assert_eq!(
            store
                .unrecorded_blobs(std::slice::from_ref(&leftover))
                .await
                .unwrap(),
            vec![leftover.clone()]
        );
        let removed = Arc::new(Mutex::new(Vec::new()));
        let outcome = store
            .sweep_blobs(
                std::slice::from_ref(&leftover),
                0.0,
                remover(&dir, &removed),
            )
            .await
            .unwrap();
        assert_eq!(outcome.swept, vec![leftover.clone()]);
        assert!(!dir.join(leftover.hex()).exists());
    }

    #[tokio::test]
    async fn bytes_that_cannot_be_removed_keep_their_record_and_are_reported() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&store, "app").await;
        publish(&store, &dir, repo, &digest(1), 10.0).await;
        store.unlink_blob(repo, digest(1).as_str()).await.unwrap();
        let refuse: RemoveBytes =
            Arc::new(|_| Box::pin(async { Err(std::io::Error::other("read-only disk").into()) }));
        let outcome = store.sweep_blobs(&[digest(1)], 20.0, refuse).await.unwrap();
        assert!(outcome.swept.is_empty());
        assert_eq!(outcome.failures.len(), 1);
        assert!(outcome.failures[0].1.contains("read-only disk"));
        assert_eq!(
            store.unreferenced_blobs(20.0, None, 10).await.unwrap(),
            vec![(digest(1), 5)]
        );
    }

    /// The race the lock exists for, across two connections as two processes have:
    /// a sweep that starts while a publication of the same digest has put its bytes
    /// but not yet committed must wait, then see the new link and keep the blob.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sweep_waits_for_a_publication_in_another_process() {
        let dir = tempdir();
        let publisher = SqliteMetadata::open(&dir).unwrap();
        let collector = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&publisher, "app").await;
        let blob = digest(7);
        // Pushed once, then unlinked: garbage, until the same layer is pushed again.
        publish(&publisher, &dir, repo, &blob, 10.0).await;
        publisher.unlink_blob(repo, blob.as_str()).await.unwrap();

        let (bytes_in_place, mut in_place) = tokio::sync::mpsc::channel::<()>(1);
        let (release, released) = tokio::sync::oneshot::channel::<()>();
        let path = dir.join(blob.hex());
        let step: BlobStep = Box::pin(async move {
            std::fs::write(&path, b"bytes")?;
            let _ = bytes_in_place.send(()).await;
            let _ = released.await;
            Ok(())
        });
        let publication = tokio::spawn({
            let (publisher, blob) = (publisher.clone(), blob.clone());
            async move { publisher.publish_blob(repo, &blob, 5, 30.0, step).await }
        });
        in_place.recv().await.unwrap();

        let removed = Arc::new(Mutex::new(Vec::new()));
        let mut sweep = tokio::spawn({
            let (blob, remove) = (blob.clone(), remover(&dir, &removed));
            async move { collector.sweep_blobs(&[blob], 20.0, remove).await }
        });
        // A sweep that did not wait would finish here, having removed the bytes.
        let finished_early = tokio::time::timeout(Duration::from_millis(300), &mut sweep)
            .await
            .is_ok();
        release.send(()).unwrap();
        publication.await.unwrap().unwrap();
        let outcome = sweep.await.unwrap().unwrap();

        assert!(!finished_early, "the sweep ran inside the publication");
        assert!(outcome.swept.is_empty());
        assert!(removed.lock().unwrap().is_empty());
        assert!(dir.join(blob.hex()).is_file());
        assert_eq!(
            publisher
                .repository_blob(repo, blob.as_str())
                .await
                .unwrap(),
            Some(5)
        );
    }

    #[tokio::test]
    async fn one_process_at_a_time_holds_a_job() {
        let dir = tempdir();
        let first = SqliteMetadata::open(&dir).unwrap();
        let second = SqliteMetadata::open(&dir).unwrap();
        let lease = first
            .lock_job(Job::GarbageCollection, false)
            .await
            .unwrap()
            .expect("nobody else holds it");
        assert!(second
            .lock_job(Job::GarbageCollection, false)
            .await
            .unwrap()
            .is_none());
        drop(lease);
        assert!(second
            .lock_job(Job::GarbageCollection, false)
            .await
            .unwrap()
            .is_some());
    }

    #[tokio::test]
    async fn manifests_stored_before_references_were_kept_are_read_on_open() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&store, "app").await;
        let (config, layer) = (digest(1), digest(2));
        publish(&store, &dir, repo, &config, 10.0).await;
        publish(&store, &dir, repo, &layer, 10.0).await;
        store
            .put_manifest(repo, manifest_referencing(&[&config, &layer]))
            .await
            .unwrap();
        store.unlink_blob(repo, config.as_str()).await.unwrap();
        store.unlink_blob(repo, layer.as_str()).await.unwrap();
        drop(store);
        // As a data dir written before this table existed: schema version 2.
        rusqlite::Connection::open(dir.join(super::super::DATABASE_FILE))
            .unwrap()
            .execute_batch("DROP TABLE manifest_blobs; PRAGMA user_version = 2;")
            .unwrap();

        let reopened = SqliteMetadata::open(&dir).unwrap();
        assert_eq!(
            reopened.unreferenced_blobs(20.0, None, 10).await.unwrap(),
            []
        );
    }

    #[tokio::test]
    async fn sessions_are_listed_by_when_they_started() {
        let dir = tempdir();
        let store = SqliteMetadata::open(&dir).unwrap();
        let repo = repository(&store, "app").await;
        store.create_upload("old", repo, 5.0).await.unwrap();
        store.create_upload("new", repo, 50.0).await.unwrap();
        let old = store.uploads_started_before(10.0).await.unwrap();
        assert_eq!(old.len(), 1);
        assert_eq!((old[0].id.as_str(), old[0].repository_id), ("old", repo));
    }
}
