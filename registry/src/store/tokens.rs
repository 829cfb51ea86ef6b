//! Registry tokens: what `docker login` carries after `aws ecr get-login-password`.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;

#[derive(Debug, Clone, PartialEq)]
pub struct TokenRecord {
    pub access_key_id: String,
    pub user_name: Option<String>,
    pub expires_at: f64,
}

pub fn insert(
    conn: &Connection,
    token_hash: &str,
    record: &TokenRecord,
    now: f64,
) -> Result<(), StoreError> {
    // Forget expired tokens as new ones are issued, so the table stays small.
    conn.execute("DELETE FROM auth_tokens WHERE expires_at < ?1", [now])?;
    conn.execute(
        "INSERT INTO auth_tokens (token_hash, access_key_id, user_name, expires_at) VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, record.access_key_id, record.user_name, record.expires_at],
    )?;
    Ok(())
}

pub fn find(conn: &Connection, token_hash: &str) -> Result<Option<TokenRecord>, StoreError> {
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
