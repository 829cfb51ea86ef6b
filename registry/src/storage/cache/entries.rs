//! What a cache holds: its entries, bounded by count (and by bytes where an entry
//! can be large), and how a reported change drops them.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Change, Changed};
use crate::storage::{AccessKey, ManifestRecord, RepositoryRecord, TokenRecord};

pub(super) const MAX_TOKENS: usize = 10_000;
pub(super) const MAX_SETTINGS: usize = 1_000;
pub(super) const MAX_ACCESS_KEYS: usize = 10_000;
pub(super) const MAX_REPOSITORIES: usize = 10_000;
/// Repository records carry their policies (up to 10,240 characters each): bounded
/// by bytes as well as by count, so a caller allowed to set policies cannot grow the
/// cache without limit.
pub(super) const MAX_REPOSITORY_BYTES: usize = 32 << 20;
pub(super) const MAX_TAGS: usize = 100_000;
pub(super) const MAX_MANIFEST_BYTES: usize = 64 << 20;

#[derive(Default)]
pub(super) struct Cached {
    /// Counts the changes applied; an entry read before the latest is not stored.
    pub(super) epoch: u64,
    pub(super) tokens: HashMap<String, TokenRecord>,
    pub(super) access_keys: HashMap<String, AccessKey>,
    /// Absent settings too (`None`).
    pub(super) settings: HashMap<String, Option<String>>,
    pub(super) repositories: HashMap<String, RepositoryRecord>,
    pub(super) repository_bytes: usize,
    pub(super) tags: HashMap<i64, HashMap<String, String>>,
    pub(super) tag_count: usize,
    pub(super) manifests: HashMap<i64, HashMap<String, Arc<ManifestRecord>>>,
    pub(super) manifest_bytes: usize,
}

impl Cached {
    /// Keeps a repository record, starting over when the count or the bytes would
    /// pass their bounds.
    pub(super) fn keep_repository(
        &mut self,
        name: &str,
        record: RepositoryRecord,
        max_bytes: usize,
    ) {
        let size = repository_size(&record);
        if let Some(old) = self.repositories.remove(name) {
            self.repository_bytes -= repository_size(&old);
        }
        if self.repositories.len() >= MAX_REPOSITORIES || self.repository_bytes + size > max_bytes {
            self.repositories.clear();
            self.repository_bytes = 0;
        }
        self.repositories.insert(name.to_string(), record);
        self.repository_bytes += size;
    }

    pub(super) fn apply(&mut self, changed: Changed) {
        let changes = match changed {
            Changed::Nothing => return,
            Changed::Some(changes) => changes,
            Changed::Everything => {
                *self = Cached {
                    epoch: self.epoch + 1,
                    ..Cached::default()
                };
                return;
            }
        };
        self.epoch += 1;
        for change in changes {
            match change {
                Change::Repository(id) => {
                    let bytes = &mut self.repository_bytes;
                    self.repositories.retain(|_, r| {
                        let keep = r.id != id;
                        if !keep {
                            *bytes -= repository_size(r);
                        }
                        keep
                    });
                }
                Change::Tags(id) => {
                    if let Some(tags) = self.tags.remove(&id) {
                        self.tag_count -= tags.len();
                    }
                }
                Change::Manifests(id) => {
                    if let Some(manifests) = self.manifests.remove(&id) {
                        self.manifest_bytes -=
                            manifests.values().map(|m| manifest_size(m)).sum::<usize>();
                    }
                }
                Change::Auth => {
                    self.tokens.clear();
                    self.access_keys.clear();
                }
                Change::Setting(key) => {
                    self.settings.remove(&key);
                }
            }
        }
    }
}

pub(super) fn manifest_size(manifest: &ManifestRecord) -> usize {
    manifest.content.len() + manifest.digest.len() + manifest.media_type.len()
}

pub(super) fn repository_size(record: &RepositoryRecord) -> usize {
    record.name.len()
        + record.policy.as_ref().map_or(0, String::len)
        + record
            .image_tag_mutability_exclusion_filters
            .iter()
            .map(|f| f.filter.len() + f.filter_type.len())
            .sum::<usize>()
        + std::mem::size_of::<RepositoryRecord>()
}

pub(super) fn insert_bounded<V>(map: &mut HashMap<String, V>, key: &str, value: V, max: usize) {
    if map.len() >= max {
        map.clear();
    }
    map.insert(key.to_string(), value);
}
