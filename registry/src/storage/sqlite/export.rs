//! Everything an embedded registry holds, read out for `berth-registry migrate`.

use rusqlite::{params, Connection};

use super::images::{manifest_columns, manifest_from_row};
use super::SqliteMetadata;
use crate::storage::{AccessKey, ManifestRecord, Result, StorageError, TokenRecord};

fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare(sql)?;
    let rows = statement.query_map(params, row)?;
    Ok(rows.collect::<std::result::Result<_, _>>()?)
}

impl SqliteMetadata {
    pub async fn export_settings(&self) -> Result<Vec<(String, String)>> {
        self.call(|c| {
            all(c, "SELECT key, value FROM settings ORDER BY key", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
        })
        .await
    }

    /// Users with when they were created.
    pub async fn export_users(&self) -> Result<Vec<(String, f64)>> {
        self.call(|c| {
            all(
                c,
                "SELECT user_name, created_at FROM users ORDER BY user_name",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
    }

    /// Every access key (the root's and the users'), with when it was created.
    pub async fn export_access_keys(&self) -> Result<Vec<(AccessKey, f64)>> {
        self.call(|c| {
            all(
                c,
                "SELECT access_key_id, secret_access_key, user_name, created_at FROM access_keys
                 ORDER BY created_at",
                [],
                |r| {
                    Ok((
                        AccessKey {
                            access_key_id: r.get(0)?,
                            secret_access_key: r.get(1)?,
                            user_name: r.get(2)?,
                        },
                        r.get(3)?,
                    ))
                },
            )
        })
        .await
    }

    /// Registry tokens that have not expired by `now`, by their hash.
    pub async fn export_tokens(&self, now: f64) -> Result<Vec<(String, TokenRecord)>> {
        self.call(move |c| {
            all(
                c,
                "SELECT token_hash, access_key_id, user_name, expires_at FROM auth_tokens
                 WHERE expires_at >= ?1",
                [now],
                |r| {
                    Ok((
                        r.get(0)?,
                        TokenRecord {
                            access_key_id: r.get(1)?,
                            user_name: r.get(2)?,
                            expires_at: r.get(3)?,
                        },
                    ))
                },
            )
        })
        .await
    }

    /// Every blob: digest, size, when it was first stored.
    pub async fn export_blobs(&self) -> Result<Vec<(String, u64, f64)>> {
        self.call(|c| {
            all(
                c,
                "SELECT digest, size, created_at FROM blobs ORDER BY digest",
                [],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get(2)?)),
            )
        })
        .await
    }

    /// The blobs a repository may serve.
    pub async fn export_repository_blobs(&self, repository_id: i64) -> Result<Vec<String>> {
        self.call(move |c| {
            all(
                c,
                "SELECT digest FROM repository_blobs WHERE repository_id = ?1 ORDER BY digest",
                [repository_id],
                |r| r.get(0),
            )
        })
        .await
    }

    /// The blobs each of a repository's manifests references: (manifest, blob).
    pub async fn export_manifest_blobs(&self, repository_id: i64) -> Result<Vec<(String, String)>> {
        self.call(move |c| {
            all(
                c,
                "SELECT manifest_digest, blob_digest FROM manifest_blobs WHERE repository_id = ?1
                 ORDER BY manifest_digest, blob_digest",
                [repository_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
    }

    /// A repository's manifests, content included, each with its tags.
    pub async fn export_manifests(
        &self,
        repository_id: i64,
    ) -> Result<Vec<(ManifestRecord, Vec<String>)>> {
        self.call(move |c| {
            let manifests = all(
                c,
                &format!(
                    "SELECT {} FROM manifests WHERE repository_id = ?1 ORDER BY digest",
                    manifest_columns()
                ),
                [repository_id],
                manifest_from_row,
            )?;
            let mut tags_of = c.prepare(
                "SELECT tag FROM tags WHERE repository_id = ?1 AND digest = ?2 ORDER BY tag",
            )?;
            let mut out = Vec::with_capacity(manifests.len());
            for manifest in manifests {
                let tags = tags_of
                    .query_map(params![repository_id, manifest.digest], |r| r.get(0))?
                    .collect::<std::result::Result<Vec<String>, _>>()
                    .map_err(StorageError::from)?;
                out.push((manifest, tags));
            }
            Ok::<_, StorageError>(out)
        })
        .await
    }
}
