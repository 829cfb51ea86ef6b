//! Garbage collection, online: frees blobs that no repository links and no manifest
//! references, expires abandoned upload sessions, and removes what crashes left
//! behind, while pushes and pulls go on. Why a concurrent push is never hurt:
//! README, "Architecture notes: garbage collection".

mod report;
mod schedule;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_model::oci::Digest;

pub use report::{status, Report, Schedule, Status, LAST_RUN_SETTING, SCHEDULE_SETTING};
pub use schedule::run_on_schedule;

use super::error::Result;
use crate::clock::now_epoch_seconds;
use crate::storage::{Blobs, Job, Metadata, RemoveBytes, StoredUpload};

/// Blobs read per query: bounds memory whatever the registry's size.
const PAGE: usize = 1000;
/// Blobs deleted per write transaction: bounds how long a push may wait on a sweep.
const SWEEP_BATCH: usize = 250;

#[derive(Debug, Clone)]
pub struct Options {
    /// Upload sessions started longer ago than this, and idle as long, expire.
    pub upload_expiry: Duration,
    /// Count what a run would free, and free nothing.
    pub dry_run: bool,
    /// Wait for a run in another process to finish instead of skipping this one.
    pub wait: bool,
}

/// One garbage collection; `None` when another process holds the job and
/// `options.wait` is false. A real run's report is recorded for [`status`].
pub async fn run(
    metadata: &Arc<dyn Metadata>,
    blobs: &Arc<dyn Blobs>,
    options: &Options,
) -> Result<Option<Report>> {
    let Some(_lease) = metadata
        .lock_job(Job::GarbageCollection, options.wait)
        .await?
    else {
        return Ok(None);
    };
    let clock = Instant::now();
    let mut report = Report {
        started_at: now_epoch_seconds(),
        dry_run: options.dry_run,
        ..Report::default()
    };
    let run = Run {
        metadata: metadata.as_ref(),
        blobs,
        dry_run: options.dry_run,
    };
    run.expire_uploads(&mut report, options.upload_expiry)
        .await?;
    run.sweep_unreferenced(&mut report).await?;
    run.sweep_leftover_blobs(&mut report).await?;
    report.bytes_freed =
        report.blob_bytes_freed + report.leftover_blob_bytes_freed + report.upload_bytes_freed;
    report.seconds = clock.elapsed().as_secs_f64();
    if !options.dry_run {
        let json = serde_json::to_string(&report).unwrap_or_default();
        metadata.put_setting(LAST_RUN_SETTING, &json).await?;
    }
    Ok(Some(report))
}

struct Run<'a> {
    metadata: &'a dyn Metadata,
    blobs: &'a Arc<dyn Blobs>,
    dry_run: bool,
}

impl Run<'_> {
    fn remove_bytes(&self) -> RemoveBytes {
        let blobs = self.blobs.clone();
        Arc::new(move |digest: Digest| {
            let blobs = blobs.clone();
            Box::pin(async move { blobs.delete_blob(&digest).await })
        })
    }

    /// Sessions started before the cutoff whose bytes have not grown since, and
    /// partial files that have no session at all.
    async fn expire_uploads(&self, report: &mut Report, expiry: Duration) -> Result<()> {
        let cutoff = report.started_at - expiry.as_secs_f64();
        // Listed before any session record is read: a session's record is written
        // before its file and deleted after it, so a listed file whose record is
        // missing afterwards belongs to no session.
        let stored: Vec<StoredUpload> = self.blobs.list_uploads().await?;
        let by_id: HashMap<&str, &StoredUpload> =
            stored.iter().map(|u| (u.id.as_str(), u)).collect();
        let mut expired = HashSet::new();
        for session in self.metadata.uploads_started_before(cutoff).await? {
            let file = by_id.get(session.id.as_str());
            if file.is_some_and(|f| f.modified >= cutoff) {
                continue;
            }
            report.uploads_expired += 1;
            report.upload_bytes_freed += file.map_or(0, |f| f.size);
            if !self.dry_run {
                self.metadata.delete_upload(&session.id).await?;
                self.blobs.cancel_upload(&session.id).await;
            }
            expired.insert(session.id);
        }
        for upload in &stored {
            if expired.contains(&upload.id)
                || self.metadata.find_upload(&upload.id).await?.is_some()
            {
                continue;
            }
            report.leftover_uploads_deleted += 1;
            report.upload_bytes_freed += upload.size;
            if !self.dry_run {
                self.blobs.cancel_upload(&upload.id).await;
            }
        }
        Ok(())
    }

    /// Recorded blobs that nothing links or references, recorded before the run
    /// started: read from a snapshot, then each checked again under the lock as it
    /// is deleted.
    async fn sweep_unreferenced(&self, report: &mut Report) -> Result<()> {
        let remove = self.remove_bytes();
        let mut after: Option<Digest> = None;
        loop {
            let page = self
                .metadata
                .unreferenced_blobs(report.started_at, after.as_ref().map(Digest::as_str), PAGE)
                .await?;
            let Some((last, _)) = page.last() else {
                break;
            };
            after = Some(last.clone());
            if self.dry_run {
                report.blobs_deleted += page.len() as u64;
                report.blob_bytes_freed += page.iter().map(|(_, size)| size).sum::<u64>();
                continue;
            }
            for batch in page.chunks(SWEEP_BATCH) {
                let sizes: HashMap<&Digest, u64> = batch.iter().map(|(d, s)| (d, *s)).collect();
                let digests: Vec<Digest> = batch.iter().map(|(d, _)| d.clone()).collect();
                let outcome = self
                    .metadata
                    .sweep_blobs(&digests, report.started_at, remove.clone())
                    .await?;
                for digest in &outcome.swept {
                    report.blobs_deleted += 1;
                    report.blob_bytes_freed += sizes.get(digest).copied().unwrap_or(0);
                }
                for (digest, why) in outcome.failures {
                    report.fail(digest, why);
                }
            }
        }
        Ok(())
    }

    /// Blob files without a record. Such a file also exists for a moment while a
    /// blob is being published, but only inside the lock that the sweep takes to
    /// check again, so the sweep sees it with its record.
    async fn sweep_leftover_blobs(&self, report: &mut Report) -> Result<()> {
        let remove = self.remove_bytes();
        let mut after: Option<Digest> = None;
        loop {
            let page = self.blobs.list_blobs(after.as_ref(), PAGE).await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.digest.clone());
            let digests: Vec<Digest> = page.iter().map(|b| b.digest.clone()).collect();
            let leftovers = self.metadata.unrecorded_blobs(&digests).await?;
            if leftovers.is_empty() {
                continue;
            }
            let sizes: HashMap<&Digest, u64> = page.iter().map(|b| (&b.digest, b.size)).collect();
            let swept = if self.dry_run {
                leftovers
            } else {
                let outcome = self
                    .metadata
                    .sweep_blobs(&leftovers, report.started_at, remove.clone())
                    .await?;
                for (digest, why) in outcome.failures {
                    report.fail(digest, why);
                }
                outcome.swept
            };
            for digest in &swept {
                report.leftover_blobs_deleted += 1;
                report.leftover_blob_bytes_freed += sizes.get(digest).copied().unwrap_or(0);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use bytes::Bytes;
    use futures_util::StreamExt;

    use super::*;
    use crate::storage::files::BlobFiles;
    use crate::storage::sqlite::SqliteMetadata;
    use crate::storage::{BlobStep, RepositoryRecord};

    struct Registry {
        dir: PathBuf,
        metadata: Arc<dyn Metadata>,
        blobs: Arc<dyn Blobs>,
        files: BlobFiles,
        repository: i64,
    }

    async fn registry() -> Registry {
        let dir = std::env::temp_dir().join(format!(
            "berth-gc-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let metadata: Arc<dyn Metadata> = Arc::new(SqliteMetadata::open(&dir).unwrap());
        let blobs: Arc<dyn Blobs> = Arc::new(BlobFiles::open(&dir).unwrap());
        let record = RepositoryRecord {
            id: 0,
            policy: None,
            name: "app".into(),
            created_at: 1.0,
            image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
            image_tag_mutability_exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
            kms_key: None,
        };
        let repository = metadata
            .insert_repository(&record, &[])
            .await
            .unwrap()
            .unwrap();
        Registry {
            files: BlobFiles::open(&dir).unwrap(),
            dir,
            metadata,
            blobs,
            repository,
        }
    }

    impl Registry {
        /// Pushes `content` as a blob of the repository, the way an upload does.
        async fn push(&self, content: &'static [u8]) -> Digest {
            use sha2::Digest as _;
            let digest = Digest::from_sha256(&sha2::Sha256::digest(content));
            let id = uuid::Uuid::new_v4().to_string();
            self.blobs.start_upload(&id).await.unwrap();
            let body = futures_util::stream::iter([Ok(Bytes::from_static(content))]).boxed();
            self.blobs.append(&id, None, body).await.unwrap();
            let size = self.blobs.verify_upload(&id, &digest).await.unwrap();
            let (blobs, target) = (self.blobs.clone(), digest.clone());
            let step: BlobStep = Box::pin(async move { blobs.publish_upload(&id, &target).await });
            self.metadata
                .publish_blob(self.repository, &digest, size, now_epoch_seconds(), step)
                .await
                .unwrap();
            digest
        }

        /// An upload session with `content` received, started and last written `age` ago.
        async fn session(
            &self,
            content: &'static [u8],
            started: Duration,
            written: Duration,
        ) -> String {
            let id = uuid::Uuid::new_v4().to_string();
            let now = now_epoch_seconds();
            self.metadata
                .create_upload(&id, self.repository, now - started.as_secs_f64())
                .await
                .unwrap();
            self.blobs.start_upload(&id).await.unwrap();
            let body = futures_util::stream::iter([Ok(Bytes::from_static(content))]).boxed();
            self.blobs.append(&id, None, body).await.unwrap();
            set_modified(&self.upload_path(&id), written);
            id
        }

        fn upload_path(&self, id: &str) -> PathBuf {
            self.dir.join("uploads").join(id)
        }

        /// Every blob file, by digest.
        fn blob_files(&self) -> Vec<String> {
            let mut found = Vec::new();
            for shard in std::fs::read_dir(self.dir.join("blobs/sha256")).unwrap() {
                for file in std::fs::read_dir(shard.unwrap().path()).unwrap() {
                    found.push(format!(
                        "sha256:{}",
                        file.unwrap().file_name().to_string_lossy()
                    ));
                }
            }
            found.sort();
            found
        }

        fn upload_files(&self) -> Vec<String> {
            let mut found: Vec<String> = std::fs::read_dir(self.dir.join("uploads"))
                .unwrap()
                .map(|f| f.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            found.sort();
            found
        }
    }

    fn set_modified(path: &Path, age: Duration) {
        let file = std::fs::File::options().write(true).open(path).unwrap();
        file.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    const HOUR: Duration = Duration::from_secs(60 * 60);

    fn options(dry_run: bool) -> Options {
        Options {
            upload_expiry: HOUR,
            dry_run,
            wait: false,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_run_frees_exactly_what_nothing_references_and_a_dry_run_counts_the_same() {
        let r = registry().await;
        let linked = r.push(b"linked layer").await;
        let unlinked = r.push(b"unlinked layer").await;
        let orphan = r.push(b"bytes whose record a crash lost").await;
        r.metadata
            .unlink_blob(r.repository, unlinked.as_str())
            .await
            .unwrap();
        // A crash after the bytes moved into place, before the record committed.
        r.metadata
            .unlink_blob(r.repository, orphan.as_str())
            .await
            .unwrap();
        rusqlite::Connection::open(r.dir.join(crate::storage::sqlite::DATABASE_FILE))
            .unwrap()
            .execute("DELETE FROM blobs WHERE digest = ?1", [orphan.as_str()])
            .unwrap();
        let abandoned = r.session(b"12345", 2 * HOUR, 2 * HOUR).await;
        let slow = r.session(b"1234567", 2 * HOUR, Duration::ZERO).await;
        let fresh = r.session(b"123", Duration::ZERO, Duration::ZERO).await;
        let crashed = uuid::Uuid::new_v4().to_string();
        std::fs::write(r.upload_path(&crashed), b"123456789").unwrap();
        std::fs::write(r.dir.join("uploads").join("not-a-session"), b"x").unwrap();
        let files_before = (r.blob_files(), r.upload_files());

        let dry = run(&r.metadata, &r.blobs, &options(true))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((r.blob_files(), r.upload_files()), files_before);
        assert!(status(r.metadata.as_ref())
            .await
            .unwrap()
            .last_run
            .is_none());

        let report = run(&r.metadata, &r.blobs, &options(false))
            .await
            .unwrap()
            .unwrap();
        let counts = |r: &Report| {
            (
                r.blobs_deleted,
                r.blob_bytes_freed,
                r.leftover_blobs_deleted,
                r.leftover_blob_bytes_freed,
                r.uploads_expired,
                r.leftover_uploads_deleted,
                r.upload_bytes_freed,
                r.bytes_freed,
                r.failure_count,
            )
        };
        assert_eq!(counts(&report), (1, 14, 1, 31, 1, 1, 14, 59, 0));
        assert_eq!(counts(&dry), counts(&report));

        assert_eq!(r.blob_files(), vec![linked.to_string()]);
        let mut sessions = vec![slow.clone(), fresh.clone(), "not-a-session".to_string()];
        sessions.sort();
        assert_eq!(r.upload_files(), sessions);
        assert_eq!(r.metadata.find_upload(&abandoned).await.unwrap(), None);
        assert!(r.metadata.find_upload(&slow).await.unwrap().is_some());
        assert!(r.metadata.find_upload(&fresh).await.unwrap().is_some());
        assert_eq!(
            status(r.metadata.as_ref()).await.unwrap().last_run,
            Some(report)
        );

        let again = run(&r.metadata, &r.blobs, &options(false))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(counts(&again), (0, 0, 0, 0, 0, 0, 0, 0, 0));
    }

    #[tokio::test]
    async fn a_run_waits_for_or_skips_a_run_in_another_process() {
        let r = registry().await;
        let other = SqliteMetadata::open(&r.dir).unwrap();
        let lease = other.lock_job(Job::GarbageCollection, false).await.unwrap();
        assert!(lease.is_some());
        assert_eq!(
            run(&r.metadata, &r.blobs, &options(false)).await.unwrap(),
            None
        );
        drop(lease);
        assert!(run(&r.metadata, &r.blobs, &options(false))
            .await
            .unwrap()
            .is_some());
    }

    /// Another process expired the session between the request's session check and
    /// its file access: the client hears the session is gone, not a disk failure.
    #[tokio::test]
    async fn a_session_expired_under_its_client_is_reported_gone() {
        let r = registry().await;
        let id = r.session(b"12345", HOUR, HOUR).await;
        let digest = Digest::from_sha256(&[0; 32]);
        std::fs::remove_file(r.upload_path(&id)).unwrap();
        let body = futures_util::stream::iter([Ok(Bytes::from_static(b"6"))]).boxed();
        let gone = |e| matches!(e, crate::storage::BlobError::UnknownUpload(_));
        assert!(gone(r.blobs.append(&id, Some(5), body).await.unwrap_err()));
        assert!(gone(
            r.blobs.publish_upload(&id, &digest).await.unwrap_err()
        ));

        let other = r.session(b"12345", HOUR, HOUR).await;
        use sha2::Digest as _;
        let digest = Digest::from_sha256(&sha2::Sha256::digest(b"12345"));
        std::fs::remove_file(r.upload_path(&other)).unwrap();
        assert!(gone(
            r.blobs.verify_upload(&other, &digest).await.unwrap_err()
        ));
    }

    #[tokio::test]
    async fn stored_blobs_are_listed_in_digest_order_a_page_at_a_time() {
        let r = registry().await;
        let mut pushed = Vec::new();
        for content in [&b"a"[..], b"b", b"c", b"d", b"e"] {
            let content: &'static [u8] = content;
            pushed.push(r.push(content).await);
        }
        pushed.sort();
        let mut listed = Vec::new();
        let mut after: Option<Digest> = None;
        loop {
            let page = r.files.list_blobs(after.as_ref(), 2).await.unwrap();
            assert!(page.len() <= 2);
            let Some(last) = page.last() else { break };
            after = Some(last.digest.clone());
            listed.extend(page.into_iter().map(|b| (b.digest, b.size)));
        }
        assert_eq!(
            listed,
            pushed.into_iter().map(|d| (d, 1)).collect::<Vec<_>>()
        );
        r.files.delete_blob(&listed[0].0).await.unwrap();
        // Deleting bytes already gone is not an error.
        r.files.delete_blob(&listed[0].0).await.unwrap();
    }
}
