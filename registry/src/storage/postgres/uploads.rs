//! Upload sessions and their parts (object stores store each chunk whole).

use deadpool_postgres::{Client, GenericClient};

use crate::storage::{StorageError, UploadPart};

type Result<T> = std::result::Result<T, StorageError>;

pub async fn create_upload(
    client: &impl GenericClient,
    id: &str,
    repository_id: i64,
    now: f64,
) -> Result<()> {
    let statement = client
        .prepare_cached("INSERT INTO uploads (id, repository_id, started_at) VALUES ($1, $2, $3)")
        .await?;
    client
        .execute(&statement, &[&id, &repository_id, &now])
        .await?;
    Ok(())
}

/// The repository an upload session belongs to.
pub async fn find_upload(client: &impl GenericClient, id: &str) -> Result<Option<i64>> {
    let statement = client
        .prepare_cached("SELECT repository_id FROM uploads WHERE id = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&id])
        .await?
        .map(|row| row.get(0)))
}

/// Forgets the session; its parts go with it (foreign key cascade).
pub async fn delete_upload(client: &impl GenericClient, id: &str) -> Result<bool> {
    let statement = client
        .prepare_cached("DELETE FROM uploads WHERE id = $1")
        .await?;
    Ok(client.execute(&statement, &[&id]).await? > 0)
}

pub async fn upload_parts(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<Vec<UploadPart>>> {
    // One statement: the session and its parts as of one snapshot.
    let statement = client
        .prepare_cached(
            "SELECT p.offset_in_upload, p.size, p.key, p.digest
             FROM uploads u LEFT JOIN upload_parts p ON p.upload_id = u.id
             WHERE u.id = $1 ORDER BY p.offset_in_upload",
        )
        .await?;
    let rows = client.query(&statement, &[&id]).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        rows.iter()
            .filter_map(|row| {
                Some(UploadPart {
                    offset: row.get::<_, Option<i64>>(0)? as u64,
                    size: row.get::<_, i64>(1) as u64,
                    key: row.get(2),
                    digest: row.get(3),
                })
            })
            .collect(),
    ))
}

/// Records a part where the upload ends. The session row is locked for the check
/// and the write, so two processes cannot both claim the same offset.
pub async fn add_upload_part(client: &mut Client, id: &str, part: &UploadPart) -> Result<bool> {
    let tx = client.transaction().await?;
    let size: Option<i64> = tx
        .query_opt("SELECT size FROM uploads WHERE id = $1 FOR UPDATE", &[&id])
        .await?
        .map(|row| row.get(0));
    if size != Some(part.offset as i64) {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO upload_parts (upload_id, offset_in_upload, size, key, digest)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            &id,
            &(part.offset as i64),
            &(part.size as i64),
            &part.key,
            &part.digest,
        ],
    )
    .await?;
    tx.execute(
        "UPDATE uploads SET size = size + $2 WHERE id = $1",
        &[&id, &(part.size as i64)],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
