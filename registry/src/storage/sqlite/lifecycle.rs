//! Lifecycle policies and their previews.

use rusqlite::{params, Connection, OptionalExtension};

use super::repositories::{repository_from_row, REPOSITORY_COLUMNS};
use super::write_transaction;
use crate::storage::{
    LifecyclePolicyRecord, LifecyclePreviewRecord, PreviewState, RepositoryRecord, StorageError,
};

const RUNNING: &str = "running";
const COMPLETE: &str = "complete";
const FAILED: &str = "failed";

pub fn policy(
    conn: &Connection,
    repository_id: i64,
) -> Result<Option<LifecyclePolicyRecord>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT policy_text, last_evaluated_at FROM lifecycle_policies WHERE repository_id = ?1",
            [repository_id],
            |row| {
                Ok(LifecyclePolicyRecord {
                    text: row.get(0)?,
                    last_evaluated_at: row.get(1)?,
                })
            },
        )
        .optional()?)
}

pub fn put_policy(conn: &Connection, repository_id: i64, text: &str) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO lifecycle_policies (repository_id, policy_text) VALUES (?1, ?2)
         ON CONFLICT (repository_id) DO UPDATE
         SET policy_text = excluded.policy_text, last_evaluated_at = NULL",
        params![repository_id, text],
    )?;
    Ok(())
}

pub fn delete_policy(
    conn: &mut Connection,
    repository_id: i64,
) -> Result<Option<LifecyclePolicyRecord>, StorageError> {
    let tx = write_transaction(conn)?;
    let existing = policy(&tx, repository_id)?;
    tx.execute(
        "DELETE FROM lifecycle_policies WHERE repository_id = ?1",
        [repository_id],
    )?;
    tx.commit()?;
    Ok(existing)
}

pub fn record_evaluation(
    conn: &Connection,
    repository_id: i64,
    text: &str,
    at: f64,
) -> Result<(), StorageError> {
    conn.execute(
        "UPDATE lifecycle_policies SET last_evaluated_at = ?3
         WHERE repository_id = ?1 AND policy_text = ?2",
        params![repository_id, text, at],
    )?;
    Ok(())
}

pub fn policies(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>, StorageError> {
    let mut statement = conn.prepare_cached(&format!(
        "SELECT {REPOSITORY_COLUMNS}, l.policy_text, l.last_evaluated_at
         FROM repositories JOIN lifecycle_policies l ON l.repository_id = repositories.id
         WHERE repositories.name > ?1 ORDER BY repositories.name LIMIT ?2"
    ))?;
    let rows = statement.query_map(params![after.unwrap_or(""), limit as i64], |row| {
        Ok((
            repository_from_row(row)?,
            LifecyclePolicyRecord {
                text: row.get(9)?,
                last_evaluated_at: row.get(10)?,
            },
        ))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn start_preview(
    conn: &mut Connection,
    repository_id: i64,
    policy_text: &str,
    now: f64,
    running_since: f64,
) -> Result<bool, StorageError> {
    let tx = write_transaction(conn)?;
    let running: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM lifecycle_previews
                        WHERE repository_id = ?1 AND state = ?2 AND started_at >= ?3)",
        params![repository_id, RUNNING, running_since],
        |row| row.get(0),
    )?;
    if running {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO lifecycle_previews (repository_id, policy_text, started_at, state, result)
         VALUES (?1, ?2, ?3, ?4, NULL)
         ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text,
             started_at = excluded.started_at, state = excluded.state, result = NULL",
        params![repository_id, policy_text, now, RUNNING],
    )?;
    tx.commit()?;
    Ok(true)
}

pub fn finish_preview(
    conn: &Connection,
    repository_id: i64,
    started_at: f64,
    state: &PreviewState,
) -> Result<(), StorageError> {
    let (name, result) = match state {
        PreviewState::Running => (RUNNING, None),
        PreviewState::Complete(result) => (COMPLETE, Some(result)),
        PreviewState::Failed(why) => (FAILED, Some(why)),
    };
    conn.execute(
        "UPDATE lifecycle_previews SET state = ?3, result = ?4
         WHERE repository_id = ?1 AND started_at = ?2",
        params![repository_id, started_at, name, result],
    )?;
    Ok(())
}

pub fn preview(
    conn: &Connection,
    repository_id: i64,
) -> Result<Option<LifecyclePreviewRecord>, StorageError> {
    let row = conn
        .query_row(
            "SELECT policy_text, started_at, state, result FROM lifecycle_previews
             WHERE repository_id = ?1",
            [repository_id],
            |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, f64>(1)?,
                    row.get::<_, String>(2)?,
                    row.get::<_, Option<String>>(3)?,
                ))
            },
        )
        .optional()?;
    Ok(row.map(|(policy_text, started_at, state, result)| {
        let result = result.unwrap_or_default();
        LifecyclePreviewRecord {
            policy_text,
            started_at,
            state: match state.as_str() {
                RUNNING => PreviewState::Running,
                COMPLETE => PreviewState::Complete(result),
                _ => PreviewState::Failed(result),
            },
        }
    }))
}
