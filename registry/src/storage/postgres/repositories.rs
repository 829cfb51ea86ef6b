//! Repositories: their settings, policies and resource tags.

use berth_model::ecr::ImageTagMutabilityExclusionFilter;
use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use crate::storage::{RepositoryChange, RepositoryRecord, StorageError};

type Result<T> = std::result::Result<T, StorageError>;

/// Creates a repository with its resource tags; `None` when the name is taken.
pub async fn insert_repository(
    client: &mut Client,
    record: &RepositoryRecord,
    tags: &[(String, String)],
) -> Result<Option<i64>> {
    let tx = client.transaction().await?;
    let inserted = tx
        .query_opt(
            "INSERT INTO repositories (name, created_at, image_tag_mutability, scan_on_push, encryption_type, kms_key)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING RETURNING id",
            &[
                &record.name,
                &record.created_at,
                &record.image_tag_mutability,
                &record.scan_on_push,
                &record.encryption_type,
                &record.kms_key,
            ],
        )
        .await?;
    let Some(row) = inserted else {
        return Ok(None);
    };
    let id: i64 = row.get(0);
    upsert_resource_tags(&tx, id, tags).await?;
    replace_exclusion_filters(&tx, id, &record.image_tag_mutability_exclusion_filters).await?;
    tx.commit().await?;
    Ok(Some(id))
}

async fn upsert_resource_tags(
    client: &impl GenericClient,
    id: i64,
    tags: &[(String, String)],
) -> Result<()> {
    let statement = client
        .prepare_cached(
            "INSERT INTO repository_tags (repository_id, key, value) VALUES ($1, $2, $3)
             ON CONFLICT (repository_id, key) DO UPDATE SET value = excluded.value",
        )
        .await?;
    for (key, value) in tags {
        client.execute(&statement, &[&id, key, value]).await?;
    }
    Ok(())
}

async fn replace_exclusion_filters(
    client: &impl GenericClient,
    id: i64,
    filters: &[ImageTagMutabilityExclusionFilter],
) -> Result<()> {
    client
        .execute(
            "DELETE FROM tag_mutability_exclusion_filters WHERE repository_id = $1",
            &[&id],
        )
        .await?;
    let statement = client
        .prepare_cached(
            "INSERT INTO tag_mutability_exclusion_filters (repository_id, position, filter_type, filter)
             VALUES ($1, $2, $3, $4)",
        )
        .await?;
    for (position, filter) in filters.iter().enumerate() {
        client
            .execute(
                &statement,
                &[&id, &(position as i32), &filter.filter_type, &filter.filter],
            )
            .await?;
    }
    Ok(())
}

pub(super) fn repository_from_row(row: &Row) -> Result<RepositoryRecord> {
    let filters: Option<String> = row.get(8);
    let image_tag_mutability_exclusion_filters = match filters {
        Some(json) => serde_json::from_str(&json).map_err(|e| {
            StorageError(format!(
                "a repository's exclusion filters are unreadable: {e}"
            ))
        })?,
        None => Vec::new(),
    };
    Ok(RepositoryRecord {
        image_tag_mutability_exclusion_filters,
        name: row.get(0),
        created_at: row.get(1),
        image_tag_mutability: row.get(2),
        scan_on_push: row.get(3),
        encryption_type: row.get(4),
        kms_key: row.get(5),
        id: row.get(6),
        policy: row.get(7),
    })
}

/// The exclusion filters come as one JSON array in the wire's member names, so a
/// repository is still one row.
pub(super) const REPOSITORY_COLUMNS: &str =
    "r.name, r.created_at, r.image_tag_mutability, r.scan_on_push, r.encryption_type, r.kms_key, r.id,
     p.policy_text,
     (SELECT json_agg(json_build_object('filterType', f.filter_type, 'filter', f.filter)
                      ORDER BY f.position)::TEXT
        FROM tag_mutability_exclusion_filters f WHERE f.repository_id = r.id)";

/// Where [`REPOSITORY_COLUMNS`] come from.
pub(super) const REPOSITORY_TABLES: &str =
    "repositories r LEFT JOIN repository_policies p ON p.repository_id = r.id";

pub async fn find_repository(
    client: &impl GenericClient,
    name: &str,
) -> Result<Option<RepositoryRecord>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM {REPOSITORY_TABLES} WHERE r.name = $1"
        ))
        .await?;
    client
        .query_opt(&statement, &[&name])
        .await?
        .as_ref()
        .map(repository_from_row)
        .transpose()
}

/// Up to `limit` repositories in name order, strictly after `after` (keyset paging).
pub async fn list_repositories(
    client: &impl GenericClient,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RepositoryRecord>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {REPOSITORY_COLUMNS} FROM {REPOSITORY_TABLES}
             WHERE r.name > $1 ORDER BY r.name LIMIT $2"
        ))
        .await?;
    let rows = client
        .query(&statement, &[&after.unwrap_or(""), &(limit as i64)])
        .await?;
    rows.iter().map(repository_from_row).collect()
}

/// Deletes a repository and everything in it (manifests, tags, links, policy).
/// Without `force`, a repository holding images is left alone and `false` returned.
pub async fn delete_repository(client: &mut Client, id: i64, force: bool) -> Result<bool> {
    let tx = client.transaction().await?;
    // Locks the repository row: an image pushed meanwhile waits for the decision.
    let exists = tx
        .query_opt(
            "SELECT 1 FROM repositories WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .await?;
    if exists.is_none() {
        return Ok(true);
    }
    let images: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM manifests WHERE repository_id = $1",
            &[&id],
        )
        .await?
        .get(0);
    if images > 0 && !force {
        return Ok(false);
    }
    tx.execute("DELETE FROM tags WHERE repository_id = $1", &[&id])
        .await?;
    tx.execute(
        "DELETE FROM manifest_children WHERE repository_id = $1",
        &[&id],
    )
    .await?;
    tx.execute("DELETE FROM manifests WHERE repository_id = $1", &[&id])
        .await?;
    tx.execute("DELETE FROM repositories WHERE id = $1", &[&id])
        .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn count_images(client: &impl GenericClient, id: i64) -> Result<u64> {
    let statement = client
        .prepare_cached("SELECT COUNT(*) FROM manifests WHERE repository_id = $1")
        .await?;
    let count: i64 = client.query_one(&statement, &[&id]).await?.get(0);
    Ok(count as u64)
}

pub async fn update_repository(
    client: &mut Client,
    id: i64,
    change: &RepositoryChange,
) -> Result<()> {
    match change {
        RepositoryChange::TagMutability {
            mutability,
            exclusion_filters,
        } => {
            let tx = client.transaction().await?;
            tx.execute(
                "UPDATE repositories SET image_tag_mutability = $2 WHERE id = $1",
                &[&id, mutability],
            )
            .await?;
            replace_exclusion_filters(&tx, id, exclusion_filters).await?;
            tx.commit().await?;
            1
        }
        RepositoryChange::ScanOnPush(scan_on_push) => {
            client
                .execute(
                    "UPDATE repositories SET scan_on_push = $2 WHERE id = $1",
                    &[&id, scan_on_push],
                )
                .await?
        }
        RepositoryChange::Policy(Some(policy_text)) => {
            client
                .execute(
                    "INSERT INTO repository_policies (repository_id, policy_text) VALUES ($1, $2)
                     ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text",
                    &[&id, policy_text],
                )
                .await?
        }
        RepositoryChange::Policy(None) => {
            client
                .execute(
                    "DELETE FROM repository_policies WHERE repository_id = $1",
                    &[&id],
                )
                .await?
        }
    };
    Ok(())
}

pub async fn resource_tags(client: &impl GenericClient, id: i64) -> Result<Vec<(String, String)>> {
    let statement = client
        .prepare_cached(
            "SELECT key, value FROM repository_tags WHERE repository_id = $1 ORDER BY key",
        )
        .await?;
    let rows = client.query(&statement, &[&id]).await?;
    Ok(rows.iter().map(|row| (row.get(0), row.get(1))).collect())
}

pub async fn put_resource_tags(
    client: &mut Client,
    id: i64,
    tags: &[(String, String)],
) -> Result<()> {
    let tx = client.transaction().await?;
    upsert_resource_tags(&tx, id, tags).await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove_resource_tags(
    client: &impl GenericClient,
    id: i64,
    keys: &[String],
) -> Result<()> {
    client
        .execute(
            "DELETE FROM repository_tags WHERE repository_id = $1 AND key = ANY($2)",
            &[&id, &keys],
        )
        .await?;
    Ok(())
}
