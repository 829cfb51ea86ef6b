//! Brings the schema up to date at start: under an advisory lock, so that processes
//! starting together apply each migration once, and each migration in the same
//! transaction as its row in `schema_migrations`.

use super::PostgresMetadata;
use crate::storage::migrations::{self, Migration};
use crate::storage::{Result, StorageError};

pub async fn migrate(metadata: &PostgresMetadata) -> Result<()> {
    // Held by its own connection (a session advisory lock), released when it drops.
    let lock = metadata.dedicated_connection().await?;
    lock.execute(
        "SELECT pg_advisory_lock(hashtextextended('berth:schema-migrations', 0))",
        &[],
    )
    .await?;
    let mut client = metadata.client().await?;
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version    BIGINT PRIMARY KEY,
                 name       TEXT NOT NULL,
                 applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
             )",
        )
        .await?;
    let found: i64 = client
        .query_one(
            "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
            &[],
        )
        .await?
        .get(0);
    if let Some(message) = migrations::too_new(found, migrations::POSTGRES) {
        return Err(StorageError(message));
    }
    for migration in migrations::POSTGRES.iter().filter(|m| m.version > found) {
        apply(&mut client, migration)
            .await
            .map_err(|e| StorageError(format!("migration {} failed: {}", migration.name, e.0)))?;
    }
    Ok(())
}

async fn apply(client: &mut deadpool_postgres::Client, migration: &Migration) -> Result<()> {
    let tx = client.transaction().await?;
    tx.batch_execute(migration.sql).await?;
    tx.execute(
        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
        &[&migration.version, &migration.name],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
