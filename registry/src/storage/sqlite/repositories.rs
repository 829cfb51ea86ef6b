//! Repositories: their settings, policies and resource tags.

use berth_model::ecr::ImageTagMutabilityExclusionFilter;
use rusqlite::{params, Connection, OptionalExtension};

use crate::storage::{RepositoryChange, RepositoryRecord, StorageError};

/// Creates a repository with its resource tags; `None` when the name is taken.
pub fn insert_repository(
    conn: &mut Connection,
    record: &RepositoryRecord,
    tags: &[(String, String)],
) -> Result<Option<i64>, StorageError> {
    let tx = conn.transaction()?;
    let inserted = tx.execute(
        "INSERT INTO repositories (name, created_at, image_tag_mutability, scan_on_push, encryption_type, kms_key)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(name) DO NOTHING",
        params![
            record.name,
            record.created_at,
            record.image_tag_mutability,
            record.scan_on_push,
            record.encryption_type,
            record.kms_key
        ],
    )?;
    if inserted == 0 {
        return Ok(None);
    }
    let id = tx.last_insert_rowid();
    replace_exclusion_filters(&tx, id, &record.image_tag_mutability_exclusion_filters)?;
    upsert_resource_tags(&tx, id, tags)?;
    tx.commit()?;
    Ok(Some(id))
}

fn upsert_resource_tags(
    conn: &Connection,
    id: i64,
    tags: &[(String, String)],
) -> Result<(), StorageError> {
    let mut statement = conn.prepare_cached(
        "INSERT INTO repository_tags (repository_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (repository_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in tags {
        statement.execute(params![id, key, value])?;
    }
    Ok(())
}

fn replace_exclusion_filters(
    conn: &Connection,
    id: i64,
    filters: &[ImageTagMutabilityExclusionFilter],
) -> Result<(), StorageError> {
    conn.execute(
        "DELETE FROM tag_mutability_exclusion_filters WHERE repository_id = ?1",
        [id],
    )?;
    let mut statement = conn.prepare_cached(
        "INSERT INTO tag_mutability_exclusion_filters (repository_id, position, filter_type, filter)
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, filter) in filters.iter().enumerate() {
        statement.execute(params![
            id,
            position as i64,
            filter.filter_type,
            filter.filter
        ])?;
    }
    Ok(())
}

pub(super) fn repository_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RepositoryRecord> {
    let filters: Option<String> = row.get(8)?;
    let image_tag_mutability_exclusion_filters = match filters {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(8, rusqlite::types::Type::Text, Box::new(e))
        })?,
        None => Vec::new(),
    };
    Ok(RepositoryRecord {
        name: row.get(0)?,
        created_at: row.get(1)?,
        image_tag_mutability: row.get(2)?,
        image_tag_mutability_exclusion_filters,
        scan_on_push: row.get(3)?,
        encryption_type: row.get(4)?,
        kms_key: row.get(5)?,
        id: row.get(6)?,
        policy: row.get(7)?,
    })
}

/// The exclusion filters come as one JSON array in the wire's member names, so a
/// repository is still one row.
pub(super) const REPOSITORY_COLUMNS: &str =
    "name, created_at, image_tag_mutability, scan_on_push, encryption_type, kms_key, id,
     (SELECT policy_text FROM repository_policies p WHERE p.repository_id = repositories.id),
     (SELECT CASE WHEN count(*) > 0
             THEN json_group_array(json_object('filterType', filter_type, 'filter', filter)) END
        FROM (SELECT filter_type, filter FROM tag_mutability_exclusion_filters f
              WHERE f.repository_id = repositories.id ORDER BY position))";

pub fn find_repository(
    conn: &Connection,
    name: &str,
) -> Result<Option<RepositoryRecord>, StorageError> {
    Ok(conn
        .prepare_cached(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE name = ?1"
        ))?
        .query_row([name], repository_from_row)
        .optional()?)
}

/// Up to `limit` repositories in name order, strictly after `after` (keyset paging:
/// a page boundary stays valid while repositories are created or deleted).
pub fn list_repositories(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RepositoryRecord>, StorageError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE name > ?1 ORDER BY name LIMIT ?2"
    ))?;
    let rows = statement.query_map(
        params![after.unwrap_or(""), limit as i64],
        repository_from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes a repository and everything in it (manifests, tags, links, policy).
/// Without `force`, a repository holding images is left alone and `false` returned.
pub fn delete_repository(
    conn: &mut Connection,
    id: i64,
    force: bool,
) -> Result<bool, StorageError> {
    let tx = super::write_transaction(conn)?;
    let images: i64 = tx.query_row(
        "SELECT COUNT(*) FROM manifests WHERE repository_id = ?1",
        [id],
        |row| row.get(0),
    )?;
    if images > 0 && !force {
        return Ok(false);
    }
    tx.execute("DELETE FROM tags WHERE repository_id = ?1", [id])?;
    tx.execute("DELETE FROM manifests WHERE repository_id = ?1", [id])?;
    tx.execute("DELETE FROM repositories WHERE id = ?1", [id])?;
    tx.commit()?;
    Ok(true)
}

pub fn count_images(conn: &Connection, id: i64) -> Result<u64, StorageError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM manifests WHERE repository_id = ?1",
        [id],
        |row| row.get::<_, i64>(0),
    )? as u64)
}

pub fn update_repository(
    conn: &mut Connection,
    id: i64,
    change: &RepositoryChange,
) -> Result<(), StorageError> {
    match change {
        RepositoryChange::TagMutability {
            mutability,
            exclusion_filters,
        } => {
            let tx = super::write_transaction(conn)?;
            tx.execute(
                "UPDATE repositories SET image_tag_mutability = ?2 WHERE id = ?1",
                params![id, mutability],
            )?;
            replace_exclusion_filters(&tx, id, exclusion_filters)?;
            tx.commit()?;
            1
        }
        RepositoryChange::ScanOnPush(scan_on_push) => conn.execute(
            "UPDATE repositories SET scan_on_push = ?2 WHERE id = ?1",
            params![id, scan_on_push],
        )?,
        RepositoryChange::Policy(Some(policy_text)) => conn.execute(
            "INSERT INTO repository_policies (repository_id, policy_text) VALUES (?1, ?2)
             ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text",
            params![id, policy_text],
        )?,
        RepositoryChange::Policy(None) => conn.execute(
            "DELETE FROM repository_policies WHERE repository_id = ?1",
            [id],
        )?,
    };
    Ok(())
}

pub fn resource_tags(conn: &Connection, id: i64) -> Result<Vec<(String, String)>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT key, value FROM repository_tags WHERE repository_id = ?1 ORDER BY key",
    )?;
    let rows = statement.query_map([id], |row| Ok((row.get(0)?, row.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn put_resource_tags(
    conn: &mut Connection,
    id: i64,
    tags: &[(String, String)],
) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    upsert_resource_tags(&tx, id, tags)?;
    tx.commit()?;
    Ok(())
}

pub fn remove_resource_tags(
    conn: &mut Connection,
    id: i64,
    keys: &[String],
) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    for key in keys {
        tx.execute(
            "DELETE FROM repository_tags WHERE repository_id = ?1 AND key = ?2",
            params![id, key],
        )?;
    }
    tx.commit()?;
    Ok(())
}
