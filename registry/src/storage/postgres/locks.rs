//! Job locks as PostgreSQL session advisory locks: held by a connection of their
//! own, released when it closes — when the lease is dropped, or when the process or
//! its connection dies, so a crashed leader never blocks the others.

use crate::storage::{Job, JobLease, Result};

/// The lock key of a job: a 64-bit hash of its name, in Berth's own namespace.
const KEY: &str = "hashtextextended('berth:job:' || $1, 0)";

/// Holds the connection, and with it the lock.
struct AdvisoryLock {
    _client: tokio_postgres::Client,
}

/// Takes `job` on `client`'s session: waits for it with `wait`, else `None` when
/// another session holds it.
pub async fn lock(
    client: tokio_postgres::Client,
    job: Job,
    wait: bool,
) -> Result<Option<JobLease>> {
    let taken = if wait {
        client
            .execute(&format!("SELECT pg_advisory_lock({KEY})"), &[&job.name()])
            .await?;
        true
    } else {
        client
            .query_one(
                &format!("SELECT pg_try_advisory_lock({KEY})"),
                &[&job.name()],
            )
            .await?
            .get(0)
    };
    Ok(taken.then(|| Box::new(AdvisoryLock { _client: client }) as JobLease))
}
