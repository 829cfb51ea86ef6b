//! The `Metadata` contract.

use berth_model::oci::Digest;
use berth_registry::storage::{
    AccessKey, BlobStep, BlobUnlink, ImageDeletion, Job, ManifestRecord, Metadata, NewManifest,
    PreviewState, PutManifestError, RepositoryChange, RepositoryRecord, TagStatus, TokenRecord,
    Untag, UploadPart,
};

use crate::backend::record;
use crate::Backend;

fn names(records: Vec<RepositoryRecord>) -> Vec<String> {
    records.into_iter().map(|r| r.name).collect()
}

pub async fn settings_are_kept_and_replaced(b: Backend) {
    let m = &b.metadata;
    assert_eq!(m.get_setting("account_id").await.unwrap(), None);
    m.put_setting("account_id", "123456789012").await.unwrap();
    m.put_setting("account_id", "210987654321").await.unwrap();
    assert_eq!(
        m.get_setting("account_id").await.unwrap().as_deref(),
        Some("210987654321")
    );
    assert_eq!(
        m.delete_setting("account_id").await.unwrap().as_deref(),
        Some("210987654321")
    );
    assert_eq!(m.get_setting("account_id").await.unwrap(), None);
    assert_eq!(m.delete_setting("account_id").await.unwrap(), None);
}

pub async fn repositories_page_in_byte_order_and_names_are_unique(b: Backend) {
    let m = &b.metadata;
    // Byte order, which a locale's collation would not give: '-' < '.' < '/' < '_' < 'a'.
    let all = ["a_b", "ab", "a-b", "a/b", "a.b", "b", "a/b/c"];
    for name in all {
        b.repository(name).await;
    }
    assert_eq!(m.insert_repository(&record("ab"), &[]).await.unwrap(), None);
    let mut expected: Vec<String> = all.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(
        expected,
        ["a-b", "a.b", "a/b", "a/b/c", "a_b", "ab", "b"].map(String::from)
    );
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = names(m.list_repositories(after.as_deref(), 3).await.unwrap());
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 3);
        after = page.last().cloned();
        seen.extend(page);
    }
    assert_eq!(seen, expected);
    let found = m.find_repository("a/b").await.unwrap().unwrap();
    assert_eq!(
        found,
        RepositoryRecord {
            id: found.id,
            ..record("a/b")
        }
    );
    assert_eq!(m.find_repository("a/b/").await.unwrap(), None);
}

pub async fn repository_settings_policies_and_resource_tags_change(b: Backend) {
    let m = &b.metadata;
    let tags = [("team".to_string(), "a".to_string())];
    let id = m
        .insert_repository(&record("app"), &tags)
        .await
        .unwrap()
        .unwrap();
    let exclusions = vec![
        berth_model::ecr::ImageTagMutabilityExclusionFilter {
            filter_type: "WILDCARD".into(),
            filter: "latest".into(),
        },
        berth_model::ecr::ImageTagMutabilityExclusionFilter {
            filter_type: "WILDCARD".into(),
            filter: "dev-*".into(),
        },
    ];
    m.update_repository(
        id,
        RepositoryChange::TagMutability {
            mutability: "IMMUTABLE".into(),
            exclusion_filters: exclusions.clone(),
        },
    )
    .await
    .unwrap();
    m.update_repository(id, RepositoryChange::ScanOnPush(true))
        .await
        .unwrap();
    let policy = r#"{"Version":"2012-10-17","Statement":[]}"#;
    m.update_repository(id, RepositoryChange::Policy(Some(policy.into())))
        .await
        .unwrap();
    let found = m.find_repository("app").await.unwrap().unwrap();
    assert_eq!(found.image_tag_mutability, "IMMUTABLE");
    assert_eq!(
        found.image_tag_mutability_exclusion_filters, exclusions,
        "in the order given"
    );
    assert!(found.scan_on_push);
    assert_eq!(found.policy.as_deref(), Some(policy));
    assert_eq!(
        m.list_repositories(None, 10).await.unwrap()[0]
            .policy
            .as_deref(),
        Some(policy)
    );
    m.update_repository(id, RepositoryChange::Policy(None))
        .await
        .unwrap();
    assert_eq!(
        m.find_repository("app").await.unwrap().unwrap().policy,
        None
    );

    m.put_resource_tags(
        id,
        &[
            ("team".into(), "b".into()),
            ("Cost".into(), "1".into()),
            ("env".into(), "prod".into()),
        ],
    )
    .await
    .unwrap();
    let pairs = |v: &[(&str, &str)]| {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        m.resource_tags(id).await.unwrap(),
        pairs(&[("Cost", "1"), ("env", "prod"), ("team", "b")])
    );
    m.remove_resource_tags(id, &["env".into(), "absent".into()])
        .await
        .unwrap();
    assert_eq!(
        m.resource_tags(id).await.unwrap(),
        pairs(&[("Cost", "1"), ("team", "b")])
    );
}

fn manifest(digest: &str, media_type: &str, subject: Option<&str>) -> ManifestRecord {
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
async fn repository_with_blob(b: &Backend, name: &str) -> i64 {
    let id = b.repository(name).await;
    link(b.metadata.as_ref(), id, &digest(200), 7, 1.0).await;
    id
}

pub async fn a_repository_holding_images_is_deleted_only_by_force(b: Backend) {
    let m = &b.metadata;
    let id = repository_with_blob(&b, "full").await;
    m.put_manifest(id, image(1, &[&digest(200)], Some("v1")))
        .await
        .unwrap();
    m.create_upload("upload-in-full", id, 1.0).await.unwrap();
    assert_eq!(m.count_images(id).await.unwrap(), 1);
    assert!(!m.delete_repository(id, false).await.unwrap());
    assert!(m.find_repository("full").await.unwrap().is_some());
    assert!(m.delete_repository(id, true).await.unwrap());
    assert_eq!(m.find_repository("full").await.unwrap(), None);
    assert_eq!(m.find_upload("upload-in-full").await.unwrap(), None);
    // The name is free again, and the new repository starts empty.
    let again = b.repository("full").await;
    assert_eq!(m.count_images(again).await.unwrap(), 0);
    assert_eq!(m.resolve_tag(again, "v1").await.unwrap(), None);
    let empty = b.repository("empty").await;
    assert!(m.delete_repository(empty, false).await.unwrap());
}

pub fn key(id: &str, user: Option<&str>) -> AccessKey {
    AccessKey {
        access_key_id: id.into(),
        secret_access_key: format!("secret-of-{id}"),
        user_name: user.map(str::to_string),
    }
}

pub async fn users_keys_and_the_one_root_key(b: Backend) {
    let m = &b.metadata;
    assert_eq!(m.root_access_key().await.unwrap(), None);
    assert!(m.add_user("ci", &key("AKIACI", Some("ci"))).await.unwrap());
    assert!(!m.add_user("ci", &key("AKIACI2", Some("ci"))).await.unwrap());
    assert_eq!(m.find_access_key("AKIACI2").await.unwrap(), None);
    assert_eq!(
        m.find_access_key("AKIACI").await.unwrap(),
        Some(key("AKIACI", Some("ci")))
    );
    m.replace_root_access_key(&key("AKIAOLD", None))
        .await
        .unwrap();
    m.replace_root_access_key(&key("AKIANEW", None))
        .await
        .unwrap();
    assert_eq!(m.find_access_key("AKIAOLD").await.unwrap(), None);
    assert_eq!(
        m.root_access_key().await.unwrap(),
        Some(key("AKIANEW", None))
    );
    // Replacing with the same id changes its secret; users' keys are untouched.
    let mut rotated = key("AKIANEW", None);
    rotated.secret_access_key = "rotated".into();
    m.replace_root_access_key(&rotated).await.unwrap();
    assert_eq!(m.root_access_key().await.unwrap(), Some(rotated));
    assert!(m.find_access_key("AKIACI").await.unwrap().is_some());
}

pub async fn tokens_expire_and_die_with_their_key(b: Backend) {
    let m = &b.metadata;
    m.replace_root_access_key(&key("AKIAROOT", None))
        .await
        .unwrap();
    m.add_user("ci", &key("AKIACI", Some("ci"))).await.unwrap();
    let token = |id: &str, user: Option<&str>, expires_at| TokenRecord {
        access_key_id: id.into(),
        user_name: user.map(str::to_string),
        expires_at,
    };
    m.insert_token("old", &token("AKIACI", Some("ci"), 100.0), 50.0)
        .await
        .unwrap();
    m.insert_token("root", &token("AKIAROOT", None, 1000.0), 60.0)
        .await
        .unwrap();
    assert_eq!(
        m.find_token("old").await.unwrap(),
        Some(token("AKIACI", Some("ci"), 100.0))
    );
    // Issuing a token after another expired forgets the expired one.
    m.insert_token("new", &token("AKIACI", Some("ci"), 1100.0), 200.0)
        .await
        .unwrap();
    assert_eq!(m.find_token("old").await.unwrap(), None);
    assert!(m.find_token("new").await.unwrap().is_some());
    // A replaced root key takes its tokens with it.
    m.replace_root_access_key(&key("AKIAOTHER", None))
        .await
        .unwrap();
    assert_eq!(m.find_token("root").await.unwrap(), None);
    assert_eq!(m.find_token("never-issued").await.unwrap(), None);
}

pub async fn blobs_are_linked_mounted_and_unlinked(b: Backend) {
    let m = &b.metadata;
    let a = b.repository("a").await;
    let other = b.repository("other").await;
    let blob = digest(7);
    assert_eq!(m.repository_blob(a, &blob).await.unwrap(), None);
    link(m.as_ref(), a, &blob, 4096, 1.0).await;
    link(m.as_ref(), a, &blob, 4096, 2.0).await;
    assert_eq!(m.repository_blob(a, &blob).await.unwrap(), Some(4096));
    assert_eq!(m.repository_blob(other, &blob).await.unwrap(), None);
    assert_eq!(m.mount_blob(other, a, &blob).await.unwrap(), Some(4096));
    assert_eq!(m.repository_blob(other, &blob).await.unwrap(), Some(4096));
    let third = b.repository("third").await;
    assert_eq!(m.mount_blob(third, third, &blob).await.unwrap(), None);
    assert_eq!(m.mount_blob(third, a, &digest(8)).await.unwrap(), None);
    assert_eq!(m.repository_blob(third, &digest(8)).await.unwrap(), None);
    assert_eq!(m.unlink_blob(a, &blob).await.unwrap(), BlobUnlink::Unlinked);
    assert_eq!(m.unlink_blob(a, &blob).await.unwrap(), BlobUnlink::NotFound);
    assert_eq!(m.repository_blob(a, &blob).await.unwrap(), None);
    assert_eq!(m.repository_blob(other, &blob).await.unwrap(), Some(4096));
}

pub async fn manifests_need_their_blobs_and_children(b: Backend) {
    let m = &b.metadata;
    let id = repository_with_blob(&b, "app").await;
    match m
        .put_manifest(id, image(1, &[&digest(200), &digest(201)], Some("v1")))
        .await
    {
        Err(PutManifestError::MissingBlob(missing)) => assert_eq!(missing, digest(201)),
        other => panic!("expected MissingBlob, got {other:?}"),
    }
    assert_eq!(m.find_manifest(id, &digest(1)).await.unwrap(), None);
    assert_eq!(m.resolve_tag(id, "v1").await.unwrap(), None);
    let index = |children: &[String]| NewManifest {
        record: manifest(&digest(9), OCI_INDEX, None),
        blobs: Vec::new(),
        children: children.to_vec(),
        tag: Some("multi".into()),
        tag_immutable: false,
    };
    match m.put_manifest(id, index(&[digest(1)])).await {
        Err(PutManifestError::MissingManifest(missing)) => assert_eq!(missing, digest(1)),
        other => panic!("expected MissingManifest, got {other:?}"),
    }
    m.put_manifest(id, image(1, &[&digest(200)], None))
        .await
        .unwrap();
    m.put_manifest(id, image(2, &[&digest(200)], None))
        .await
        .unwrap();
    m.put_manifest(id, index(&[digest(1), digest(2)]))
        .await
        .unwrap();
    let stored = m.find_manifest(id, &digest(9)).await.unwrap().unwrap();
    assert_eq!(stored, manifest(&digest(9), OCI_INDEX, None));
    assert_eq!(m.resolve_tag(id, "multi").await.unwrap(), Some(digest(9)));
    // A manifest of another repository is not this one's.
    let other = b.repository("other").await;
    assert_eq!(m.find_manifest(other, &digest(9)).await.unwrap(), None);
}

pub async fn tags_move_unless_immutable_and_list_in_byte_order(b: Backend) {
    let m = &b.metadata;
    let id = repository_with_blob(&b, "app").await;
    for n in 1..=3 {
        m.put_manifest(id, image(n, &[&digest(200)], None))
            .await
            .unwrap();
    }
    m.put_manifest(id, image(1, &[], Some("latest")))
        .await
        .unwrap();
    m.put_manifest(id, image(2, &[], Some("latest")))
        .await
        .unwrap();
    assert_eq!(m.resolve_tag(id, "latest").await.unwrap(), Some(digest(2)));
    let mut pinned = image(3, &[], Some("v1"));
    pinned.tag_immutable = true;
    m.put_manifest(id, pinned.clone()).await.unwrap();
    m.put_manifest(id, pinned).await.unwrap();
    let mut moved = image(1, &[], Some("v1"));
    moved.tag_immutable = true;
    match m.put_manifest(id, moved).await {
        Err(PutManifestError::TagImmutable(tag)) => assert_eq!(tag, "v1"),
        other => panic!("expected TagImmutable, got {other:?}"),
    }
    assert_eq!(m.resolve_tag(id, "v1").await.unwrap(), Some(digest(3)));

    // Byte order: upper case before lower case, '-' before '.' before '_'.
    for tag in ["a1", "B1", "a-1", "a.1", "a_1", "A"] {
        m.put_manifest(id, image(1, &[], Some(tag))).await.unwrap();
    }
    let all = m.list_tags(id, None, 100).await.unwrap();
    assert_eq!(
        all,
        ["A", "B1", "a-1", "a.1", "a1", "a_1", "latest", "v1"].map(String::from)
    );
    assert_eq!(
        m.list_tags(id, Some("a.1"), 2).await.unwrap(),
        ["a1", "a_1"].map(String::from)
    );
    assert_eq!(
        m.tags_of(id, &digest(1)).await.unwrap(),
        ["A", "B1", "a-1", "a.1", "a1", "a_1"].map(String::from)
    );
    assert_eq!(
        m.untag(id, "B1", false).await.unwrap(),
        Untag::Removed(digest(1))
    );
    assert_eq!(m.untag(id, "B1", false).await.unwrap(), Untag::NotFound);
    assert_eq!(m.resolve_tag(id, "B1").await.unwrap(), None);
    assert!(m.find_manifest(id, &digest(1)).await.unwrap().is_some());
}

pub async fn deleting_a_manifest_deletes_its_tags(b: Backend) {
    let m = &b.metadata;
    let id = repository_with_blob(&b, "app").await;
    m.put_manifest(id, image(1, &[&digest(200)], Some("one")))
        .await
        .unwrap();
    m.put_manifest(id, image(1, &[], Some("uno")))
        .await
        .unwrap();
    m.put_manifest(id, image(2, &[&digest(200)], Some("two")))
        .await
        .unwrap();
    assert_eq!(
        m.delete_image(id, &digest(1)).await.unwrap(),
        ImageDeletion::Deleted
    );
    assert_eq!(
        m.delete_image(id, &digest(1)).await.unwrap(),
        ImageDeletion::NotFound
    );
    assert_eq!(m.resolve_tag(id, "one").await.unwrap(), None);
    assert_eq!(m.resolve_tag(id, "uno").await.unwrap(), None);
    assert_eq!(m.list_tags(id, None, 10).await.unwrap(), ["two"]);
    assert_eq!(m.count_images(id).await.unwrap(), 1);
}

pub async fn images_list_by_tag_status_with_referrers_and_sizes(b: Backend) {
    let m = &b.metadata;
    let id = repository_with_blob(&b, "app").await;
    m.put_manifest(id, image(1, &[&digest(200)], Some("v1")))
        .await
        .unwrap();
    m.put_manifest(id, image(1, &[], Some("stable")))
        .await
        .unwrap();
    m.put_manifest(id, image(2, &[&digest(200)], None))
        .await
        .unwrap();
    let mut signature = image(3, &[], None);
    signature.record = manifest(&digest(3), OCI_MANIFEST, Some(&digest(1)));
    signature.record.artifact_type = Some("application/vnd.example.signature".into());
    signature.record.image_size = 50;
    m.put_manifest(id, signature.clone()).await.unwrap();

    let listed = |status| async move {
        m.list_images(id, None, 10, status)
            .await
            .unwrap()
            .into_iter()
            .map(|(record, tags)| {
                assert!(record.content.is_empty(), "listings leave content out");
                (record.digest, tags)
            })
            .collect::<Vec<_>>()
    };
    let tags = |t: &[&str]| t.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        listed(TagStatus::Any).await,
        vec![
            (digest(1), tags(&["stable", "v1"])),
            (digest(2), tags(&[])),
            (digest(3), tags(&[])),
        ]
    );
    assert_eq!(
        listed(TagStatus::Tagged).await,
        vec![(digest(1), tags(&["stable", "v1"]))]
    );
    assert_eq!(
        listed(TagStatus::Untagged).await,
        vec![(digest(2), tags(&[])), (digest(3), tags(&[]))]
    );
    let page = m
        .list_images(id, Some(&digest(1)), 1, TagStatus::Any)
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].0.digest, digest(2));

    let referrers = m.referrers(id, &digest(1)).await.unwrap();
    assert_eq!(referrers, vec![signature.record]);
    assert!(m.referrers(id, &digest(2)).await.unwrap().is_empty());

    assert_eq!(
        m.manifests_size(id, &[digest(1), digest(3), digest(99)])
            .await
            .unwrap(),
        150
    );
    m.record_pull(id, &digest(2), 1_800_000_000.5)
        .await
        .unwrap();
    assert_eq!(
        m.find_manifest(id, &digest(2))
            .await
            .unwrap()
            .unwrap()
            .last_pulled_at,
        Some(1_800_000_000.5)
    );
}

fn part(offset: u64, size: u64, name: &str) -> UploadPart {
    UploadPart {
        offset,
        size,
        key: format!("uploads/u/{name}"),
        digest: digest(offset as u8),
    }
}

pub async fn upload_parts_are_recorded_only_where_the_upload_ends(b: Backend) {
    let m = &b.metadata;
    let id = b.repository("app").await;
    assert_eq!(m.find_upload("u").await.unwrap(), None);
    assert_eq!(m.upload_parts("u").await.unwrap(), None);
    assert!(!m.add_upload_part("u", &part(0, 5, "a")).await.unwrap());
    m.create_upload("u", id, 1.0).await.unwrap();
    assert_eq!(m.find_upload("u").await.unwrap(), Some(id));
    assert_eq!(m.upload_parts("u").await.unwrap(), Some(vec![]));
    assert!(!m.add_upload_part("u", &part(3, 5, "early")).await.unwrap());
    assert!(m.add_upload_part("u", &part(0, 5, "a")).await.unwrap());
    assert!(!m.add_upload_part("u", &part(0, 9, "again")).await.unwrap());
    assert!(m.add_upload_part("u", &part(5, 2, "b")).await.unwrap());
    assert!(m.add_upload_part("u", &part(7, 1, "c")).await.unwrap());
    assert_eq!(
        m.upload_parts("u").await.unwrap(),
        Some(vec![part(0, 5, "a"), part(5, 2, "b"), part(7, 1, "c")])
    );
    assert!(m.delete_upload("u").await.unwrap());
    assert!(!m.delete_upload("u").await.unwrap());
    assert_eq!(m.upload_parts("u").await.unwrap(), None);
    // A new session under the same id starts from nothing.
    m.create_upload("u", id, 2.0).await.unwrap();
    assert_eq!(m.upload_parts("u").await.unwrap(), Some(vec![]));
    assert!(m.add_upload_part("u", &part(0, 1, "fresh")).await.unwrap());
}

pub async fn job_locks_admit_one_holder_until_dropped(b: Backend) {
    let (other, _) = b.open().await.unwrap();
    let gc = Job::GarbageCollection;
    let held = b.metadata.lock_job(gc, false).await.unwrap().expect("free");
    assert!(other.lock_job(gc, false).await.unwrap().is_none());
    assert!(b.metadata.lock_job(gc, false).await.unwrap().is_none());
    let bootstrap = other.lock_job(Job::Bootstrap, false).await.unwrap();
    assert!(bootstrap.is_some(), "another job's lock is independent");
    let waiting =
        tokio::spawn(async move { other.lock_job(gc, true).await.map(|lease| (lease, other)) });
    drop(held);
    let (taken, _other) = tokio::time::timeout(std::time::Duration::from_secs(30), waiting)
        .await
        .expect("the waiting process gets the lock once it is free")
        .unwrap()
        .unwrap();
    assert!(taken.is_some());
    assert!(b.metadata.lock_job(gc, false).await.unwrap().is_none());
    drop(taken);
    assert!(b.metadata.lock_job(gc, false).await.unwrap().is_some());
}

pub async fn unreferenced_blobs_are_found_and_swept_only_while_unreferenced(b: Backend) {
    let m = &b.metadata;
    let id = b.repository("app").await;
    for n in [201, 202, 203] {
        link(m.as_ref(), id, &digest(n), n as u64, 10.0).await;
    }
    link(m.as_ref(), id, &digest(204), 204, 500.0).await;
    let listed = |before: f64| async move {
        m.unreferenced_blobs(before, None, 10)
            .await
            .unwrap()
            .into_iter()
            .map(|(d, size)| (d.to_string(), size))
            .collect::<Vec<_>>()
    };
    assert!(listed(1000.0).await.is_empty(), "linked blobs are live");
    // 201 is referenced by a manifest after its link goes; 202 and 204 are unlinked.
    m.put_manifest(id, image(1, &[&digest(201)], None))
        .await
        .unwrap();
    for n in [201, 202, 204] {
        assert_eq!(
            m.unlink_blob(id, &digest(n)).await.unwrap(),
            if n == 201 {
                BlobUnlink::ReferencedBy(vec![digest(1)])
            } else {
                BlobUnlink::Unlinked
            }
        );
    }
    assert_eq!(
        listed(1000.0).await,
        vec![(digest(202), 202), (digest(204), 204)]
    );
    // Recorded after the run started: not this run's to free.
    assert_eq!(listed(100.0).await, vec![(digest(202), 202)]);
    assert_eq!(
        m.unreferenced_blobs(1000.0, Some(&digest(202)), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    let removed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let remove_bytes: berth_registry::storage::RemoveBytes = {
        let removed = removed.clone();
        std::sync::Arc::new(move |d: Digest| {
            removed.lock().unwrap().push(d.to_string());
            Box::pin(async { Ok(()) })
        })
    };
    let parsed = |n: u8| Digest::parse(&digest(n)).unwrap();
    // 203 was linked again since the snapshot: the locked check keeps it; 201 is
    // referenced; 99 has bytes but no record (a crash's leftover).
    let outcome = m
        .sweep_blobs(
            &[
                parsed(201),
                parsed(202),
                parsed(203),
                parsed(204),
                parsed(99),
            ],
            100.0,
            remove_bytes,
        )
        .await
        .unwrap();
    let swept: Vec<String> = outcome.swept.iter().map(|d| d.to_string()).collect();
    assert_eq!(swept, vec![digest(202), digest(99)]);
    assert!(outcome.failures.is_empty());
    assert_eq!(*removed.lock().unwrap(), vec![digest(202), digest(99)]);
    assert_eq!(
        m.unrecorded_blobs(&[parsed(201), parsed(202), parsed(99)])
            .await
            .unwrap(),
        vec![parsed(202), parsed(99)]
    );
    // A swept blob pushed again is a whole new blob.
    link(m.as_ref(), id, &digest(202), 202, 2000.0).await;
    assert_eq!(
        m.repository_blob(id, &digest(202)).await.unwrap(),
        Some(202)
    );
}

pub async fn uploads_started_before_a_time_are_listed(b: Backend) {
    let m = &b.metadata;
    let id = b.repository("app").await;
    m.create_upload("old", id, 10.0).await.unwrap();
    m.create_upload("new", id, 30.0).await.unwrap();
    let ids = |records: Vec<berth_registry::storage::UploadRecord>| {
        records
            .into_iter()
            .map(|r| (r.id, r.repository_id, r.started_at))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        ids(m.uploads_started_before(20.0).await.unwrap()),
        vec![("old".to_string(), id, 10.0)]
    );
    assert_eq!(ids(m.uploads_started_before(31.0).await.unwrap()).len(), 2);
}

pub async fn migrations_run_once_when_processes_start_together(b: Backend) {
    // Each start opens the store, which migrates it; three at once must all succeed
    // and agree on the data.
    let (first, second, third) = tokio::join!(b.open(), b.open(), b.open());
    let (first, second, third) = (first.unwrap().0, second.unwrap().0, third.unwrap().0);
    first.put_setting("seen", "yes").await.unwrap();
    assert_eq!(
        second.get_setting("seen").await.unwrap().as_deref(),
        Some("yes")
    );
    assert_eq!(
        third.get_setting("seen").await.unwrap().as_deref(),
        Some("yes")
    );
}

pub async fn users_are_listed_removed_and_their_keys_replaced(b: Backend) {
    let m = &b.metadata;
    assert!(m
        .add_user("ops", &key("AKIAOPS", Some("ops")))
        .await
        .unwrap());
    assert!(m.add_user("ci", &key("AKIACI", Some("ci"))).await.unwrap());
    let token = |id: &str, user: &str| TokenRecord {
        access_key_id: id.into(),
        user_name: Some(user.into()),
        expires_at: 1e12,
    };
    m.insert_token("ci-token", &token("AKIACI", "ci"), 1.0)
        .await
        .unwrap();
    m.insert_token("ops-token", &token("AKIAOPS", "ops"), 1.0)
        .await
        .unwrap();
    let listed = m.list_users().await.unwrap();
    let names: Vec<(&str, Vec<String>)> = listed
        .iter()
        .map(|u| (u.user_name.as_str(), u.access_key_ids.clone()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("ci", vec!["AKIACI".to_string()]),
            ("ops", vec!["AKIAOPS".to_string()])
        ]
    );
    assert!(m
        .replace_user_key("ci", &key("AKIACI2", Some("ci")))
        .await
        .unwrap());
    assert_eq!(m.find_access_key("AKIACI").await.unwrap(), None);
    assert_eq!(
        m.find_token("ci-token").await.unwrap(),
        None,
        "the old key's tokens die with it"
    );
    assert!(m.find_access_key("AKIACI2").await.unwrap().is_some());
    assert!(!m
        .replace_user_key("nobody", &key("AKIAX", Some("nobody")))
        .await
        .unwrap());
    assert!(m.remove_user("ops").await.unwrap());
    assert!(!m.remove_user("ops").await.unwrap());
    assert_eq!(m.find_access_key("AKIAOPS").await.unwrap(), None);
    assert_eq!(m.find_token("ops-token").await.unwrap(), None);
    assert_eq!(m.list_users().await.unwrap().len(), 1);
}

pub async fn deletions_keep_what_indexes_and_pushes_still_need(b: Backend) {
    let m = &b.metadata;
    let id = b.repository("app").await;
    for n in [200, 201, 202, 203] {
        link(m.as_ref(), id, &digest(n), n as u64, 1.0).await;
    }
    // Image 1 has its own layer 201, image 2 its own 202; both share 200.
    m.put_manifest(id, image(1, &[&digest(200), &digest(201)], Some("one")))
        .await
        .unwrap();
    m.put_manifest(id, image(2, &[&digest(200), &digest(202)], Some("two")))
        .await
        .unwrap();
    let mut index = image(9, &[], Some("multi"));
    index.record = manifest(&digest(9), OCI_INDEX, None);
    index.children = vec![digest(1)];
    m.put_manifest(id, index).await.unwrap();

    assert_eq!(
        m.delete_image(id, &digest(1)).await.unwrap(),
        ImageDeletion::ReferencedBy(vec![digest(9)])
    );
    assert_eq!(
        m.untag(id, "one", true).await.unwrap(),
        Untag::ReferencedBy(vec![digest(9)])
    );
    assert_eq!(
        m.resolve_tag(id, "one").await.unwrap(),
        Some(digest(1)),
        "nothing changed"
    );
    assert_eq!(
        m.untag(id, "multi", true).await.unwrap(),
        Untag::ImageDeleted(digest(9))
    );
    // A push confirms it still has layer 201 after image 1 was pushed: the link stays
    // when image 1 goes. Layer 202 was not confirmed: it goes with image 2.
    let pushed_at = 1_700_000_100.5;
    assert_eq!(
        m.claim_blob(id, &digest(201), pushed_at + 10.0)
            .await
            .unwrap(),
        Some(201)
    );
    assert_eq!(
        m.delete_image(id, &digest(1)).await.unwrap(),
        ImageDeletion::Deleted
    );
    assert_eq!(
        m.repository_blob(id, &digest(201)).await.unwrap(),
        Some(201)
    );
    assert_eq!(
        m.repository_blob(id, &digest(200)).await.unwrap(),
        Some(200),
        "image 2 needs it"
    );
    assert_eq!(
        m.untag(id, "two", true).await.unwrap(),
        Untag::ImageDeleted(digest(2))
    );
    assert_eq!(m.repository_blob(id, &digest(202)).await.unwrap(), None);
    assert_eq!(m.repository_blob(id, &digest(200)).await.unwrap(), None);
    assert_eq!(
        m.repository_blob(id, &digest(203)).await.unwrap(),
        Some(203),
        "no image had it"
    );
    assert_eq!(m.count_images(id).await.unwrap(), 0);
    assert!(m.dangling_references().await.unwrap().is_empty());
    let records: Vec<String> = m
        .blob_records()
        .await
        .unwrap()
        .into_iter()
        .map(|(d, _)| d)
        .collect();
    assert_eq!(records, [200, 201, 202, 203].map(digest));
}

pub async fn lifecycle_policies_and_previews_are_kept_per_repository(b: Backend) {
    let m = &b.metadata;
    let a = b.repository("a").await;
    let z = b.repository("z").await;
    b.repository("none").await;
    assert_eq!(m.lifecycle_policy(a).await.unwrap(), None);
    m.put_lifecycle_policy(a, "policy-a").await.unwrap();
    m.put_lifecycle_policy(z, "policy-z").await.unwrap();
    m.record_lifecycle_evaluation(a, "policy-a", 50.0)
        .await
        .unwrap();
    m.record_lifecycle_evaluation(z, "an older text", 50.0)
        .await
        .unwrap();
    assert_eq!(
        m.lifecycle_policy(a)
            .await
            .unwrap()
            .unwrap()
            .last_evaluated_at,
        Some(50.0)
    );
    assert_eq!(
        m.lifecycle_policy(z)
            .await
            .unwrap()
            .unwrap()
            .last_evaluated_at,
        None
    );
    let listed: Vec<String> = m
        .lifecycle_policies(None, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|(r, p)| format!("{}={}", r.name, p.text))
        .collect();
    assert_eq!(listed, ["a=policy-a", "z=policy-z"]);
    assert_eq!(m.lifecycle_policies(Some("a"), 10).await.unwrap().len(), 1);
    m.put_lifecycle_policy(a, "policy-a2").await.unwrap();
    assert_eq!(
        m.lifecycle_policy(a)
            .await
            .unwrap()
            .unwrap()
            .last_evaluated_at,
        None,
        "a new text is unevaluated"
    );
    let deleted = m.delete_lifecycle_policy(a).await.unwrap().unwrap();
    assert_eq!(deleted.text, "policy-a2");
    assert_eq!(m.delete_lifecycle_policy(a).await.unwrap(), None);

    assert!(m
        .start_lifecycle_preview(z, "draft", 100.0, 90.0)
        .await
        .unwrap());
    assert!(
        !m.start_lifecycle_preview(z, "other", 101.0, 90.0)
            .await
            .unwrap(),
        "one runs"
    );
    assert!(
        m.start_lifecycle_preview(z, "other", 102.0, 101.0)
            .await
            .unwrap(),
        "a stale run is replaced"
    );
    m.finish_lifecycle_preview(z, 100.0, PreviewState::Complete("stale".into()))
        .await
        .unwrap();
    assert_eq!(
        m.lifecycle_preview(z).await.unwrap().unwrap().state,
        PreviewState::Running
    );
    m.finish_lifecycle_preview(z, 102.0, PreviewState::Complete("result".into()))
        .await
        .unwrap();
    let preview = m.lifecycle_preview(z).await.unwrap().unwrap();
    assert_eq!(
        (
            preview.policy_text.as_str(),
            preview.started_at,
            preview.state
        ),
        ("other", 102.0, PreviewState::Complete("result".into()))
    );
    assert!(m
        .start_lifecycle_preview(z, "third", 103.0, 0.0)
        .await
        .unwrap());
    assert_eq!(m.lifecycle_preview(a).await.unwrap(), None);
}

pub async fn postgres_announces_changes_at_commit(b: Backend) {
    let Some(url) = b.database_url() else {
        return; // The embedded store has one process: nothing to announce to.
    };
    use futures_util::StreamExt;
    let (client, mut connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    let (sender, mut received) = tokio::sync::mpsc::unbounded_channel();
    let stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
    tokio::spawn(stream.for_each(move |message| {
        if let Ok(tokio_postgres::AsyncMessage::Notification(n)) = message {
            let _ = sender.send(n.payload().to_string());
        }
        async {}
    }));
    client.batch_execute("LISTEN berth_changes").await.unwrap();
    let id = repository_with_blob(&b, "app").await;
    b.metadata
        .put_manifest(id, image(1, &[&digest(200)], Some("latest")))
        .await
        .unwrap();
    let expected = format!("tags:{id}");
    let wait = async {
        while let Some(payload) = received.recv().await {
            if payload == expected {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), wait)
        .await
        .expect("a moved tag is announced");
}
