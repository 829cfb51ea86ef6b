//! What changed in the shared database, for the caches in front of it
//! ([`crate::storage::cache`]), whichever process changed it.
//!
//! The triggers of migrations 0002 and 0003 log every committed change to something a
//! process may cache in `change_log`, with the transaction that made it. A poll is
//! one statement on a connection of its own: the oldest transaction still running
//! (`pg_snapshot_xmin`, the horizon) and the changes logged by transactions at or
//! after the previous poll's horizon. Every transaction that committed after that
//! poll's snapshot was still running then, or had not started, so its id is at or
//! after that horizon: nothing committed since is missed. A change may be reported
//! more than once (until the horizon passes it); dropping an entry twice is harmless.
//! Rows are pruned by when they were logged, not when their transaction committed;
//! pruning marks the newest transaction it removed (migration 0004), and a process
//! whose horizon is at or before that mark starts over instead of trusting the log.
//!
//! `LISTEN` alone would not do: a notification reaches this process some time after
//! the commit, so the next request could still be served what another process just
//! changed.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use tokio_postgres::{Client, NoTls, Statement};

use crate::storage::cache::{Change, ChangeFeed, Changed};
use crate::storage::Result;

/// How long a logged change is kept. A process that has not polled for half of it
/// drops everything instead of trusting the log.
const KEPT: Duration = Duration::from_secs(3600);
/// How often one process prunes the log.
const PRUNE_EVERY: Duration = Duration::from_secs(60);

/// The horizon, the changes since the previous one, and whether pruning has removed
/// any of them (a transaction that logged its changes over an hour before it
/// committed: migration 0004).
const POLL: &str = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text,
                           COALESCE(array_agg(change), '{}'),
                           (SELECT through FROM change_log_pruned WHERE id = 1)
                               >= $1::text::bigint
                    FROM change_log WHERE xid >= $1::text::xid8";

/// Prunes the log (`$1`: seconds kept) and marks the newest transaction pruned.
pub const PRUNE: &str = "WITH gone AS (
                         DELETE FROM change_log WHERE at < now() - make_interval(secs => $1)
                         RETURNING xid::text::bigint AS xid)
                     UPDATE change_log_pruned
                     SET through = GREATEST(through, (SELECT max(xid) FROM gone))
                     WHERE id = 1";

/// The feed of one PostgreSQL database.
pub struct PostgresChanges {
    config: tokio_postgres::Config,
    watch: tokio::sync::Mutex<Option<Watch>>,
}

struct Watch {
    client: Client,
    poll: Statement,
    /// The oldest transaction that was running at the previous poll.
    horizon: String,
    polled: Instant,
    pruned: Instant,
}

impl PostgresChanges {
    pub fn new(config: tokio_postgres::Config) -> PostgresChanges {
        PostgresChanges {
            config,
            watch: tokio::sync::Mutex::new(None),
        }
    }

    async fn connect(&self) -> Result<Watch> {
        let (client, connection) = self.config.connect(NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let poll = client.prepare(POLL).await?;
        let horizon = client
            .query_one("SELECT pg_snapshot_xmin(pg_current_snapshot())::text", &[])
            .await?
            .get(0);
        let now = Instant::now();
        Ok(Watch {
            client,
            poll,
            horizon,
            polled: now,
            pruned: now,
        })
    }
}

/// Reads a logged change (`<table>:<key>`) as what a cache must drop; `None` for a
/// table a cache does not read from.
fn change(logged: &str) -> Option<Option<Change>> {
    let (table, key) = logged.split_once(':')?;
    let id = || key.parse().ok();
    Some(match table {
        "repositories" | "repository_policies" | "tag_mutability_exclusion_filters" => {
            Some(Change::Repository(id()?))
        }
        "tags" => Some(Change::Tags(id()?)),
        "manifests" => Some(Change::Manifests(id()?)),
        "access_keys" | "auth_tokens" => Some(Change::Auth),
        "settings" => Some(Change::Setting(key.to_string())),
        "repository_blobs" => None,
        _ => return None,
    })
}

#[async_trait]
impl ChangeFeed for PostgresChanges {
    async fn poll(&self) -> Result<Changed> {
        let mut watch = self.watch.lock().await;
        let current = match watch.take() {
            Some(current) if current.polled.elapsed() < KEPT / 2 && !current.client.is_closed() => {
                current
            }
            // First use, a lost connection, or a log that may have been pruned past
            // what this process last saw: start over from now.
            _ => {
                *watch = Some(self.connect().await?);
                return Ok(Changed::Everything);
            }
        };
        let row = match current
            .client
            .query_one(&current.poll, &[&current.horizon])
            .await
        {
            Ok(row) => row,
            Err(error) => {
                *watch = self.connect().await.ok();
                return match *watch {
                    Some(_) => Ok(Changed::Everything),
                    None => Err(error.into()),
                };
            }
        };
        let mut current = current;
        current.horizon = row.get(0);
        current.polled = Instant::now();
        let logged: Vec<String> = row.get(1);
        // Unknown (no mark) counts as pruned: starting over is always safe.
        let pruned_past_horizon = row.get::<_, Option<bool>>(2).unwrap_or(true);
        if current.pruned.elapsed() >= PRUNE_EVERY {
            current.pruned = Instant::now();
            // Best effort: another process may be pruning the same rows.
            let _ = current.client.execute(PRUNE, &[&KEPT.as_secs_f64()]).await;
        }
        *watch = Some(current);
        if pruned_past_horizon {
            return Ok(Changed::Everything);
        }
        let mut changes = Vec::with_capacity(logged.len());
        for logged in &logged {
            match change(logged) {
                Some(Some(change)) => changes.push(change),
                Some(None) => {}
                // A table this version does not know (a newer registry wrote it):
                // drop everything rather than guess.
                None => return Ok(Changed::Everything),
            }
        }
        Ok(if changes.is_empty() {
            Changed::Nothing
        } else {
            Changed::Some(changes)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_changes_name_what_to_drop() {
        assert_eq!(change("tags:42"), Some(Some(Change::Tags(42))));
        assert_eq!(
            change("repository_policies:7"),
            Some(Some(Change::Repository(7)))
        );
        assert_eq!(change("auth_tokens:abc"), Some(Some(Change::Auth)));
        assert_eq!(
            change("settings:registry_policy"),
            Some(Some(Change::Setting("registry_policy".into())))
        );
        assert_eq!(change("repository_blobs:3"), Some(None));
        assert_eq!(change("tags:x"), None);
        assert_eq!(change("unknown:1"), None);
    }
}
