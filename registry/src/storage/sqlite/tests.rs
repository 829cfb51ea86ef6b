use super::*;

fn record(name: &str) -> RepositoryRecord {
    RepositoryRecord {
        id: 0,
        policy: None,
        name: name.into(),
        created_at: 1.5,
        image_tag_mutability: berth_model::ecr::TAG_MUTABLE.into(),
        image_tag_mutability_exclusion_filters: Vec::new(),
        scan_on_push: true,
        encryption_type: berth_model::ecr::ENCRYPTION_AES256.into(),
        kms_key: None,
    }
}

#[tokio::test]
async fn repositories_page_by_name_and_refuse_duplicates() {
    let store = SqliteMetadata::open(&tempdir()).unwrap();
    for name in ["c", "a", "b"] {
        assert!(store
            .insert_repository(&record(name), &[])
            .await
            .unwrap()
            .is_some());
    }
    assert_eq!(
        store.insert_repository(&record("a"), &[]).await.unwrap(),
        None
    );
    let names =
        |records: Vec<RepositoryRecord>| records.into_iter().map(|r| r.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_repositories(None, 2).await.unwrap()),
        ["a", "b"]
    );
    assert_eq!(
        names(store.list_repositories(Some("b"), 2).await.unwrap()),
        ["c"]
    );
    let found = store.find_repository("b").await.unwrap().unwrap();
    assert_eq!(
        found,
        RepositoryRecord {
            id: found.id,
            ..record("b")
        }
    );
}

#[tokio::test]
async fn a_deleted_setting_says_what_it_held() {
    let store = SqliteMetadata::open(&tempdir()).unwrap();
    assert_eq!(store.delete_setting("registry_policy").await.unwrap(), None);
    store.put_setting("registry_policy", "{}").await.unwrap();
    assert_eq!(
        store
            .delete_setting("registry_policy")
            .await
            .unwrap()
            .as_deref(),
        Some("{}")
    );
    assert_eq!(store.get_setting("registry_policy").await.unwrap(), None);
    assert_eq!(store.delete_setting("registry_policy").await.unwrap(), None);
}

#[tokio::test]
async fn users_are_unique_and_keys_found() {
    let store = SqliteMetadata::open(&tempdir()).unwrap();
    let key = AccessKey {
        access_key_id: "AKIA1".into(),
        secret_access_key: "s".into(),
        user_name: Some("ci".into()),
    };
    assert!(store.add_user("ci", &key).await.unwrap());
    assert!(!store.add_user("ci", &key).await.unwrap());
    assert_eq!(store.find_access_key("AKIA1").await.unwrap(), Some(key));
    assert_eq!(store.find_access_key("nope").await.unwrap(), None);
}

#[tokio::test]
async fn removed_and_rotated_user_keys_and_their_tokens_stop_working() {
    let store = SqliteMetadata::open(&tempdir()).unwrap();
    let key = |id: &str, user: &str| AccessKey {
        access_key_id: id.into(),
        secret_access_key: "s".into(),
        user_name: Some(user.into()),
    };
    let token = |id: &str, user: &str| TokenRecord {
        access_key_id: id.into(),
        user_name: Some(user.into()),
        expires_at: f64::MAX,
    };
    assert!(store.add_user("ci", &key("AKIACI1", "ci")).await.unwrap());
    assert!(store
        .add_user("viewer", &key("AKIAVIEW", "viewer"))
        .await
        .unwrap());
    store
        .insert_token("t-ci", &token("AKIACI1", "ci"), 0.0)
        .await
        .unwrap();
    store
        .insert_token("t-view", &token("AKIAVIEW", "viewer"), 0.0)
        .await
        .unwrap();

    assert!(store
        .replace_user_key("ci", &key("AKIACI2", "ci"))
        .await
        .unwrap());
    assert_eq!(store.find_access_key("AKIACI1").await.unwrap(), None);
    assert_eq!(store.find_token("t-ci").await.unwrap(), None);
    assert!(store.find_access_key("AKIACI2").await.unwrap().is_some());
    assert!(!store
        .replace_user_key("nobody", &key("AKIAX", "nobody"))
        .await
        .unwrap());

    assert!(store.remove_user("viewer").await.unwrap());
    assert!(!store.remove_user("viewer").await.unwrap());
    assert_eq!(store.find_access_key("AKIAVIEW").await.unwrap(), None);
    assert_eq!(store.find_token("t-view").await.unwrap(), None);
    let users = store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].user_name, "ci");
    assert_eq!(users[0].access_key_ids, ["AKIACI2"]);
}

#[tokio::test]
async fn a_new_root_key_revokes_the_old_one() {
    let store = SqliteMetadata::open(&tempdir()).unwrap();
    let root = |id: &str| AccessKey {
        access_key_id: id.into(),
        secret_access_key: "s".into(),
        user_name: None,
    };
    store
        .replace_root_access_key(&root("AKIAOLD"))
        .await
        .unwrap();
    store
        .replace_root_access_key(&root("AKIANEW"))
        .await
        .unwrap();
    assert_eq!(store.find_access_key("AKIAOLD").await.unwrap(), None);
    assert_eq!(
        store.root_access_key().await.unwrap(),
        Some(root("AKIANEW"))
    );
}

#[tokio::test]
async fn a_data_dir_from_before_versioned_migrations_is_upgraded_in_place() {
    let dir = tempdir();
    {
        // What registries before user_version created: the first schema, version 0.
        let old = Connection::open(dir.join(DATABASE_FILE)).unwrap();
        old.execute_batch(migrations::SQLITE[0].sql).unwrap();
        old.execute(
                "INSERT INTO repositories (name, created_at, image_tag_mutability, scan_on_push, encryption_type)
                 VALUES ('kept', 1.0, 'MUTABLE', 0, 'AES256')",
                [],
            )
            .unwrap();
    }
    let store = SqliteMetadata::open(&dir).unwrap();
    assert!(store.find_repository("kept").await.unwrap().is_some());
    let version: i64 = store
        .call(|c| Ok::<_, StorageError>(c.pragma_query_value(None, "user_version", |r| r.get(0))?))
        .await
        .unwrap();
    assert_eq!(version, migrations::SQLITE.last().unwrap().version);
    let id = store.find_repository("kept").await.unwrap().unwrap().id;
    store.create_upload("u", id, 1.0).await.unwrap();
    assert_eq!(store.upload_parts("u").await.unwrap(), Some(vec![]));
    drop(store);
    // Opening again applies nothing twice.
    SqliteMetadata::open(&dir).unwrap();
}

#[test]
fn a_database_from_a_newer_registry_is_refused() {
    let dir = tempdir();
    let newer = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    newer.pragma_update(None, "user_version", 999).unwrap();
    drop(newer);
    let error = SqliteMetadata::open(&dir).err().expect("refused").0;
    assert!(error.contains("schema version 999"), "{error}");
}

fn tempdir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "berth-store-test-{}-{}",
        std::process::id(),
        rand::random::<u64>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
