//! What `berth-registry migrate` writes that the registry itself never does: users,
//! keys and tokens exactly as another registry made them. Each write keeps what is
//! there already, so an interrupted migration can run again.

use super::PostgresMetadata;
use crate::storage::{AccessKey, Result, TokenRecord};

impl PostgresMetadata {
    pub async fn import_user(&self, user_name: &str, created_at: f64) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO users (user_name, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                &[&user_name, &created_at],
            )
            .await?;
        Ok(())
    }

    /// A user's key (the root key goes through `replace_root_access_key`).
    pub async fn import_access_key(&self, key: &AccessKey, created_at: f64) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO access_keys (access_key_id, secret_access_key, user_name, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    &key.access_key_id,
                    &key.secret_access_key,
                    &key.user_name,
                    &created_at,
                ],
            )
            .await?;
        Ok(())
    }

    pub async fn import_token(&self, token_hash: &str, record: &TokenRecord) -> Result<()> {
        self.client()
            .await?
            .execute(
                "INSERT INTO auth_tokens (token_hash, access_key_id, user_name, expires_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
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
}
