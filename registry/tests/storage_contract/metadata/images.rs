//! Blobs, manifests, tags and images.

use super::*;

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
