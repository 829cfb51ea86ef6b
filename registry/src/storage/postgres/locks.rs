//! Job locks as PostgreSQL session advisory locks: held by a connection of their
//! own, released when it closes — when the lock is dropped, or when the process or
//! its connection dies, so a crashed leader never blocks the others.

use crate::storage::locks::{validate_job_name, HeldLock};
use crate::storage::{JobLock, Result};

/// The lock key of a job: a 64-bit hash of its name, in Berth's own namespace.
const KEY: &str = "hashtextextended('berth:' || $1, 0)";

struct AdvisoryLock {
    client: tokio_postgres::Client,
}

impl HeldLock for AdvisoryLock {
    fn is_held(&self) -> bool {
        !self.client.is_closed()
    }
}

pub async fn try_lock(client: tokio_postgres::Client, job: &str) -> Result<Option<JobLock>> {
    validate_job_name(job)?;
    let taken: bool = client
        .query_one(&format!("SELECT pg_try_advisory_lock({KEY})"), &[&job])
        .await?
        .get(0);
    Ok(taken.then(|| JobLock::new(job, Box::new(AdvisoryLock { client }))))
}

pub async fn lock(client: tokio_postgres::Client, job: &str) -> Result<JobLock> {
    validate_job_name(job)?;
    client
        .execute(&format!("SELECT pg_advisory_lock({KEY})"), &[&job])
        .await?;
    Ok(JobLock::new(job, Box::new(AdvisoryLock { client })))
}
