use super::*;
use crate::storage::sqlite::changes::SqliteChanges;
use crate::storage::sqlite::SqliteMetadata;

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "berth-cache-test-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repository(name: &str) -> RepositoryRecord {
    RepositoryRecord {
        id: 0,
        policy: None,
        name: name.into(),
        created_at: 1.0,
        image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
        scan_on_push: false,
        encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
        kms_key: None,
        image_tag_mutability_exclusion_filters: vec![],
    }
}

fn manifest(digest: &str, tag: &str) -> NewManifest {
    NewManifest {
        record: ManifestRecord {
            digest: digest.into(),
            media_type: berth_model::oci::OCI_MANIFEST.into(),
            artifact_type: None,
            content: digest.as_bytes().to_vec(),
            image_size: 0,
            pushed_at: 1.0,
            last_pulled_at: None,
            subject: None,
        },
        blobs: vec![],
        children: vec![],
        tag: Some(tag.into()),
        tag_immutable: false,
    }
}

/// A cache over one connection set, and a second store on the same file standing
/// in for another process.
fn cache_and_other() -> (CachedMetadata, SqliteMetadata) {
    let dir = tempdir();
    let store = SqliteMetadata::open(&dir).unwrap();
    let feed = SqliteChanges::open(&dir).unwrap();
    let other = SqliteMetadata::open(&dir).unwrap();
    (CachedMetadata::new(Arc::new(store), Box::new(feed)), other)
}

#[tokio::test]
async fn what_another_process_commits_is_read_next() {
    let (cache, other) = cache_and_other();
    let id = other
        .insert_repository(&repository("app"), &[])
        .await
        .unwrap()
        .unwrap();
    other
        .put_manifest(id, manifest("sha256:a", "latest"))
        .await
        .unwrap();
    for _ in 0..2 {
        assert_eq!(
            cache.resolve_tag(id, "latest").await.unwrap().as_deref(),
            Some("sha256:a")
        );
        assert!(cache
            .find_repository("app")
            .await
            .unwrap()
            .unwrap()
            .policy
            .is_none());
        assert!(cache.find_manifest(id, "sha256:a").await.unwrap().is_some());
    }

    other
        .put_manifest(id, manifest("sha256:b", "latest"))
        .await
        .unwrap();
    assert_eq!(
        cache.resolve_tag(id, "latest").await.unwrap().as_deref(),
        Some("sha256:b")
    );

    other
        .update_repository(id, RepositoryChange::Policy(Some("{}".into())))
        .await
        .unwrap();
    assert_eq!(
        cache
            .find_repository("app")
            .await
            .unwrap()
            .unwrap()
            .policy
            .as_deref(),
        Some("{}")
    );

    other.delete_image(id, "sha256:a").await.unwrap();
    assert_eq!(cache.find_manifest(id, "sha256:a").await.unwrap(), None);

    other.delete_repository(id, true).await.unwrap();
    assert_eq!(cache.find_repository("app").await.unwrap(), None);
    assert_eq!(cache.resolve_tag(id, "latest").await.unwrap(), None);
}

#[tokio::test]
async fn a_removed_key_and_its_tokens_are_forgotten_at_once() {
    let (cache, other) = cache_and_other();
    let key = AccessKey {
        access_key_id: "AKIAUSER".into(),
        secret_access_key: "s".into(),
        user_name: Some("ci".into()),
    };
    assert!(other.add_user("ci", &key).await.unwrap());
    let token = TokenRecord {
        access_key_id: "AKIAUSER".into(),
        user_name: Some("ci".into()),
        expires_at: f64::MAX,
    };
    other.insert_token("hash", &token, 0.0).await.unwrap();
    for _ in 0..2 {
        assert!(cache.find_access_key("AKIAUSER").await.unwrap().is_some());
        assert!(cache.find_token("hash").await.unwrap().is_some());
    }
    assert!(other.remove_user("ci").await.unwrap());
    assert_eq!(cache.find_access_key("AKIAUSER").await.unwrap(), None);
    assert_eq!(cache.find_token("hash").await.unwrap(), None);
}

#[tokio::test]
async fn settings_added_changed_and_deleted_elsewhere_are_read_next() {
    let (cache, other) = cache_and_other();
    for _ in 0..2 {
        assert_eq!(cache.get_setting("registry_policy").await.unwrap(), None);
    }
    other.put_setting("registry_policy", "{1}").await.unwrap();
    assert_eq!(
        cache
            .get_setting("registry_policy")
            .await
            .unwrap()
            .as_deref(),
        Some("{1}")
    );
    other.put_setting("registry_policy", "{2}").await.unwrap();
    assert_eq!(
        cache
            .get_setting("registry_policy")
            .await
            .unwrap()
            .as_deref(),
        Some("{2}")
    );
    other.delete_setting("registry_policy").await.unwrap();
    assert_eq!(cache.get_setting("registry_policy").await.unwrap(), None);
}

/// Reports what it is told to, as a feed would what others committed.
#[derive(Default)]
struct ToldFeed {
    next: Mutex<Vec<Changed>>,
}

#[async_trait]
impl ChangeFeed for Arc<ToldFeed> {
    async fn poll(&self) -> Result<Changed> {
        Ok(self.next.lock().unwrap().pop().unwrap_or(Changed::Nothing))
    }
}

#[tokio::test]
async fn a_read_that_a_change_overtook_is_not_kept() {
    let dir = tempdir();
    let store = SqliteMetadata::open(&dir).unwrap();
    let feed = Arc::new(ToldFeed::default());
    let cache = CachedMetadata::new(Arc::new(store), Box::new(feed.clone()));
    let epoch = cache.fresh().await.unwrap();
    // Another request applies a change between this one's read and its fill.
    feed.next
        .lock()
        .unwrap()
        .push(Changed::Some(vec![Change::Tags(1)]));
    cache.fresh().await.unwrap();
    cache.fill(epoch, |c| {
        c.tags
            .entry(1)
            .or_default()
            .insert("latest".into(), "sha256:old".into());
    });
    assert!(cache.lock().tags.is_empty());
}

#[tokio::test]
async fn one_request_asks_once_unless_it_writes() {
    let dir = tempdir();
    let store = SqliteMetadata::open(&dir).unwrap();
    let feed = Arc::new(ToldFeed::default());
    let cache = CachedMetadata::new(Arc::new(store), Box::new(feed.clone()));
    one_request(async {
        cache.fresh().await.unwrap();
        feed.next.lock().unwrap().push(Changed::Everything);
        cache.fresh().await.unwrap();
        assert_eq!(feed.next.lock().unwrap().len(), 1, "asked once");
        cache.put_setting("k", "v").await.unwrap();
        cache.fresh().await.unwrap();
        assert!(
            feed.next.lock().unwrap().is_empty(),
            "asked again after a write"
        );
    })
    .await;
}

#[test]
fn repositories_with_large_policies_stay_within_the_byte_bound() {
    let mut cached = Cached::default();
    let policy = "x".repeat(10_240);
    let bound = 200_000;
    for i in 0..100 {
        let mut record = repository(&format!("team/app-{i}"));
        record.id = i;
        record.policy = Some(policy.clone());
        cached.keep_repository(&record.name.clone(), record, bound);
        let counted: usize = cached.repositories.values().map(repository_size).sum();
        assert_eq!(cached.repository_bytes, counted);
        assert!(
            cached.repository_bytes <= bound,
            "{}",
            cached.repository_bytes
        );
    }
    assert!(!cached.repositories.is_empty());
    // Kept again (a newer read of the same repository): counted once.
    let name = cached.repositories.keys().next().unwrap().clone();
    let record = cached.repositories[&name].clone();
    let before = cached.repository_bytes;
    cached.keep_repository(&name, record.clone(), bound);
    assert_eq!(cached.repository_bytes, before);
    // Changed elsewhere: forgotten, and its bytes with it.
    cached.apply(Changed::Some(vec![Change::Repository(record.id)]));
    assert!(!cached.repositories.contains_key(&name));
    assert_eq!(cached.repository_bytes, before - repository_size(&record));
}
