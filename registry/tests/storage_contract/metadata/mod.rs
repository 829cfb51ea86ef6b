//! The `Metadata` contract.

use berth_model::oci::Digest;
use berth_registry::storage::{
    AccessKey, BlobStep, BlobUnlink, ImageDeletion, Job, ManifestRecord, Metadata, NewManifest,
    PreviewState, PutManifestError, RepositoryChange, RepositoryRecord, TagStatus, TokenRecord,
    Untag, UploadPart,
};

use crate::backend::record;
use crate::Backend;

mod identity;
mod images;
mod maintenance;
mod repositories;

pub use identity::*;
pub use images::*;
pub use maintenance::*;
pub use repositories::*;

pub(crate) fn names(records: Vec<RepositoryRecord>) -> Vec<String> {
    records.into_iter().map(|r| r.name).collect()
}

pub(crate) fn manifest(digest: &str, media_type: &str, subject: Option<&str>) -> ManifestRecord {
    ManifestRecord {
        digest: digest.into(),
        media_type: media_type.into(),
        artifact_type: None,
        content: format!("{{\"is\":\"{digest}\"}}").into_bytes(),
        image_size: 100,
        pushed_at: 1_700_000_100.5,
        last_pulled_at: None,
        subject: subject.map(str::to_string),
    }
}

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

pub fn digest(n: u8) -> String {
    format!("sha256:{}", format!("{n:02x}").repeat(32))
}

pub fn image(n: u8, blobs: &[&str], tag: Option<&str>) -> NewManifest {
    NewManifest {
        record: manifest(&digest(n), OCI_MANIFEST, None),
        blobs: blobs.iter().map(|s| s.to_string()).collect(),
        children: Vec::new(),
        tag: tag.map(str::to_string),
        tag_immutable: false,
    }
}

/// Records and links a blob whose bytes need no placing (the metadata side of a
/// publication).
pub async fn link(m: &dyn Metadata, repository_id: i64, digest: &str, size: u64, now: f64) {
    let nothing_to_place: BlobStep = Box::pin(async { Ok(()) });
    m.publish_blob(
        repository_id,
        &Digest::parse(digest).unwrap(),
        size,
        now,
        nothing_to_place,
    )
    .await
    .unwrap();
}

/// A repository holding blob `digest(200)` (7 bytes), linked.
pub(crate) async fn repository_with_blob(b: &Backend, name: &str) -> i64 {
    let id = b.repository(name).await;
    link(b.metadata.as_ref(), id, &digest(200), 7, 1.0).await;
    id
}

pub fn key(id: &str, user: Option<&str>) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        secret_access_key: format!("secret-of-{id}"),
        user_name: user.map(str::to_string),
    }
}

pub(crate) fn part(offset: u64, size: u64, name: &str) -> UploadPart {
    UploadPart {
        offset,
        size,
        key: format!("uploads/u/{name}"),
        digest: digest(offset as u8),
    }
}
