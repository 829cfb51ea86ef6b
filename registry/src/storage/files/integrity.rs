//! Which files this process has already hashed whole, and what it found.

use std::collections::HashMap;
use std::sync::Mutex;

/// A file as the file system last changed it: any write, truncation or replacement
/// changes at least one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct FileIdentity {
    pub(super) device: u64,
    pub(super) inode: u64,
    pub(super) size: u64,
    pub(super) modified_ns: i128,
    pub(super) changed_ns: i128,
}

impl FileIdentity {
    #[cfg(unix)]
    pub(super) fn of(metadata: &std::fs::Metadata) -> FileIdentity {
        use std::os::unix::fs::MetadataExt;
        FileIdentity {
            device: metadata.dev(),
            inode: metadata.ino(),
            size: metadata.size(),
            modified_ns: i128::from(metadata.mtime()) * 1_000_000_000
                + i128::from(metadata.mtime_nsec()),
            changed_ns: i128::from(metadata.ctime()) * 1_000_000_000
                + i128::from(metadata.ctime_nsec()),
        }
    }

    #[cfg(not(unix))]
    pub(super) fn of(metadata: &std::fs::Metadata) -> FileIdentity {
        FileIdentity {
            device: 0,
            inode: 0,
            size: metadata.len(),
            modified_ns: metadata
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128),
            changed_ns: 0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    Intact,
    Damaged,
}

/// What this process learned by hashing blob files, so a file is hashed again only
/// when it changed (and a damaged one counts as missing until replaced).
#[derive(Default)]
pub(super) struct Integrity {
    pub(super) known: Mutex<HashMap<String, (FileIdentity, Verdict)>>,
}

impl Integrity {
    /// Bounds the memory the cache takes; past it, everything is hashed afresh.
    const MAX_ENTRIES: usize = 100_000;

    pub(super) fn verdict(&self, hex: &str, identity: &FileIdentity) -> Option<Verdict> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        known
            .get(hex)
            .filter(|(seen, _)| seen == identity)
            .map(|(_, verdict)| *verdict)
    }

    pub(super) fn record(&self, hex: &str, identity: FileIdentity, verdict: Verdict) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        if known.len() >= Self::MAX_ENTRIES {
            known.clear();
        }
        known.insert(hex.to_string(), (identity, verdict));
    }
}
