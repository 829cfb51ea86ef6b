//! What changed in the database, for the caches in front of it ([`crate::storage::cache`]).
//!
//! Triggers record every committed change to something a process may cache in the
//! `changes` table: one row per (kind, key), whose `seq` grows with each change, so
//! the table stays as small as the set of repositories. The triggers live in the
//! database, so every writer is covered: this process, `berth-registry user …` in
//! another, `gc`, even the `sqlite3` shell.
//!
//! Asking costs one `PRAGMA data_version` on a connection of its own: SQLite changes
//! that number when any other connection (in any process) has committed, reading only
//! the WAL index in shared memory. Only then are the new rows of `changes` read.

use std::path::Path;
use std::sync::Mutex;

use async_trait::async_trait;
use rusqlite::Connection;

use crate::storage::cache::{Change, ChangeFeed, Changed};
use crate::storage::{Result, StorageError};

/// (table, the change kind it reports, the key column) for each table a cache reads.
/// Inserts are reported too: a row replaced by an upsert must not hide behind one.
const WATCHED: &[(&str, &str, &str)] = &[
    ("repositories", "repository", "id"),
    ("repository_policies", "repository", "repository_id"),
    (
        "tag_mutability_exclusion_filters",
        "repository",
        "repository_id",
    ),
    ("tags", "tags", "repository_id"),
    // Content by digest never changes, but a manifest can be deleted, and a pull's
    // recorded time is part of its record.
    ("manifests", "manifests", "repository_id"),
    ("access_keys", "auth", "'*'"),
    ("auth_tokens", "auth", "'*'"),
    // The registry policy, read by every request, is a setting.
    ("settings", "setting", "key"),
];

/// The `changes` table and its triggers; idempotent, run at every open.
pub fn schema() -> String {
    let mut sql = String::from(
        "CREATE TABLE IF NOT EXISTS changes (
             kind TEXT NOT NULL,
             key  TEXT NOT NULL,
             seq  INTEGER NOT NULL,
             PRIMARY KEY (kind, key)
         );
         CREATE INDEX IF NOT EXISTS changes_by_seq ON changes (seq);\n",
    );
    for (table, kind, column) in WATCHED {
        for (event, row) in [("INSERT", "NEW"), ("UPDATE", "NEW"), ("DELETE", "OLD")] {
            let key = if column.starts_with('\'') {
                (*column).to_string()
            } else {
                format!("{row}.{column}")
            };
            sql.push_str(&format!(
                "CREATE TRIGGER IF NOT EXISTS {table}_{event}_changes AFTER {event} ON {table} BEGIN
                   INSERT INTO changes (kind, key, seq)
                   VALUES ('{kind}', {key}, (SELECT COALESCE(MAX(seq), 0) + 1 FROM changes))
                   ON CONFLICT (kind, key) DO UPDATE SET seq = excluded.seq;
                 END;\n",
                event = event.to_lowercase(),
            ));
        }
    }
    sql
}

/// The feed of one database file.
pub struct SqliteChanges {
    watch: Mutex<Watch>,
}

struct Watch {
    /// Never writes: otherwise its own commits would not change its `data_version`.
    connection: Connection,
    data_version: i64,
    /// The highest `seq` already reported.
    seen: i64,
}

impl SqliteChanges {
    /// Starts watching from now: changes committed before are not reported.
    pub fn open(data_dir: &Path) -> Result<SqliteChanges> {
        let path = data_dir.join(super::DATABASE_FILE);
        let connection = Connection::open(&path).map_err(|e| {
            StorageError(format!(
                "cannot open the metadata database {}: {e}",
                path.display()
            ))
        })?;
        connection.busy_timeout(std::time::Duration::from_secs(10))?;
        connection.execute_batch("PRAGMA query_only = ON;")?;
        let data_version = data_version(&connection)?;
        let seen =
            connection.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |row| {
                row.get(0)
            })?;
        Ok(SqliteChanges {
            watch: Mutex::new(Watch {
                connection,
                data_version,
                seen,
            }),
        })
    }
}

fn data_version(connection: &Connection) -> rusqlite::Result<i64> {
    connection
        .prepare_cached("PRAGMA data_version")?
        .query_row([], |row| row.get(0))
}

/// Reads a row of `changes` as what a cache must drop.
fn change(kind: &str, key: &str) -> Option<Change> {
    match kind {
        "repository" => key.parse().ok().map(Change::Repository),
        "tags" => key.parse().ok().map(Change::Tags),
        "manifests" => key.parse().ok().map(Change::Manifests),
        "auth" => Some(Change::Auth),
        "setting" => Some(Change::Setting(key.to_string())),
        _ => None,
    }
}

#[async_trait]
impl ChangeFeed for SqliteChanges {
    /// Runs on the calling thread: without a commit since the last call it reads
    /// shared memory only, a few microseconds, less than a hop to a blocking thread.
    async fn poll(&self) -> Result<Changed> {
        let mut watch = self.watch.lock().unwrap_or_else(|p| p.into_inner());
        let now = data_version(&watch.connection)?;
        if now == watch.data_version {
            return Ok(Changed::Nothing);
        }
        let mut changes = Vec::new();
        let mut unknown = false;
        let mut seen = watch.seen;
        {
            let mut statement = watch
                .connection
                .prepare_cached("SELECT kind, key, seq FROM changes WHERE seq > ?1 ORDER BY seq")?;
            let mut rows = statement.query([watch.seen])?;
            while let Some(row) = rows.next()? {
                let (kind, key): (String, String) = (row.get(0)?, row.get(1)?);
                seen = seen.max(row.get(2)?);
                match change(&kind, &key) {
                    Some(change) => changes.push(change),
                    None => unknown = true,
                }
            }
        }
        watch.data_version = now;
        watch.seen = seen;
        Ok(if unknown {
            // A kind this version does not know (a newer registry wrote it): drop
            // everything rather than guess.
            Changed::Everything
        } else if changes.is_empty() {
            Changed::Nothing
        } else {
            Changed::Some(changes)
        })
    }
}
