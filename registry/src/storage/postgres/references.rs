//! The deletions that must not leave anything dangling: an index's child, a blob a
//! manifest needs, and the links an image's deletion leaves behind. Each is one
//! transaction; the rows it decides on are locked, so a push in another process
//! either sees the deletion or is seen by it.

use deadpool_postgres::{Client, GenericClient};

use crate::storage::{BlobUnlink, DanglingReference, ImageDeletion, StorageError, Untag};

type Result<T> = std::result::Result<T, StorageError>;

async fn parents(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<String>> {
    Ok(client
        .query(
            "SELECT parent FROM manifest_children WHERE repository_id = $1 AND child = $2
             ORDER BY parent",
            &[&repository_id, &digest],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect())
}

/// Deletes an image (its manifest, tags and references) unless an index in the
/// repository references it, then unlinks the image's blobs that no remaining
/// manifest references — except links a push renewed after the image was pushed.
async fn delete_image_in(
    tx: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<ImageDeletion> {
    let pushed_at: Option<f64> = tx
        .query_opt(
            "SELECT pushed_at FROM manifests WHERE repository_id = $1 AND digest = $2 FOR UPDATE",
            &[&repository_id, &digest],
        )
        .await?
        .map(|row| row.get(0));
    let Some(pushed_at) = pushed_at else {
        return Ok(ImageDeletion::NotFound);
    };
    let parents = parents(tx, repository_id, digest).await?;
    if !parents.is_empty() {
        return Ok(ImageDeletion::ReferencedBy(parents));
    }
    let blobs: Vec<String> = tx
        .query(
            "SELECT blob_digest FROM manifest_blobs WHERE repository_id = $1 AND manifest_digest = $2",
            &[&repository_id, &digest],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    tx.execute(
        "DELETE FROM tags WHERE repository_id = $1 AND digest = $2",
        &[&repository_id, &digest],
    )
    .await?;
    tx.execute(
        "DELETE FROM manifests WHERE repository_id = $1 AND digest = $2",
        &[&repository_id, &digest],
    )
    .await?;
    if !blobs.is_empty() {
        tx.execute(
            "DELETE FROM repository_blobs rb
             WHERE rb.repository_id = $1 AND rb.digest = ANY($2) AND rb.linked_at <= $3
               AND NOT EXISTS (SELECT 1 FROM manifest_blobs m
                               WHERE m.repository_id = $1 AND m.blob_digest = rb.digest)",
            &[&repository_id, &blobs, &pushed_at],
        )
        .await?;
    }
    Ok(ImageDeletion::Deleted)
}

pub async fn delete_image(
    client: &mut Client,
    repository_id: i64,
    digest: &str,
) -> Result<ImageDeletion> {
    let tx = client.transaction().await?;
    let outcome = delete_image_in(&tx, repository_id, digest).await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Removes a tag. With `delete_untagged`, an image left without tags is deleted
/// too — unless an index references it, in which case nothing changes.
pub async fn untag(
    client: &mut Client,
    repository_id: i64,
    tag: &str,
    delete_untagged: bool,
) -> Result<Untag> {
    let tx = client.transaction().await?;
    let digest: Option<String> = tx
        .query_opt(
            "SELECT digest FROM tags WHERE repository_id = $1 AND tag = $2 FOR UPDATE",
            &[&repository_id, &tag],
        )
        .await?
        .map(|row| row.get(0));
    let Some(digest) = digest else {
        return Ok(Untag::NotFound);
    };
    let others: i64 = tx
        .query_one(
            "SELECT COUNT(*) FROM tags WHERE repository_id = $1 AND digest = $2 AND tag <> $3",
            &[&repository_id, &digest, &tag],
        )
        .await?
        .get(0);
    let outcome = if delete_untagged && others == 0 {
        match delete_image_in(&tx, repository_id, &digest).await? {
            ImageDeletion::ReferencedBy(parents) => return Ok(Untag::ReferencedBy(parents)),
            _ => Untag::ImageDeleted(digest),
        }
    } else {
        tx.execute(
            "DELETE FROM tags WHERE repository_id = $1 AND tag = $2",
            &[&repository_id, &tag],
        )
        .await?;
        Untag::Removed(digest)
    };
    tx.commit().await?;
    Ok(outcome)
}

/// Removes the repository's link to a blob, unless a manifest there references it.
pub async fn unlink_blob(
    client: &mut Client,
    repository_id: i64,
    digest: &str,
) -> Result<BlobUnlink> {
    let tx = client.transaction().await?;
    // The link's row, locked: a manifest PUT that share-locks it waits for this.
    tx.execute(
        "SELECT 1 FROM repository_blobs WHERE repository_id = $1 AND digest = $2 FOR UPDATE",
        &[&repository_id, &digest],
    )
    .await?;
    let manifests: Vec<String> = tx
        .query(
            "SELECT manifest_digest FROM manifest_blobs WHERE repository_id = $1 AND blob_digest = $2
             ORDER BY manifest_digest",
            &[&repository_id, &digest],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !manifests.is_empty() {
        return Ok(BlobUnlink::ReferencedBy(manifests));
    }
    let removed = tx
        .execute(
            "DELETE FROM repository_blobs WHERE repository_id = $1 AND digest = $2",
            &[&repository_id, &digest],
        )
        .await?
        > 0;
    tx.commit().await?;
    Ok(if removed {
        BlobUnlink::Unlinked
    } else {
        BlobUnlink::NotFound
    })
}

/// Every blob recorded as stored, with its size, in digest order.
pub async fn blob_records(client: &impl GenericClient) -> Result<Vec<(String, u64)>> {
    Ok(client
        .query("SELECT digest, size FROM blobs ORDER BY digest", &[])
        .await?
        .iter()
        .map(|row| (row.get(0), row.get::<_, i64>(1) as u64))
        .collect())
}

/// Manifests referencing blobs their repository has no link to.
pub async fn dangling_references(client: &impl GenericClient) -> Result<Vec<DanglingReference>> {
    Ok(client
        .query(
            "SELECT r.name, mb.manifest_digest, mb.blob_digest FROM manifest_blobs mb
             JOIN repositories r ON r.id = mb.repository_id
             WHERE NOT EXISTS (SELECT 1 FROM repository_blobs rb
                               WHERE rb.repository_id = mb.repository_id AND rb.digest = mb.blob_digest)
             ORDER BY r.name, mb.manifest_digest, mb.blob_digest",
            &[],
        )
        .await?
        .iter()
        .map(|row| DanglingReference {
            repository: row.get(0),
            manifest: row.get(1),
            blob: row.get(2),
        })
        .collect())
}
