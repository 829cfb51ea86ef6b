//! Users, access keys and registry tokens.

use super::*;

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
