//! Who may call: settings, access keys, users and registry tokens.

use rusqlite::{params, Connection, OptionalExtension};

use crate::clock::now_epoch_seconds;
use crate::storage::{AccessKey, StorageError, TokenRecord};

pub fn find_access_key(
    conn: &Connection,
    access_key_id: &str,
) -> Result<Option<AccessKey>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT access_key_id, secret_access_key, user_name FROM access_keys WHERE access_key_id = ?1",
            [access_key_id],
            |row| Ok(AccessKey { access_key_id: row.get(0)?, secret_access_key: row.get(1)?, user_name: row.get(2)? }),
        )
        .optional()?)
}

pub fn get_setting(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub fn put_setting(conn: &Connection, key: &str, value: &str) -> Result<(), StorageError> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn root_access_key(conn: &Connection) -> Result<Option<AccessKey>, StorageError> {
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

/// Makes `key` the one root key: other root keys are deleted in the same transaction,
/// so a changed admin key revokes the old one at once.
pub fn replace_root_access_key(conn: &mut Connection, key: &AccessKey) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM access_keys WHERE user_name IS NULL AND access_key_id <> ?1",
        [&key.access_key_id],
    )?;
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
         VALUES (?1, ?2, NULL, ?3)
         ON CONFLICT(access_key_id) DO UPDATE SET secret_access_key = excluded.secret_access_key,
                                                  user_name = NULL, created_at = excluded.created_at",
        params![key.access_key_id, key.secret_access_key, now_epoch_seconds()],
    )?;
    tx.commit()?;
    Ok(())
}

/// Adds a user and its first access key in one transaction; false when the name is taken.
pub fn add_user(
    conn: &mut Connection,
    user_name: &str,
    key: &AccessKey,
) -> Result<bool, StorageError> {
    let tx = conn.transaction()?;
    let now = now_epoch_seconds();
    let inserted = tx.execute(
        "INSERT INTO users (user_name, created_at) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
        params![user_name, now],
    )?;
    if inserted == 0 {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key.access_key_id, key.secret_access_key, user_name, now],
    )?;
    tx.commit()?;
    Ok(true)
}

pub fn insert_token(
    conn: &Connection,
    token_hash: &str,
    record: &TokenRecord,
    now: f64,
) -> Result<(), StorageError> {
    // Forget expired tokens as new ones are issued, so the table stays small.
    conn.execute("DELETE FROM auth_tokens WHERE expires_at < ?1", [now])?;
    conn.execute(
        "INSERT INTO auth_tokens (token_hash, access_key_id, user_name, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, record.access_key_id, record.user_name, record.expires_at],
    )?;
    Ok(())
}

pub fn find_token(
    conn: &Connection,
    token_hash: &str,
) -> Result<Option<TokenRecord>, StorageError> {
    Ok(conn
        .query_row(
            "SELECT t.access_key_id, t.user_name, t.expires_at FROM auth_tokens t
             JOIN access_keys k ON k.access_key_id = t.access_key_id
             WHERE t.token_hash = ?1",
            [token_hash],
            |row| {
                Ok(TokenRecord {
                    access_key_id: row.get(0)?,
                    user_name: row.get(1)?,
                    expires_at: row.get(2)?,
                })
            },
        )
        .optional()?)
}
