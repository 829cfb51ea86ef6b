//! What a collection freed, as a report for logs and the command line, and what a
//! status page reads back: the last run and `serve`'s schedule.

use serde::{Deserialize, Serialize};

use crate::services::error::Result;
use crate::storage::Metadata;

/// The setting that holds the last run's [`Report`].
pub const LAST_RUN_SETTING: &str = "gc_last_run";
/// The setting that holds the schedule of `serve`'s runs ([`Schedule`]).
pub const SCHEDULE_SETTING: &str = "gc_schedule";
/// Failures kept in a report; the rest are counted only.
const MAX_FAILURES: usize = 20;

/// What one run freed (or, in a dry run, would free).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When the run started, in epoch seconds: only blobs recorded before it are swept.
    pub started_at: f64,
    pub seconds: f64,
    pub dry_run: bool,
    /// Recorded blobs nothing linked or referenced.
    pub blobs_deleted: u64,
    pub blob_bytes_freed: u64,
    /// Blob files without a record: a crash between publishing and recording.
    pub leftover_blobs_deleted: u64,
    pub leftover_blob_bytes_freed: u64,
    /// Upload sessions idle past the expiry, with their partial files.
    pub uploads_expired: u64,
    /// Partial upload files without a session.
    pub leftover_uploads_deleted: u64,
    pub upload_bytes_freed: u64,
    /// Everything freed, in bytes.
    pub bytes_freed: u64,
    /// What could not be deleted, and why (the first few).
    pub failures: Vec<String>,
    pub failure_count: u64,
}

impl Report {
    pub(super) fn fail(&mut self, what: impl std::fmt::Display, why: impl std::fmt::Display) {
        self.failure_count += 1;
        if self.failures.len() < MAX_FAILURES {
            self.failures.push(format!("{what}: {why}"));
        }
    }

    /// One line for logs and the command line.
    pub fn summary(&self) -> String {
        let verb = if self.dry_run {
            "garbage collection (dry run) would free"
        } else {
            "garbage collection freed"
        };
        let mut line = format!(
            "{verb} {} ({}): {} unreferenced blobs ({}), {} leftover blob files ({}), \
             {} expired upload sessions and {} leftover upload files ({}) in {:.2} s",
            plural(
                self.blobs_deleted + self.leftover_blobs_deleted,
                "blob",
                "blobs"
            ),
            human_bytes(self.bytes_freed),
            self.blobs_deleted,
            human_bytes(self.blob_bytes_freed),
            self.leftover_blobs_deleted,
            human_bytes(self.leftover_blob_bytes_freed),
            self.uploads_expired,
            self.leftover_uploads_deleted,
            human_bytes(self.upload_bytes_freed),
            self.seconds,
        );
        if self.failure_count > 0 {
            line.push_str(&format!(
                "; {} could not be deleted: {}",
                plural(self.failure_count, "item", "items"),
                self.failures.join("; ")
            ));
        }
        line
    }
}

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// When `serve` collects: written each time it schedules a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub interval_seconds: f64,
    pub next_run_at: f64,
}

/// What a status page shows: the last run and the next.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Status {
    pub last_run: Option<Report>,
    pub schedule: Option<Schedule>,
}

pub async fn status(metadata: &dyn Metadata) -> Result<Status> {
    fn read<T: serde::de::DeserializeOwned>(value: Option<String>) -> Option<T> {
        value.and_then(|v| serde_json::from_str(&v).ok())
    }
    Ok(Status {
        last_run: read(metadata.get_setting(LAST_RUN_SETTING).await?),
        schedule: read(metadata.get_setting(SCHEDULE_SETTING).await?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
