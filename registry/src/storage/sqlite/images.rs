//! Blobs, manifests and tags.
//!
//! Every change that links things is one transaction, and foreign keys make a tag
//! pointing at a missing manifest impossible.

use rusqlite::{params, Connection, OptionalExtension};

use super::write_transaction;
use crate::storage::{ManifestRecord, NewManifest, PutManifestError, StorageError, TagStatus};

/// The size of a blob the repository may serve.
pub fn repository_blob(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
) -> Result<Option<u64>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
             WHERE rb.repository_id = ?1 AND rb.digest = ?2",
        )?
        .query_row(params![repository_id, digest], |row| row.get::<_, i64>(0))
        .optional()?
        .map(|s| s as u64))
}

/// Links a blob from another repository (cross-repository mount); `None` if `from`
/// lacks it. One write transaction, so the link it copies cannot vanish halfway.
pub fn mount_blob(
    conn: &mut Connection,
    repository_id: i64,
    from_repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<Option<u64>, StorageError> {
    let tx = write_transaction(conn)?;
    let Some(size) = repository_blob(&tx, from_repository_id, digest)? else {
        return Ok(None);
    };
    tx.execute(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES (?1, ?2, ?3)
         ON CONFLICT DO UPDATE SET linked_at = excluded.linked_at",
        params![repository_id, digest, now],
    )?;
    tx.commit()?;
    Ok(Some(size))
}

/// The size of a blob the repository may serve, recording that a push relies on the
/// link now. The link is renewed only when a manifest referencing the blob was pushed
/// since it last was, which is exactly when deleting that manifest would unlink it:
/// one write per image, not one per check.
pub fn claim_blob(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<Option<u64>, StorageError> {
    let size = repository_blob(conn, repository_id, digest)?;
    if size.is_some() {
        conn.execute(
            "UPDATE repository_blobs SET linked_at = ?3
             WHERE repository_id = ?1 AND digest = ?2
               AND linked_at <= (SELECT COALESCE(MAX(m.pushed_at), -1) FROM manifest_blobs mb
                                 JOIN manifests m ON m.repository_id = mb.repository_id AND m.digest = mb.manifest_digest
                                 WHERE mb.repository_id = ?1 AND mb.blob_digest = ?2)",
            params![repository_id, digest, now],
        )?;
    }
    Ok(size)
}

const MANIFEST_COLUMNS: &str =
    "digest, media_type, artifact_type, content, image_size, pushed_at, last_pulled_at, subject";

pub(super) fn manifest_columns() -> &'static str {
    MANIFEST_COLUMNS
}

pub(super) fn manifest_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ManifestRecord> {
    Ok(ManifestRecord {
        digest: row.get(0)?,
        media_type: row.get(1)?,
        artifact_type: row.get(2)?,
        content: row.get(3)?,
        image_size: row.get::<_, i64>(4)? as u64,
        pushed_at: row.get(5)?,
        last_pulled_at: row.get(6)?,
        subject: row.get(7)?,
    })
}

pub fn find_manifest(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
) -> Result<Option<ManifestRecord>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = ?1 AND digest = ?2"
        ))?
        .query_row(params![repository_id, digest], manifest_from_row)
        .optional()?)
}

pub fn resolve_tag(
    conn: &Connection,
    repository_id: i64,
    tag: &str,
) -> Result<Option<String>, StorageError> {
    Ok(conn
        .prepare_cached("SELECT digest FROM tags WHERE repository_id = ?1 AND tag = ?2")?
        .query_row(params![repository_id, tag], |row| row.get(0))
        .optional()?)
}

/// Stores a manifest and (optionally) points a tag at it, atomically. Its blobs and
/// children must already be in the repository.
pub fn put_manifest(
    conn: &mut Connection,
    repository_id: i64,
    manifest: &NewManifest,
) -> Result<(), PutManifestError> {
    let NewManifest {
        record,
        blobs,
        children,
        tag,
        tag_immutable,
    } = manifest;
    let tx = write_transaction(conn)?;
    for digest in blobs {
        let present: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM repository_blobs WHERE repository_id = ?1 AND digest = ?2)",
            params![repository_id, digest],
            |row| row.get(0),
        )?;
        if !present {
            return Err(PutManifestError::MissingBlob(digest.clone()));
        }
    }
    for digest in children {
        let present: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM manifests WHERE repository_id = ?1 AND digest = ?2)",
            params![repository_id, digest],
            |row| row.get(0),
        )?;
        if !present {
            return Err(PutManifestError::MissingManifest(digest.clone()));
        }
    }
    if let Some(tag) = tag {
        let current: Option<String> = tx
            .query_row(
                "SELECT digest FROM tags WHERE repository_id = ?1 AND tag = ?2",
                params![repository_id, tag],
                |row| row.get(0),
            )
            .optional()?;
        if *tag_immutable && current.as_deref().is_some_and(|d| d != record.digest) {
            return Err(PutManifestError::TagImmutable(tag.to_string()));
        }
    }
    tx.execute(
        "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, content, image_size, pushed_at, subject)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT DO NOTHING",
        params![
            repository_id,
            record.digest,
            record.media_type,
            record.artifact_type,
            record.content,
            record.image_size as i64,
            record.pushed_at,
            record.subject
        ],
    )?;
    super::references::record(&tx, repository_id, &record.digest, blobs, children)?;
    if let Some(tag) = tag {
        tx.execute(
            "INSERT INTO tags (repository_id, tag, digest) VALUES (?1, ?2, ?3)
             ON CONFLICT (repository_id, tag) DO UPDATE SET digest = excluded.digest",
            params![repository_id, tag, record.digest],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The image sizes of child manifests, for an index's total.
pub fn manifests_size(
    conn: &Connection,
    repository_id: i64,
    digests: &[String],
) -> Result<u64, StorageError> {
    let mut total = 0u64;
    for digest in digests {
        let size: Option<i64> = conn
            .query_row(
                "SELECT image_size FROM manifests WHERE repository_id = ?1 AND digest = ?2",
                params![repository_id, digest],
                |row| row.get(0),
            )
            .optional()?;
        total += size.unwrap_or(0) as u64;
    }
    Ok(total)
}

/// Tags in lexical order, strictly after `after`.
pub fn list_tags(
    conn: &Connection,
    repository_id: i64,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT tag FROM tags WHERE repository_id = ?1 AND tag > ?2 ORDER BY tag LIMIT ?3",
    )?;
    let rows = statement.query_map(
        params![repository_id, after.unwrap_or(""), limit as i64],
        |row| row.get(0),
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn tags_of(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<String>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT tag FROM tags WHERE repository_id = ?1 AND digest = ?2 ORDER BY tag",
    )?;
    let rows = statement.query_map(params![repository_id, digest], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn record_pull(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<(), StorageError> {
    conn.execute(
        // Several processes record pulls: never move the time backwards.
        "UPDATE manifests SET last_pulled_at = MAX(COALESCE(last_pulled_at, 0), ?3)
         WHERE repository_id = ?1 AND digest = ?2",
        params![repository_id, digest, now],
    )?;
    Ok(())
}

/// Manifests in digest order after `after`, with their tags (content left empty).
pub fn list_images(
    conn: &Connection,
    repository_id: i64,
    after: Option<&str>,
    limit: usize,
    status: TagStatus,
) -> Result<Vec<(ManifestRecord, Vec<String>)>, StorageError> {
    let filter = match status {
        TagStatus::Tagged => "AND EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)",
        TagStatus::Untagged => {
            "AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)"
        }
        TagStatus::Any => "",
    };
    let mut statement = conn.prepare_cached(&format!(
        "SELECT m.digest, m.media_type, m.artifact_type, X'', m.image_size, m.pushed_at, m.last_pulled_at, m.subject,
                (SELECT group_concat(tag, char(10)) FROM (SELECT tag FROM tags t
                  WHERE t.repository_id = m.repository_id AND t.digest = m.digest ORDER BY tag))
         FROM manifests m WHERE m.repository_id = ?1 AND m.digest > ?2 {filter}
         ORDER BY m.digest LIMIT ?3"
    ))?;
    let rows = statement.query_map(
        params![repository_id, after.unwrap_or(""), limit as i64],
        |row| {
            let tags: Option<String> = row.get(8)?;
            Ok((
                manifest_from_row(row)?,
                tags.map(|t| t.split('\n').map(str::to_string).collect())
                    .unwrap_or_default(),
            ))
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Manifests whose `subject` is `digest`.
pub fn referrers(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<ManifestRecord>, StorageError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = ?1 AND subject = ?2 ORDER BY digest"
    ))?;
    let rows = statement.query_map(params![repository_id, digest], manifest_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}
