//! Who may call: settings, access keys, users and registry tokens.

use rusqlite::{params, Connection, OptionalExtension};

use crate::clock::now_epoch_seconds;
use crate::storage::{AccessKey, StorageError, TokenRecord, UserRecord};

pub fn find_access_key(
    conn: &Connection,
    access_key_id: &str,
) -> Result<Option<AccessKey>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT access_key_id, secret_access_key, user_name FROM access_keys WHERE access_key_id = ?1",
        )?
        .query_row(
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

/// Removes a setting in one statement; what it held.
pub fn delete_setting(conn: &Connection, key: &str) -> Result<Option<String>, StorageError> {
    Ok(conn
        .query_row(
            "DELETE FROM settings WHERE key = ?1 RETURNING value",
            [key],
            |row| row.get(0),
        )
        .optional()?)
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

/// Makes `key` the one root key: other root keys (and the registry tokens issued to
/// them) are deleted in the same transaction, so a changed admin key revokes the old
/// one at once.
pub fn replace_root_access_key(conn: &mut Connection, key: &AccessKey) -> Result<(), StorageError> {
    let tx = conn.transaction()?;
    tx.execute(
        "DELETE FROM auth_tokens WHERE access_key_id IN
           (SELECT access_key_id FROM access_keys WHERE user_name IS NULL AND access_key_id <> ?1)",
        [&key.access_key_id],
    )?;
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

/// Users in name order, each with its access key ids.
pub fn list_users(conn: &Connection) -> Result<Vec<UserRecord>, StorageError> {
    let mut statement = conn.prepare_cached(
        "SELECT u.user_name, u.created_at,
                (SELECT group_concat(access_key_id, char(10)) FROM
                   (SELECT access_key_id FROM access_keys k WHERE k.user_name = u.user_name ORDER BY access_key_id))
         FROM users u ORDER BY u.user_name",
    )?;
    let rows = statement.query_map([], |row| {
        let keys: Option<String> = row.get(2)?;
        Ok(UserRecord {
            user_name: row.get(0)?,
            created_at: row.get(1)?,
            access_key_ids: keys
                .map(|k| k.split('\n').map(str::to_string).collect())
                .unwrap_or_default(),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes the user's keys and the registry tokens issued to them.
fn delete_user_keys(tx: &rusqlite::Transaction<'_>, user_name: &str) -> Result<(), StorageError> {
    tx.execute(
        "DELETE FROM auth_tokens WHERE access_key_id IN
           (SELECT access_key_id FROM access_keys WHERE user_name = ?1)",
        [user_name],
    )?;
    tx.execute("DELETE FROM access_keys WHERE user_name = ?1", [user_name])?;
    Ok(())
}

/// Removes a user with its keys and tokens, in one transaction; false when there is
/// no such user.
pub fn remove_user(conn: &mut Connection, user_name: &str) -> Result<bool, StorageError> {
    let tx = super::write_transaction(conn)?;
    delete_user_keys(&tx, user_name)?;
    let removed = tx.execute("DELETE FROM users WHERE user_name = ?1", [user_name])? > 0;
    tx.commit()?;
    Ok(removed)
}

/// Makes `key` the user's only key: the old keys and their tokens go in the same
/// transaction. False when there is no such user.
pub fn replace_user_key(
    conn: &mut Connection,
    user_name: &str,
    key: &AccessKey,
) -> Result<bool, StorageError> {
    let tx = super::write_transaction(conn)?;
    let exists: bool = tx.query_row(
        "SELECT EXISTS (SELECT 1 FROM users WHERE user_name = ?1)",
        [user_name],
        |row| row.get(0),
    )?;
    if !exists {
        return Ok(false);
    }
    delete_user_keys(&tx, user_name)?;
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![key.access_key_id, key.secret_access_key, user_name, now_epoch_seconds()],
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
        .prepare_cached(
            "SELECT t.access_key_id, t.user_name, t.expires_at FROM auth_tokens t
             JOIN access_keys k ON k.access_key_id = t.access_key_id
             WHERE t.token_hash = ?1",
        )?
        .query_row([token_hash], |row| {
            Ok(TokenRecord {
                access_key_id: row.get(0)?,
                user_name: row.get(1)?,
                expires_at: row.get(2)?,
            })
        })
        .optional()?)
}
