//! What manifests reference, and the deletions that must not leave anything
//! dangling: an index's child, a blob a manifest needs, and the links an image's
//! deletion leaves behind.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::write_transaction;
use crate::storage::{BlobUnlink, DanglingReference, ImageDeletion, StorageError, Untag};

/// Records the blobs and child manifests `manifest` references.
pub fn record(
    tx: &Transaction<'_>,
    repository_id: i64,
    manifest: &str,
    blobs: &[String],
    children: &[String],
) -> Result<(), StorageError> {
    let mut blob = tx.prepare_cached(
        "INSERT INTO manifest_blobs (repository_id, manifest_digest, blob_digest) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for digest in blobs {
        blob.execute(params![repository_id, manifest, digest])?;
    }
    let mut child = tx.prepare_cached(
        "INSERT INTO manifest_children (repository_id, parent, child) VALUES (?1, ?2, ?3)
         ON CONFLICT DO NOTHING",
    )?;
    for digest in children {
        child.execute(params![repository_id, manifest, digest])?;
    }
    Ok(())
}

/// Fills `manifest_children` for indexes stored before the table existed (children
/// the repository lacks are left out: their rows would dangle).
pub fn backfill_manifest_children(conn: &Connection) -> Result<(), StorageError> {
    let mut insert = conn.prepare(
        "INSERT INTO manifest_children (repository_id, parent, child)
         SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM manifests WHERE repository_id = ?1 AND digest = ?3)
         ON CONFLICT DO NOTHING",
    )?;
    each_stored_manifest(conn, |repository_id, digest, parsed| {
        for child in parsed.manifest_references() {
            insert.execute(params![repository_id, digest, child.digest.as_str()])?;
        }
        Ok(())
    })
}

/// Calls `each` with every stored manifest, parsed. Every stored manifest parsed when
/// it was pushed; one that no longer does references nothing this code can name, and
/// is skipped.
pub fn each_stored_manifest(
    conn: &Connection,
    mut each: impl FnMut(i64, &str, &berth_model::oci::ParsedManifest) -> Result<(), StorageError>,
) -> Result<(), StorageError> {
    let mut manifests =
        conn.prepare("SELECT repository_id, digest, media_type, content FROM manifests")?;
    let mut rows = manifests.query([])?;
    while let Some(row) = rows.next()? {
        let repository_id: i64 = row.get(0)?;
        let digest: String = row.get(1)?;
        let media_type: String = row.get(2)?;
        let content: Vec<u8> = row.get(3)?;
        let Ok(parsed) = berth_model::oci::ParsedManifest::parse(&content, Some(&media_type))
        else {
            continue;
        };
        each(repository_id, &digest, &parsed)?;
    }
    Ok(())
}

fn parents(
    conn: &Connection,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<String>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT parent FROM manifest_children WHERE repository_id = ?1 AND child = ?2 ORDER BY parent",
    )?;
    let rows = statement.query_map(params![repository_id, digest], |row| row.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes an image (its manifest, tags and references) unless an index in the
/// repository references it, then unlinks the image's blobs that no remaining
/// manifest references — except links a push renewed after the image was pushed
/// (an upload, a mount or an existence check since), which a push in flight may
/// still need.
fn delete_image_in(
    tx: &Transaction<'_>,
    repository_id: i64,
    digest: &str,
) -> Result<ImageDeletion, StorageError> {
    let pushed_at: Option<f64> = tx
        .query_row(
            "SELECT pushed_at FROM manifests WHERE repository_id = ?1 AND digest = ?2",
            params![repository_id, digest],
            |row| row.get(0),
        )
        .optional()?;
    let Some(pushed_at) = pushed_at else {
        return Ok(ImageDeletion::NotFound);
    };
    let parents = parents(tx, repository_id, digest)?;
    if !parents.is_empty() {
        return Ok(ImageDeletion::ReferencedBy(parents));
    }
    let blobs: Vec<String> = {
        let mut statement = tx.prepare_cached(
            "SELECT blob_digest FROM manifest_blobs WHERE repository_id = ?1 AND manifest_digest = ?2",
        )?;
        let rows = statement.query_map(params![repository_id, digest], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    tx.execute(
        "DELETE FROM tags WHERE repository_id = ?1 AND digest = ?2",
        params![repository_id, digest],
    )?;
    tx.execute(
        "DELETE FROM manifests WHERE repository_id = ?1 AND digest = ?2",
        params![repository_id, digest],
    )?;
    let mut unlink = tx.prepare_cached(
        "DELETE FROM repository_blobs
         WHERE repository_id = ?1 AND digest = ?2 AND linked_at <= ?3
           AND NOT EXISTS (SELECT 1 FROM manifest_blobs m WHERE m.repository_id = ?1 AND m.blob_digest = ?2)",
    )?;
    for blob in blobs {
        unlink.execute(params![repository_id, blob, pushed_at])?;
    }
    Ok(ImageDeletion::Deleted)
}

pub fn delete_image(
    conn: &mut Connection,
    repository_id: i64,
    digest: &str,
) -> Result<ImageDeletion, StorageError> {
    let tx = write_transaction(conn)?;
    let outcome = delete_image_in(&tx, repository_id, digest)?;
    tx.commit()?;
    Ok(outcome)
}

/// Removes a tag. With `delete_untagged`, an image left without tags is deleted
/// too — unless an index references it, in which case nothing changes.
pub fn untag(
    conn: &mut Connection,
    repository_id: i64,
    tag: &str,
    delete_untagged: bool,
) -> Result<Untag, StorageError> {
    let tx = write_transaction(conn)?;
    let digest: Option<String> = tx
        .query_row(
            "SELECT digest FROM tags WHERE repository_id = ?1 AND tag = ?2",
            params![repository_id, tag],
            |row| row.get(0),
        )
        .optional()?;
    let Some(digest) = digest else {
        return Ok(Untag::NotFound);
    };
    let others: i64 = tx.query_row(
        "SELECT COUNT(*) FROM tags WHERE repository_id = ?1 AND digest = ?2 AND tag <> ?3",
        params![repository_id, digest, tag],
        |row| row.get(0),
    )?;
    let outcome = if delete_untagged && others == 0 {
        match delete_image_in(&tx, repository_id, &digest)? {
            ImageDeletion::ReferencedBy(parents) => return Ok(Untag::ReferencedBy(parents)),
            _ => Untag::ImageDeleted(digest),
        }
    } else {
        tx.execute(
            "DELETE FROM tags WHERE repository_id = ?1 AND tag = ?2",
            params![repository_id, tag],
        )?;
        Untag::Removed(digest)
    };
    tx.commit()?;
    Ok(outcome)
}

/// Removes the repository's link to a blob, unless a manifest there references it.
pub fn unlink_blob(
    conn: &mut Connection,
    repository_id: i64,
    digest: &str,
) -> Result<BlobUnlink, StorageError> {
    let tx = write_transaction(conn)?;
    let manifests: Vec<String> = {
        let mut statement = tx.prepare_cached(
            "SELECT manifest_digest FROM manifest_blobs WHERE repository_id = ?1 AND blob_digest = ?2
             ORDER BY manifest_digest",
        )?;
        let rows = statement.query_map(params![repository_id, digest], |row| row.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    if !manifests.is_empty() {
        return Ok(BlobUnlink::ReferencedBy(manifests));
    }
    let removed = tx.execute(
        "DELETE FROM repository_blobs WHERE repository_id = ?1 AND digest = ?2",
        params![repository_id, digest],
    )? > 0;
    tx.commit()?;
    Ok(if removed {
        BlobUnlink::Unlinked
    } else {
        BlobUnlink::NotFound
    })
}

/// Every blob recorded as stored, with its size, in digest order.
pub fn blob_records(conn: &Connection) -> Result<Vec<(String, u64)>, StorageError> {
    let mut statement = conn.prepare_cached("SELECT digest, size FROM blobs ORDER BY digest")?;
    let rows = statement.query_map([], |row| Ok((row.get(0)?, row.get::<_, i64>(1)? as u64)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Manifests referencing blobs their repository has no link to.
pub fn dangling_references(conn: &Connection) -> Result<Vec<DanglingReference>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT r.name, mb.manifest_digest, mb.blob_digest FROM manifest_blobs mb
         JOIN repositories r ON r.id = mb.repository_id
         WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb
                           WHERE rb.repository_id = mb.repository_id AND rb.digest = mb.blob_digest)
         ORDER BY r.name, mb.manifest_digest, mb.blob_digest",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(DanglingReference {
            repository: row.get(0)?,
            manifest: row.get(1)?,
            blob: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
