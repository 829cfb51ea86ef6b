//! Metadata in SQLite: repositories, their tags, and access keys.
//!
//! WAL mode and a busy timeout let `berth-registry user add` write to the same
//! database while `serve` runs; keys are read per request, so a new key works at once.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};

use crate::error::EcrError;

pub mod images;
pub mod tokens;

pub const DATABASE_FILE: &str = "berth.db";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS access_keys (
    access_key_id     TEXT PRIMARY KEY,
    secret_access_key TEXT NOT NULL,
    -- NULL for the account's root (admin) key.
    user_name         TEXT,
    created_at        REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS users (
    user_name  TEXT PRIMARY KEY,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repositories (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    created_at           REAL NOT NULL,
    image_tag_mutability TEXT NOT NULL,
    scan_on_push         INTEGER NOT NULL,
    encryption_type      TEXT NOT NULL,
    kms_key              TEXT
);
CREATE TABLE IF NOT EXISTS blobs (
    digest     TEXT PRIMARY KEY,
    size       INTEGER NOT NULL,
    created_at REAL NOT NULL
);
-- Which repositories may serve a blob: pushed or mounted there.
CREATE TABLE IF NOT EXISTS repository_blobs (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest        TEXT NOT NULL REFERENCES blobs(digest),
    PRIMARY KEY (repository_id, digest)
);
CREATE TABLE IF NOT EXISTS manifests (
    repository_id  INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    digest         TEXT NOT NULL,
    media_type     TEXT NOT NULL,
    artifact_type  TEXT,
    content        BLOB NOT NULL,
    image_size     INTEGER NOT NULL,
    pushed_at      REAL NOT NULL,
    last_pulled_at REAL,
    subject        TEXT,
    PRIMARY KEY (repository_id, digest)
);
CREATE INDEX IF NOT EXISTS manifests_by_subject ON manifests (repository_id, subject);
CREATE TABLE IF NOT EXISTS tags (
    repository_id INTEGER NOT NULL,
    tag           TEXT NOT NULL,
    digest        TEXT NOT NULL,
    PRIMARY KEY (repository_id, tag),
    FOREIGN KEY (repository_id, digest) REFERENCES manifests (repository_id, digest) ON DELETE CASCADE
);
-- Covers "the tags of this image, in order": without the tag column SQLite walks
-- every tag of the repository per image (200 ms per DescribeImages page at 10,000 tags).
DROP INDEX IF EXISTS tags_by_digest;
CREATE INDEX IF NOT EXISTS tags_by_image ON tags (repository_id, digest, tag);
CREATE TABLE IF NOT EXISTS uploads (
    id            TEXT PRIMARY KEY,
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    started_at    REAL NOT NULL
);
-- Registry tokens from GetAuthorizationToken; only their SHA-256 is kept.
CREATE TABLE IF NOT EXISTS auth_tokens (
    token_hash    TEXT PRIMARY KEY,
    access_key_id TEXT NOT NULL,
    user_name     TEXT,
    expires_at    REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_policies (
    repository_id INTEGER PRIMARY KEY REFERENCES repositories(id) ON DELETE CASCADE,
    policy_text   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS repository_tags (
    repository_id INTEGER NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
    key           TEXT NOT NULL,
    value         TEXT NOT NULL,
    PRIMARY KEY (repository_id, key)
);
"#;

#[derive(Debug, Clone, PartialEq)]
pub struct AccessKey {
    pub access_key_id: String,
    pub secret_access_key: String,
    /// `None` for the root (admin) key.
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RepositoryRecord {
    pub id: i64,
    /// The repository policy document, when one is set.
    pub policy: Option<String>,
    pub name: String,
    pub created_at: f64,
    pub image_tag_mutability: String,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the metadata database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("metadata store error: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("a user named '{0}' already exists")]
    UserExists(String),
    #[error("repository '{0}' already exists")]
    RepositoryExists(String),
}

impl From<StoreError> for EcrError {
    fn from(error: StoreError) -> Self {
        EcrError::server(error.to_string())
    }
}

/// A handle to the metadata database; cheap to clone.
#[derive(Clone)]
pub struct Store {
    connection: Arc<Mutex<Connection>>,
}

impl Store {
    pub fn open(data_dir: &Path) -> Result<Store, StoreError> {
        let path = data_dir.join(DATABASE_FILE);
        let open_error = |source| StoreError::Open {
            path: path.display().to_string(),
            source,
        };
        let connection = Connection::open(&path).map_err(open_error)?;
        connection
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(open_error)?;
        connection
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
            )
            .map_err(open_error)?;
        connection.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(Store {
            connection: Arc::new(Mutex::new(connection)),
        })
    }

    /// Runs `f` with the connection on a blocking thread, off the async runtime.
    pub async fn call<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, E> + Send + 'static,
    {
        let connection = self.connection.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = connection
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard)
        })
        .await
        .unwrap_or_else(|join_error| std::panic::resume_unwind(join_error.into_panic()))
    }

    /// The same as [`Store::call`], for callers outside the runtime (the CLI).
    pub fn with<T>(&self, f: impl FnOnce(&mut Connection) -> T) -> T {
        let mut guard = self
            .connection
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }
}

pub fn now_epoch_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

pub fn find_access_key(
    conn: &Connection,
    access_key_id: &str,
) -> Result<Option<AccessKey>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT access_key_id, secret_access_key, user_name FROM access_keys WHERE access_key_id = ?1",
            [access_key_id],
            |row| Ok(AccessKey { access_key_id: row.get(0)?, secret_access_key: row.get(1)?, user_name: row.get(2)? }),
        )
        .optional()?)
}

pub fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub fn put_setting(conn: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn root_access_key(conn: &Connection) -> Result<Option<AccessKey>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT access_key_id, secret_access_key FROM access_keys WHERE user_name IS NULL
             ORDER BY created_at DESC LIMIT 1",
            [],
            |row| {
                Ok(AccessKey {
                    access_key_id: row.get(0)?,
                    secret_access_key: row.get(1)?,
                    user_name: None,
                })
            },
        )
        .optional()?)
}

/// Makes `key` the root key (replacing its secret if the id exists).
pub fn put_root_access_key(conn: &Connection, key: &AccessKey) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
         VALUES (?1, ?2, NULL, ?3)
         ON CONFLICT(access_key_id) DO UPDATE SET secret_access_key = excluded.secret_access_key,
                                                  user_name = NULL, created_at = excluded.created_at",
        params![key.access_key_id, key.secret_access_key, now_epoch_seconds()],
    )?;
    Ok(())
}

/// Adds a user and its first access key in one transaction.
pub fn add_user(conn: &mut Connection, user_name: &str, key: &AccessKey) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let now = now_epoch_seconds();
    let inserted = tx.execute(
        "INSERT INTO users (user_name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![user_name, now],
    )?;
    if inserted == 0 {
        return Err(StoreError::UserExists(user_name.to_string()));
    }
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key.access_key_id, key.secret_access_key, user_name, now],
    )?;
    tx.commit()?;
    Ok(())
}

pub fn insert_repository(
    conn: &mut Connection,
    record: &RepositoryRecord,
    tags: &[(String, String)],
) -> Result<i64, StoreError> {
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
        return Err(StoreError::RepositoryExists(record.name.clone()));
    }
    let id = tx.last_insert_rowid();
    upsert_resource_tags(&tx, id, tags)?;
    tx.commit()?;
    Ok(id)
}

fn upsert_resource_tags(
    conn: &Connection,
    id: i64,
    tags: &[(String, String)],
) -> Result<(), StoreError> {
    let mut statement = conn.prepare_cached(
        "INSERT INTO repository_tags (repository_id, key, value) VALUES (?1, ?2, ?3)
         ON CONFLICT (repository_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in tags {
        statement.execute(params![id, key, value])?;
    }
    Ok(())
}

fn repository_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<RepositoryRecord> {
    Ok(RepositoryRecord {
        name: row.get(0)?,
        created_at: row.get(1)?,
        image_tag_mutability: row.get(2)?,
        scan_on_push: row.get(3)?,
        encryption_type: row.get(4)?,
        kms_key: row.get(5)?,
        id: row.get(6)?,
        policy: row.get(7)?,
    })
}

const REPOSITORY_COLUMNS: &str =
    "name, created_at, image_tag_mutability, scan_on_push, encryption_type, kms_key, id,
     (SELECT policy_text FROM repository_policies p WHERE p.repository_id = repositories.id)";

pub fn find_repository(
    conn: &Connection,
    name: &str,
) -> Result<Option<RepositoryRecord>, StoreError> {
    Ok(conn
        .query_row(
            &format!("SELECT {REPOSITORY_COLUMNS} FROM repositories WHERE name = ?1"),
            [name],
            repository_from_row,
        )
        .optional()?)
}

/// Up to `limit` repositories in name order, strictly after `after` (keyset paging:
/// a page boundary stays valid while repositories are created or deleted).
pub fn list_repositories(
    conn: &Connection,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RepositoryRecord>, StoreError> {
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
pub fn delete_repository(conn: &mut Connection, id: i64, force: bool) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
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

pub fn count_images(conn: &Connection, id: i64) -> Result<u64, StoreError> {
    Ok(conn.query_row(
        "SELECT COUNT(*) FROM manifests WHERE repository_id = ?1",
        [id],
        |row| row.get::<_, i64>(0),
    )? as u64)
}

pub fn set_tag_mutability(conn: &Connection, id: i64, mutability: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE repositories SET image_tag_mutability = ?2 WHERE id = ?1",
        params![id, mutability],
    )?;
    Ok(())
}

pub fn set_scan_on_push(conn: &Connection, id: i64, scan_on_push: bool) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE repositories SET scan_on_push = ?2 WHERE id = ?1",
        params![id, scan_on_push],
    )?;
    Ok(())
}

pub fn set_policy(conn: &Connection, id: i64, policy_text: &str) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO repository_policies (repository_id, policy_text) VALUES (?1, ?2)
         ON CONFLICT (repository_id) DO UPDATE SET policy_text = excluded.policy_text",
        params![id, policy_text],
    )?;
    Ok(())
}

pub fn delete_policy(conn: &Connection, id: i64) -> Result<bool, StoreError> {
    Ok(conn.execute(
        "DELETE FROM repository_policies WHERE repository_id = ?1",
        [id],
    )? > 0)
}

pub fn resource_tags(conn: &Connection, id: i64) -> Result<Vec<(String, String)>, StoreError> {
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
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    upsert_resource_tags(&tx, id, tags)?;
    tx.commit()?;
    Ok(())
}

pub fn remove_resource_tags(
    conn: &mut Connection,
    id: i64,
    keys: &[String],
) -> Result<(), StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> RepositoryRecord {
        RepositoryRecord {
            id: 0,
            policy: None,
            name: name.into(),
            created_at: 1.5,
            image_tag_mutability: "MUTABLE".into(),
            scan_on_push: true,
            encryption_type: "AES256".into(),
            kms_key: None,
        }
    }

    #[test]
    fn repositories_page_by_name_and_refuse_duplicates() {
        let dir = tempdir();
        let store = Store::open(&dir).unwrap();
        store.with(|conn| {
            for name in ["c", "a", "b"] {
                insert_repository(conn, &record(name), &[]).unwrap();
            }
            assert!(matches!(
                insert_repository(conn, &record("a"), &[]),
                Err(StoreError::RepositoryExists(_))
            ));
            let first = list_repositories(conn, None, 2).unwrap();
            assert_eq!(
                first.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                ["a", "b"]
            );
            let rest = list_repositories(conn, Some("b"), 2).unwrap();
            assert_eq!(
                rest.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
                ["c"]
            );
            let found = find_repository(conn, "b").unwrap().unwrap();
            assert_eq!(
                found,
                RepositoryRecord {
                    id: found.id,
                    ..record("b")
                }
            );
        });
    }

    #[test]
    fn users_are_unique_and_keys_found() {
        let dir = tempdir();
        let store = Store::open(&dir).unwrap();
        store.with(|conn| {
            let key = AccessKey {
                access_key_id: "AKIA1".into(),
                secret_access_key: "s".into(),
                user_name: Some("ci".into()),
            };
            add_user(conn, "ci", &key).unwrap();
            assert!(matches!(
                add_user(conn, "ci", &key),
                Err(StoreError::UserExists(_))
            ));
            assert_eq!(find_access_key(conn, "AKIA1").unwrap(), Some(key));
            assert_eq!(find_access_key(conn, "nope").unwrap(), None);
        });
    }

    fn tempdir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "berth-store-test-{}-{}",
            std::process::id(),
            rand::random::<u64>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }
}
