//! Uploads, job locks, garbage collection, migrations, lifecycle policies, change announcements.

use super::*;

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
