//! Upload sessions and, for blob stores that cannot append, their parts.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::storage::{StorageError, UploadPart};

pub fn create_upload(
    conn: &Connection,
    id: &str,
    repository_id: i64,
    now: f64,
) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO uploads (id, repository_id, started_at) VALUES (?1, ?2, ?3)",
        params![id, repository_id, now],
    )?;
    Ok(())
}

/// The repository an upload session belongs to.
pub fn find_upload(conn: &Connection, id: &str) -> Result<Option<i64>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT repository_id FROM uploads WHERE id = ?1",
            [id],
            |row| row.get(0),
        )
        .optional()?)
}

/// Forgets the session; its parts go with it (foreign key cascade).
pub fn delete_upload(conn: &Connection, id: &str) -> Result<bool, StorageError> {
    Ok(conn.execute("DELETE FROM uploads WHERE id = ?1", [id])? > 0)
}

pub fn upload_parts(conn: &Connection, id: &str) -> Result<Option<Vec<UploadPart>>, StorageError> {
    if find_upload(conn, id)?.is_none() {
        return Ok(None);
    }
    let mut statement = conn.prepare_cached(
        "SELECT offset_in_upload, size, key, digest FROM upload_parts
         WHERE upload_id = ?1 ORDER BY offset_in_upload",
    )?;
    let rows = statement.query_map([id], |row| {
        Ok(UploadPart {
            offset: row.get::<_, i64>(0)? as u64,
            size: row.get::<_, i64>(1)? as u64,
            key: row.get(2)?,
            digest: row.get(3)?,
        })
    })?;
    Ok(Some(rows.collect::<Result<_, _>>()?))
}

/// Records a part where the upload ends, in one immediate transaction so that two
/// writers cannot both claim the same offset.
pub fn add_upload_part(
    conn: &mut Connection,
    id: &str,
    part: &UploadPart,
) -> Result<bool, StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let size: Option<i64> = tx
        .query_row("SELECT size FROM uploads WHERE id = ?1", [id], |row| {
            row.get(0)
        })
        .optional()?;
    if size != Some(part.offset as i64) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO upload_parts (upload_id, offset_in_upload, size, key, digest)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            part.offset as i64,
            part.size as i64,
            part.key,
            part.digest
        ],
    )?;
    tx.execute(
        "UPDATE uploads SET size = size + ?2 WHERE id = ?1",
        params![id, part.size as i64],
    )?;
    tx.commit()?;
    Ok(true)
}
