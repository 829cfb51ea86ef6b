//! Lifecycle policies and their previews, shared by every process: a preview started
//! through one process is answered for by all.

use deadpool_postgres::{Client, GenericClient};

use super::repositories::{repository_from_row, REPOSITORY_COLUMNS, REPOSITORY_TABLES};
use crate::storage::{
    LifecyclePolicyRecord, LifecyclePreviewRecord, PreviewState, RepositoryRecord, StorageError,
};

type Result<T> = std::result::Result<T, StorageError>;

const RUNNING: &str = "running";
const COMPLETE: &str = "complete";
const FAILED: &str = "failed";

pub async fn policy(
    client: &impl GenericClient,
    repository_id: i64,
) -> Result<Option<LifecyclePolicyRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT policy_text, last_evaluated_at FROM lifecycle_policies WHERE repository_id = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&repository_id])
        .await?
        .map(|row| LifecyclePolicyRecord {
            text: row.get(0),
            last_evaluated_at: row.get(1),
        }))
}

pub async fn put_policy(client: &impl GenericClient, repository_id: i64, text: &str) -> Result<()> {
    client
        .execute(
            "INSERT INTO lifecycle_policies (repository_id, policy_text) VALUES ($1, $2)
             ON CONFLICT (repository_id) DO UPDATE
             SET policy_text = excluded.policy_text, last_evaluated_at = NULL",
            &[&repository_id, &text],
        )
        .await?;
    Ok(())
}

pub async fn delete_policy(
    client: &impl GenericClient,
    repository_id: i64,
) -> Result<Option<LifecyclePolicyRecord>> {
    Ok(client
        .query_opt(
            "DELETE FROM lifecycle_policies WHERE repository_id = $1
             RETURNING policy_text, last_evaluated_at",
            &[&repository_id],
        )
        .await?
        .map(|row| LifecyclePolicyRecord {
            text: row.get(0),
            last_evaluated_at: row.get(1),
        }))
}

pub async fn record_evaluation(
    client: &impl GenericClient,
    repository_id: i64,
    text: &str,
    at: f64,
) -> Result<()> {
    client
        .execute(
            "UPDATE lifecycle_policies SET last_evaluated_at = $3
             WHERE repository_id = $1 AND policy_text = $2",
            &[&repository_id, &text, &at],
        )
        .await?;
    Ok(())
}

pub async fn policies(
    client: &impl GenericClient,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<(RepositoryRecord, LifecyclePolicyRecord)>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {REPOSITORY_COLUMNS}, l.policy_text, l.last_evaluated_at
             FROM {REPOSITORY_TABLES} JOIN lifecycle_policies l ON l.repository_id = r.id
             WHERE r.name > $1 ORDER BY r.name LIMIT $2",
        ))
        .await?;
    let rows = client
        .query(&statement, &[&after.unwrap_or(""), &(limit as i64)])
        .await?;
    // The policy's columns follow the repository's nine.
    rows.iter()
        .map(|row| {
            Ok((
                repository_from_row(row)?,
                LifecyclePolicyRecord {
                    text: row.get(9),
                    last_evaluated_at: row.get(10),
                },
            ))
        })
        .collect()
}

/// Starts a preview unless one started at or after `running_since` still runs: the
/// repository's preview row is locked for the check and the write, so two processes
/// cannot both start one.
pub async fn start_preview(
    client: &mut Client,
    repository_id: i64,
    policy_text: &str,
    now: f64,
    running_since: f64,
) -> Result<bool> {
    let tx = client.transaction().await?;
    // Locks the repository: two starts for it queue here even before a preview row exists.
    tx.execute(
        "SELECT 1 FROM repositories WHERE id = $1 FOR UPDATE",
        &[&repository_id],
    )
    .await?;
    let running = tx
        .query_opt(
            "SELECT 1 FROM lifecycle_previews
             WHERE repository_id = $1 AND state = $2 AND started_at >= $3",
            &[&repository_id, &RUNNING, &running_since],
        )
        .await?
        .is_some();
    if running {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO lifecycle_previews (repository_id, policy_text, started_at, state, result)
         VALUES ($1, $2, $3, $4, NULL)
         ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text,
             started_at = excluded.started_at, state = excluded.state, result = NULL",
        &[&repository_id, &policy_text, &now, &RUNNING],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn finish_preview(
    client: &impl GenericClient,
    repository_id: i64,
    started_at: f64,
    state: &PreviewState,
) -> Result<()> {
    let (name, result) = match state {
        PreviewState::Running => (RUNNING, None),
        PreviewState::Complete(result) => (COMPLETE, Some(result)),
        PreviewState::Failed(why) => (FAILED, Some(why)),
    };
    client
        .execute(
            "UPDATE lifecycle_previews SET state = $3, result = $4
             WHERE repository_id = $1 AND started_at = $2",
            &[&repository_id, &started_at, &name, &result],
        )
        .await?;
    Ok(())
}

pub async fn preview(
    client: &impl GenericClient,
    repository_id: i64,
) -> Result<Option<LifecyclePreviewRecord>> {
    let row = client
        .query_opt(
            "SELECT policy_text, started_at, state, result FROM lifecycle_previews
             WHERE repository_id = $1",
            &[&repository_id],
        )
        .await?;
    Ok(row.map(|row| {
        let result: String = row.get::<_, Option<String>>(3).unwrap_or_default();
        let state: String = row.get(2);
        LifecyclePreviewRecord {
            policy_text: row.get(0),
            started_at: row.get(1),
            state: match state.as_str() {
                RUNNING => PreviewState::Running,
                COMPLETE => PreviewState::Complete(result),
                _ => PreviewState::Failed(result),
            },
        }
    }))
}
