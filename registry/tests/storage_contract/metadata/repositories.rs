//! Repositories and registry settings.

use super::*;

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
