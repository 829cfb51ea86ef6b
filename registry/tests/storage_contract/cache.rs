//! The cache a server puts in front of either metadata store: what another process
//! changes is what the cache's next request reads.

use berth_registry::storage::cache::one_request;
use berth_registry::storage::{Metadata, NewManifest, RepositoryChange, TokenRecord};

use crate::metadata::{digest, image, link};
use crate::Backend;

/// Reads in a request of their own, as the server runs each request.
async fn tag(cache: &dyn Metadata, id: i64) -> Option<String> {
    one_request(cache.resolve_tag(id, "latest")).await.unwrap()
}

pub async fn a_cache_reads_what_another_process_changed_next(b: Backend) {
    let cache = b.cached().await.unwrap();
    let other = &b.metadata;
    let id = b.repository("app").await;
    link(other.as_ref(), id, &digest(200), 7, 1.0).await;
    let put = |n: u8| -> NewManifest { image(n, &[&digest(200)], Some("latest")) };
    other.put_manifest(id, put(1)).await.unwrap();
    // Read twice: the second is served from the cache.
    for _ in 0..2 {
        assert_eq!(tag(cache.as_ref(), id).await, Some(digest(1)));
    }
    other.put_manifest(id, put(2)).await.unwrap();
    assert_eq!(tag(cache.as_ref(), id).await, Some(digest(2)));
    other.untag(id, "latest", false).await.unwrap();
    assert_eq!(tag(cache.as_ref(), id).await, None);

    // A repository's policy, set and removed.
    let policy = |cache: std::sync::Arc<dyn Metadata>| async move {
        one_request(cache.find_repository("app"))
            .await
            .unwrap()
            .unwrap()
            .policy
    };
    assert_eq!(policy(cache.clone()).await, None);
    other
        .update_repository(id, RepositoryChange::Policy(Some("{}".into())))
        .await
        .unwrap();
    assert_eq!(policy(cache.clone()).await.as_deref(), Some("{}"));
    other
        .update_repository(id, RepositoryChange::Policy(None))
        .await
        .unwrap();
    assert_eq!(policy(cache.clone()).await, None);

    // A setting, absent at first (absence is cached too).
    let setting = |cache: std::sync::Arc<dyn Metadata>| async move {
        one_request(cache.get_setting("registry_policy"))
            .await
            .unwrap()
    };
    assert_eq!(setting(cache.clone()).await, None);
    other.put_setting("registry_policy", "{1}").await.unwrap();
    assert_eq!(setting(cache.clone()).await.as_deref(), Some("{1}"));
    other.delete_setting("registry_policy").await.unwrap();
    assert_eq!(setting(cache.clone()).await, None);

    // A token, revoked with its key.
    other
        .add_user("ci", &crate::metadata::key("AKIACI", Some("ci")))
        .await
        .unwrap();
    let token = TokenRecord {
        access_key_id: "AKIACI".into(),
        user_name: Some("ci".into()),
        expires_at: 1e12,
    };
    other.insert_token("t", &token, 1.0).await.unwrap();
    assert_eq!(
        one_request(cache.find_token("t")).await.unwrap(),
        Some(token)
    );
    other.remove_user("ci").await.unwrap();
    assert_eq!(one_request(cache.find_token("t")).await.unwrap(), None);

    // A pull recorded through another process is part of the manifest's record.
    other.put_manifest(id, put(3)).await.unwrap();
    let pulled = |cache: std::sync::Arc<dyn Metadata>| async move {
        one_request(cache.find_manifest(id, &digest(3)))
            .await
            .unwrap()
            .unwrap()
            .last_pulled_at
    };
    assert_eq!(pulled(cache.clone()).await, None);
    other.record_pull(id, &digest(3), 5.0).await.unwrap();
    assert_eq!(pulled(cache.clone()).await, Some(5.0));
}
