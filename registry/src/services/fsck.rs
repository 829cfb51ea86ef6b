//! `berth-registry fsck`: compares what the metadata says is stored with what the
//! blob store holds, re-hashing every blob. Safe while the registry serves: it only
//! reads, and with `repair` moves damaged blobs aside (only the very file it hashed),
//! after which they count as missing and the next push of them stores them anew.

use std::collections::HashMap;

use berth_model::oci::Digest;

use super::error::Result;
use crate::storage::{BlobCheck, Blobs, DanglingReference, Metadata};

/// A blob whose bytes do not hash to its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DamagedBlob {
    pub digest: String,
    pub actual: String,
    pub size: u64,
    /// Where its bytes were moved, with `repair`.
    pub quarantined: Option<String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub blobs_checked: u64,
    pub damaged: Vec<DamagedBlob>,
    /// Recorded as stored, but no file: pull fails until pushed again.
    pub missing: Vec<String>,
    /// Files nothing records (a push finishing while fsck runs, or left behind).
    pub orphans: Vec<String>,
    pub dangling: Vec<DanglingReference>,
}

impl Report {
    /// Whether anything needs an operator (orphans are harmless: GC reclaims them).
    pub fn has_problems(&self) -> bool {
        !(self.damaged.is_empty() && self.missing.is_empty() && self.dangling.is_empty())
    }
}

pub async fn run(metadata: &dyn Metadata, blobs: &dyn Blobs, repair: bool) -> Result<Report> {
    let recorded: HashMap<String, u64> = metadata.blob_records().await?.into_iter().collect();
    let mut stored: Vec<Digest> = Vec::new();
    loop {
        let page = blobs.list_blobs(stored.last(), 1000).await?;
        let done = page.len() < 1000;
        stored.extend(page.into_iter().map(|b| b.digest));
        if done {
            break;
        }
    }
    let mut report = Report::default();
    for digest in &stored {
        if !recorded.contains_key(digest.as_str()) {
            report.orphans.push(digest.to_string());
        }
        report.blobs_checked += 1;
        if let BlobCheck::Corrupt {
            actual,
            size,
            quarantined,
        } = blobs.verify(digest, repair).await?
        {
            report.damaged.push(DamagedBlob {
                digest: digest.to_string(),
                actual,
                size,
                quarantined,
            });
        }
    }
    let on_disk: std::collections::HashSet<&str> = stored.iter().map(Digest::as_str).collect();
    let mut missing: Vec<String> = recorded
        .keys()
        .filter(|d| !on_disk.contains(d.as_str()))
        .cloned()
        .collect();
    missing.sort();
    report.missing = missing;
    report.dangling = metadata.dangling_references().await?;
    Ok(report)
}
