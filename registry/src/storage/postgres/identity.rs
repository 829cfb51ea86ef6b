//! Who may call: settings, access keys, users and registry tokens.

use deadpool_postgres::{Client, GenericClient};

use crate::clock::now_epoch_seconds;
use crate::storage::{AccessKey, StorageError, TokenRecord, UserRecord};

type Result<T> = std::result::Result<T, StorageError>;

pub async fn get_setting(client: &impl GenericClient, key: &str) -> Result<Option<String>> {
    let statement = client
        .prepare_cached("SELECT value FROM settings WHERE key = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&key])
        .await?
        .map(|row| row.get(0)))
}

pub async fn put_setting(client: &impl GenericClient, key: &str, value: &str) -> Result<()> {
    let statement = client
        .prepare_cached(
            "INSERT INTO settings (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .await?;
    client.execute(&statement, &[&key, &value]).await?;
    Ok(())
}

/// Removes a setting in one statement; what it held.
pub async fn delete_setting(client: &impl GenericClient, key: &str) -> Result<Option<String>> {
    let statement = client
        .prepare_cached("DELETE FROM settings WHERE key = $1 RETURNING value")
        .await?;
    Ok(client
        .query_opt(&statement, &[&key])
        .await?
        .map(|row| row.get(0)))
}

pub async fn find_access_key(
    client: &impl GenericClient,
    access_key_id: &str,
) -> Result<Option<AccessKey>> {
    let statement = client
        .prepare_cached(
            "SELECT access_key_id, secret_access_key, user_name FROM access_keys
             WHERE access_key_id = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&access_key_id])
        .await?
        .map(|row| AccessKey {
            access_key_id: row.get(0),
            secret_access_key: row.get(1),
            user_name: row.get(2),
        }))
}

pub async fn root_access_key(client: &impl GenericClient) -> Result<Option<AccessKey>> {
    let statement = client
        .prepare_cached(
            "SELECT access_key_id, secret_access_key FROM access_keys WHERE user_name IS NULL
             ORDER BY created_at DESC LIMIT 1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[])
        .await?
        .map(|row| AccessKey {
            access_key_id: row.get(0),
            secret_access_key: row.get(1),
            user_name: None,
        }))
}

/// Makes `key` the one root key: other root keys (and the registry tokens issued to
/// them) are deleted in the same transaction, so a changed admin key revokes the old
/// one at once.
pub async fn replace_root_access_key(client: &mut Client, key: &AccessKey) -> Result<()> {
    let tx = client.transaction().await?;
    tx.execute(
        "DELETE FROM auth_tokens WHERE access_key_id IN
           (SELECT access_key_id FROM access_keys WHERE user_name IS NULL AND access_key_id <> $1)",
        &[&key.access_key_id],
    )
    .await?;
    tx.execute(
        "DELETE FROM access_keys WHERE user_name IS NULL AND access_key_id <> $1",
        &[&key.access_key_id],
    )
    .await?;
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
         VALUES ($1, $2, NULL, $3)
         ON CONFLICT (access_key_id) DO UPDATE SET secret_access_key = excluded.secret_access_key,
                                                   user_name = NULL, created_at = excluded.created_at",
        &[&key.access_key_id, &key.secret_access_key, &now_epoch_seconds()],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Adds a user and its first access key in one transaction; false when the name is taken.
pub async fn add_user(client: &mut Client, user_name: &str, key: &AccessKey) -> Result<bool> {
    let tx = client.transaction().await?;
    let now = now_epoch_seconds();
    let inserted = tx
        .execute(
            "INSERT INTO users (user_name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&user_name, &now],
        )
        .await?;
    if inserted == 0 {
        return Ok(false);
    }
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
         VALUES ($1, $2, $3, $4)",
        &[&key.access_key_id, &key.secret_access_key, &user_name, &now],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

pub async fn insert_token(
    client: &impl GenericClient,
    token_hash: &str,
    record: &TokenRecord,
    now: f64,
) -> Result<()> {
    // Forget expired tokens as new ones are issued, so the table stays small.
    let forget = client
        .prepare_cached("DELETE FROM auth_tokens WHERE expires_at < $1")
        .await?;
    client.execute(&forget, &[&now]).await?;
    let insert = client
        .prepare_cached(
            "INSERT INTO auth_tokens (token_hash, access_key_id, user_name, expires_at)
             VALUES ($1, $2, $3, $4)",
        )
        .await?;
    client
        .execute(
            &insert,
            &[
                &token_hash,
                &record.access_key_id,
                &record.user_name,
                &record.expires_at,
            ],
        )
        .await?;
    Ok(())
}

pub async fn find_token(
    client: &impl GenericClient,
    token_hash: &str,
) -> Result<Option<TokenRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT t.access_key_id, t.user_name, t.expires_at FROM auth_tokens t
             JOIN access_keys k ON k.access_key_id = t.access_key_id
             WHERE t.token_hash = $1",
        )
        .await?;
    Ok(client
        .query_opt(&statement, &[&token_hash])
        .await?
        .map(|row| TokenRecord {
            access_key_id: row.get(0),
            user_name: row.get(1),
            expires_at: row.get(2),
        }))
}

/// Users in name order, each with its access key ids.
pub async fn list_users(client: &impl GenericClient) -> Result<Vec<UserRecord>> {
    let statement = client
        .prepare_cached(
            "SELECT u.user_name, u.created_at,
                    ARRAY(SELECT access_key_id FROM access_keys k
                          WHERE k.user_name = u.user_name ORDER BY access_key_id)
             FROM users u ORDER BY u.user_name",
        )
        .await?;
    Ok(client
        .query(&statement, &[])
        .await?
        .iter()
        .map(|row| UserRecord {
            user_name: row.get(0),
            created_at: row.get(1),
            access_key_ids: row.get(2),
        })
        .collect())
}

/// Deletes the user's keys and the registry tokens issued to them.
async fn delete_user_keys(tx: &impl GenericClient, user_name: &str) -> Result<()> {
    tx.execute(
        "DELETE FROM auth_tokens WHERE access_key_id IN
           (SELECT access_key_id FROM access_keys WHERE user_name = $1)",
        &[&user_name],
    )
    .await?;
    tx.execute(
        "DELETE FROM access_keys WHERE user_name = $1",
        &[&user_name],
    )
    .await?;
    Ok(())
}

/// Removes a user with its keys and tokens, in one transaction; false when there is
/// no such user.
pub async fn remove_user(client: &mut Client, user_name: &str) -> Result<bool> {
    let tx = client.transaction().await?;
    delete_user_keys(&tx, user_name).await?;
    let removed = tx
        .execute("DELETE FROM users WHERE user_name = $1", &[&user_name])
        .await?
        > 0;
    tx.commit().await?;
    Ok(removed)
}

/// Makes `key` the user's only key: the old keys and their tokens go in the same
/// transaction (the user's row locked, so a removal cannot interleave). False when
/// there is no such user.
pub async fn replace_user_key(
    client: &mut Client,
    user_name: &str,
    key: &AccessKey,
) -> Result<bool> {
    let tx = client.transaction().await?;
    let exists = tx
        .query_opt(
            "SELECT 1 FROM users WHERE user_name = $1 FOR UPDATE",
            &[&user_name],
        )
        .await?
        .is_some();
    if !exists {
        return Ok(false);
    }
    delete_user_keys(&tx, user_name).await?;
    tx.execute(
        "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
         VALUES ($1, $2, $3, $4)",
        &[
            &key.access_key_id,
            &key.secret_access_key,
            &user_name,
            &now_epoch_seconds(),
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
