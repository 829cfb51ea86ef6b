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

/// A transaction that logged a tag move over an hour before it committed, its log rows
/// pruned by another process right after the commit: the cache must not keep serving
/// the old tag (PostgreSQL only; the embedded store's feed keeps no log).
pub async fn a_change_pruned_before_this_process_read_it_still_reaches_it(b: Backend) {
    let Some(url) = b.database_url() else {
        return;
    };
    let cache = b.cached().await.unwrap();
    let other = &b.metadata;
    let id = b.repository("app").await;
    link(other.as_ref(), id, &digest(200), 7, 1.0).await;
    for n in [1, 2] {
        let image = image(
            n,
            &[&digest(200)],
            Some(if n == 1 { "latest" } else { "next" }),
        );
        other.put_manifest(id, image).await.unwrap();
    }
    assert_eq!(tag(cache.as_ref(), id).await, Some(digest(1)));

    let (mut client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let long = client.transaction().await.unwrap();
    long.execute(
        "UPDATE tags SET digest = $2 WHERE repository_id = $1 AND tag = 'latest'",
        &[&id, &digest(2)],
    )
    .await
    .unwrap();
    // This process polls while the long transaction runs: its horizon stays before it.
    assert_eq!(tag(cache.as_ref(), id).await, Some(digest(1)));
    long.execute(
        "UPDATE change_log SET at = now() - interval '2 hours' WHERE xid = pg_current_xact_id()",
        &[],
    )
    .await
    .unwrap();
    long.commit().await.unwrap();
    let pruned = client
        .execute(
            berth_registry::storage::postgres::changes::PRUNE,
            &[&3600.0f64],
        )
        .await
        .unwrap();
    assert_eq!(pruned, 1, "the mark is set once");
    assert_eq!(tag(cache.as_ref(), id).await, Some(digest(2)));
}
