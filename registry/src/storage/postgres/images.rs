//! Blobs, manifests and tags. Every change that links things is one transaction;
//! foreign keys make a tag pointing at a missing manifest impossible, and row locks
//! keep a concurrent unlink or tag move from slipping between a check and a write.

use deadpool_postgres::{Client, GenericClient};
use tokio_postgres::Row;

use crate::storage::{ManifestRecord, NewManifest, PutManifestError, StorageError, TagStatus};

type Result<T> = std::result::Result<T, StorageError>;

/// The size of a blob the repository may serve.
pub async fn repository_blob(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<Option<u64>> {
    let statement = client
        .prepare_cached(
            "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
             WHERE rb.repository_id = $1 AND rb.digest = $2",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&repository_id, &digest])
        .await?
        .map(|row| row.get::<_, i64>(0) as u64))
}

/// Links a blob from another repository (cross-repository mount); `None` if `from` lacks it.
pub async fn mount_blob(
    client: &impl GenericClient,
    repository_id: i64,
    from_repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<Option<u64>> {
    // One statement: the link is made only if `from` has the blob at that moment.
    let statement = client
        .prepare_cached(
            "WITH source AS (
                 SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest
                 WHERE rb.repository_id = $2 AND rb.digest = $3 FOR KEY SHARE OF rb
             ), linked AS (
                 INSERT INTO repository_blobs (repository_id, digest, linked_at)
                 SELECT $1, $3, $4 FROM source
                 ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = excluded.linked_at
             )
             SELECT size FROM source",
        )
        .await?;
    Ok(client
        .query_opt(
            &statement,
            &[&repository_id, &from_repository_id, &digest, &now],
        )
        .await?
        .map(|row| row.get::<_, i64>(0) as u64))
}

/// The size of a blob the repository may serve, recording that a push relies on the
/// link now. The link is renewed only when a manifest referencing the blob was pushed
/// since it last was, which is exactly when deleting that manifest would unlink it:
/// one write per image, not one per check.
pub async fn claim_blob(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<Option<u64>> {
    let size = repository_blob(client, repository_id, digest).await?;
    if size.is_some() {
        let renew = client
            .prepare_cached(
                "UPDATE repository_blobs SET linked_at = $3
                 WHERE repository_id = $1 AND digest = $2
                   AND linked_at <= (SELECT COALESCE(MAX(m.pushed_at), -1) FROM manifest_blobs mb
                                     JOIN manifests m ON m.repository_id = mb.repository_id
                                                     AND m.digest = mb.manifest_digest
                                     WHERE mb.repository_id = $1 AND mb.blob_digest = $2)",
            )
            .await?;
        client
            .execute(&renew, &[&repository_id, &digest, &now])
            .await?;
    }
    Ok(size)
}

const MANIFEST_COLUMNS: &str =
    "digest, media_type, artifact_type, content, image_size, pushed_at, last_pulled_at, subject";

fn manifest_from_row(row: &Row) -> ManifestRecord {
    ManifestRecord {
        digest: row.get(0),
        media_type: row.get(1),
        artifact_type: row.get(2),
        content: row.get(3),
        image_size: row.get::<_, i64>(4) as u64,
        pushed_at: row.get(5),
        last_pulled_at: row.get(6),
        subject: row.get(7),
    }
}

pub async fn find_manifest(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<Option<ManifestRecord>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND digest = $2"
        ))
        .await?;
    Ok(client
        .query_opt(&statement, &[&repository_id, &digest])
        .await?
        .as_ref()
        .map(manifest_from_row))
}

pub async fn resolve_tag(
    client: &impl GenericClient,
    repository_id: i64,
    tag: &str,
) -> Result<Option<String>> {
    let statement = client
        .prepare_cached("SELECT digest FROM tags WHERE repository_id = $1 AND tag = $2")
        .await?;
    Ok(client
        .query_opt(&statement, &[&repository_id, &tag])
        .await?
        .map(|row| row.get(0)))
}

/// Stores a manifest and (optionally) points a tag at it, atomically. Its blobs and
/// children must already be in the repository; they are share-locked until commit
/// so that an unlink or delete cannot remove them in between.
pub async fn put_manifest(
    client: &mut Client,
    repository_id: i64,
    manifest: &NewManifest,
) -> std::result::Result<(), PutManifestError> {
    let NewManifest {
        record,
        blobs,
        children,
        tag,
        tag_immutable,
    } = manifest;
    let tx = client.transaction().await?;
    if !blobs.is_empty() {
        let present = tx
            .prepare_cached(
                "SELECT digest FROM repository_blobs WHERE repository_id = $1 AND digest = ANY($2)
                 FOR KEY SHARE",
            )
            .await?;
        let found: Vec<String> = tx
            .query(&present, &[&repository_id, blobs])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(missing) = blobs.iter().find(|d| !found.contains(d)) {
            return Err(PutManifestError::MissingBlob(missing.clone()));
        }
    }
    if !children.is_empty() {
        let present = tx
            .prepare_cached(
                "SELECT digest FROM manifests WHERE repository_id = $1 AND digest = ANY($2)
                 FOR KEY SHARE",
            )
            .await?;
        let found: Vec<String> = tx
            .query(&present, &[&repository_id, children])
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
        if let Some(missing) = children.iter().find(|d| !found.contains(d)) {
            return Err(PutManifestError::MissingManifest(missing.clone()));
        }
    }
    let insert = tx
        .prepare_cached(
            "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, content, image_size, pushed_at, subject)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &repository_id,
            &record.digest,
            &record.media_type,
            &record.artifact_type,
            &record.content,
            &(record.image_size as i64),
            &record.pushed_at,
            &record.subject,
        ],
    )
    .await?;
    if !children.is_empty() {
        let references = tx
            .prepare_cached(
                "INSERT INTO manifest_children (repository_id, parent, child)
                 SELECT $1, $2, unnest($3::TEXT[]) ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&references, &[&repository_id, &record.digest, children])
            .await?;
    }
    if !blobs.is_empty() {
        let references = tx
            .prepare_cached(
                "INSERT INTO manifest_blobs (repository_id, manifest_digest, blob_digest)
                 SELECT $1, $2, unnest($3::TEXT[]) ON CONFLICT DO NOTHING",
            )
            .await?;
        tx.execute(&references, &[&repository_id, &record.digest, blobs])
            .await?;
    }
    if let Some(tag) = tag {
        if *tag_immutable {
            // Insert-or-keep, then compare: two processes racing to create the same
            // immutable tag cannot both win, as a read-then-write could.
            let create = tx
                .prepare_cached(
                    "INSERT INTO tags (repository_id, tag, digest) VALUES ($1, $2, $3)
                     ON CONFLICT (repository_id, tag) DO NOTHING",
                )
                .await?;
            if tx
                .execute(&create, &[&repository_id, tag, &record.digest])
                .await?
                == 0
                && resolve_tag(&tx, repository_id, tag).await?.as_deref()
                    != Some(record.digest.as_str())
            {
                return Err(PutManifestError::TagImmutable(tag.to_string()));
            }
        } else {
            let upsert = tx
                .prepare_cached(
                    "INSERT INTO tags (repository_id, tag, digest) VALUES ($1, $2, $3)
                     ON CONFLICT (repository_id, tag) DO UPDATE SET digest = excluded.digest",
                )
                .await?;
            tx.execute(&upsert, &[&repository_id, tag, &record.digest])
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The image sizes of child manifests, for an index's total.
pub async fn manifests_size(
    client: &impl GenericClient,
    repository_id: i64,
    digests: &[String],
) -> Result<u64> {
    // Each listed child counts once per mention, as the embedded store adds them.
    let statement = client
        .prepare_cached(
            "SELECT COALESCE(SUM(m.image_size), 0)::BIGINT FROM unnest($2::TEXT[]) AS d(digest)
             JOIN manifests m ON m.repository_id = $1 AND m.digest = d.digest",
        )
        .await?;
    let total: i64 = client
        .query_one(&statement, &[&repository_id, &digests])
        .await?
        .get(0);
    Ok(total as u64)
}

/// Tags in byte order, strictly after `after`.
pub async fn list_tags(
    client: &impl GenericClient,
    repository_id: i64,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>> {
    let statement = client
        .prepare_cached(
            "SELECT tag FROM tags WHERE repository_id = $1 AND tag > $2 ORDER BY tag LIMIT $3",
        )
        .await?;
    let rows = client
        .query(
            &statement,
            &[&repository_id, &after.unwrap_or(""), &(limit as i64)],
        )
        .await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub async fn tags_of(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<String>> {
    let statement = client
        .prepare_cached(
            "SELECT tag FROM tags WHERE repository_id = $1 AND digest = $2 ORDER BY tag",
        )
        .await?;
    let rows = client.query(&statement, &[&repository_id, &digest]).await?;
    Ok(rows.iter().map(|row| row.get(0)).collect())
}

pub async fn record_pull(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
    now: f64,
) -> Result<()> {
    let statement = client
        .prepare_cached(
            // Several processes record pulls: never move the time backwards.
            "UPDATE manifests SET last_pulled_at = GREATEST(COALESCE(last_pulled_at, 0), $3)
             WHERE repository_id = $1 AND digest = $2",
        )
        .await?;
    client
        .execute(&statement, &[&repository_id, &digest, &now])
        .await?;
    Ok(())
}

/// Manifests in digest order after `after`, with their tags (content left empty).
pub async fn list_images(
    client: &impl GenericClient,
    repository_id: i64,
    after: Option<&str>,
    limit: usize,
    status: TagStatus,
) -> Result<Vec<(ManifestRecord, Vec<String>)>> {
    let filter = match status {
        TagStatus::Tagged => {
            "AND EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)"
        }
        TagStatus::Untagged => {
            "AND NOT EXISTS (SELECT 1 FROM tags t WHERE t.repository_id = m.repository_id AND t.digest = m.digest)"
        }
        TagStatus::Any => "",
    };
    let statement = client
        .prepare_cached(&format!(
            "SELECT m.digest, m.media_type, m.artifact_type, ''::BYTEA, m.image_size, m.pushed_at,
                    m.last_pulled_at, m.subject,
                    ARRAY(SELECT tag FROM tags t WHERE t.repository_id = m.repository_id
                          AND t.digest = m.digest ORDER BY tag)
             FROM manifests m WHERE m.repository_id = $1 AND m.digest > $2 {filter}
             ORDER BY m.digest LIMIT $3"
        ))
        .await?;
    let rows = client
        .query(
            &statement,
            &[&repository_id, &after.unwrap_or(""), &(limit as i64)],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (manifest_from_row(row), row.get::<_, Vec<String>>(8)))
        .collect())
}

/// Manifests whose `subject` is `digest`.
pub async fn referrers(
    client: &impl GenericClient,
    repository_id: i64,
    digest: &str,
) -> Result<Vec<ManifestRecord>> {
    let statement = client
        .prepare_cached(&format!(
            "SELECT {MANIFEST_COLUMNS} FROM manifests WHERE repository_id = $1 AND subject = $2
             ORDER BY digest"
        ))
        .await?;
    let rows = client.query(&statement, &[&repository_id, &digest]).await?;
    Ok(rows.iter().map(manifest_from_row).collect())
}
