//! The `Blobs` contract, with upload sessions kept in `Metadata` as the services
//! keep them.

use std::sync::Arc;

use berth_model::oci::Digest;
use berth_registry::storage::{
    BlobCheck, BlobError, BlobStep, Blobs, ByteStream, Metadata, PublishError,
};
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::Digest as _;

use crate::Backend;

const MIB: usize = 1 << 20;

fn digest_of(bytes: &[u8]) -> Digest {
    Digest::from_sha256(&sha2::Sha256::digest(bytes))
}

/// Pseudo-random bytes (incompressible, distinct per seed).
fn content(len: usize, seed: u8) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut block = sha2::Sha256::digest([seed]);
    while out.len() < len {
        out.extend_from_slice(&block);
        block = sha2::Sha256::digest(block);
    }
    out.truncate(len);
    out
}

/// A body delivered in pieces of `piece` bytes, as a socket delivers it.
fn body(bytes: &[u8], piece: usize) -> ByteStream {
    let pieces: Vec<std::io::Result<Bytes>> = bytes
        .chunks(piece.max(1))
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    futures_util::stream::iter(pieces).boxed()
}

/// A body that breaks after `bytes`, as a client that goes away does.
fn broken_body(bytes: &[u8]) -> ByteStream {
    let items: Vec<std::io::Result<Bytes>> = vec![
        Ok(Bytes::copy_from_slice(bytes)),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    futures_util::stream::iter(items).boxed()
}

/// Starts an upload session as the services do: in the metadata, then the blob store.
async fn start(b: &Backend, id: &str) {
    let repository = match b.metadata.find_repository("app").await.unwrap() {
        Some(r) => r.id,
        None => b.repository("app").await,
    };
    b.metadata.create_upload(id, repository, 1.0).await.unwrap();
    b.blobs.start_upload(id).await.unwrap();
}

/// Verifies, publishes under the metadata store's lock, then forgets the session,
/// as the services do.
async fn finish(
    metadata: &Arc<dyn Metadata>,
    blobs: &Arc<dyn Blobs>,
    id: &str,
    expected: &Digest,
) -> Result<u64, BlobError> {
    let repository = metadata.find_upload(id).await.unwrap().expect("a session");
    let published = async {
        let size = blobs.verify_upload(id, expected).await?;
        let (store, upload, target) = (blobs.clone(), id.to_string(), expected.clone());
        let put_bytes: BlobStep =
            Box::pin(async move { store.publish_upload(&upload, &target).await });
        match metadata
            .publish_blob(repository, expected, size, 1.0, put_bytes)
            .await
        {
            Ok(()) => Ok(size),
            Err(PublishError::Blob(e)) => Err(e),
            Err(PublishError::Storage(e)) => panic!("metadata store failed: {e}"),
        }
    }
    .await;
    if published.is_err() {
        blobs.cancel_upload(id).await;
    }
    metadata.delete_upload(id).await.unwrap();
    published
}

/// The blob's bytes, read as a pull reads them: with the size recorded for it.
async fn read_all(blobs: &Arc<dyn Blobs>, digest: &Digest) -> Vec<u8> {
    let size = blobs.stat(digest).await.unwrap().expect("stored");
    let read = blobs.read(digest, size).await.unwrap();
    let mut stream = read.stream;
    let mut out = Vec::with_capacity(read.size as usize);
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(out.len() as u64, read.size);
    out
}

pub async fn chunks_append_in_order_and_finish_verified(b: Backend) {
    let data = content(3000, 1);
    start(&b, "u").await;
    assert_eq!(b.blobs.upload_size("u").await.unwrap(), 0);
    assert_eq!(
        b.blobs
            .append("u", Some(0), body(&data[..1000], 100))
            .await
            .unwrap(),
        1000
    );
    assert_eq!(
        b.blobs
            .append("u", None, body(&data[1000..1001], 1))
            .await
            .unwrap(),
        1001
    );
    assert_eq!(
        b.blobs
            .append("u", Some(1001), body(&data[1001..], 999))
            .await
            .unwrap(),
        3000
    );
    assert_eq!(b.blobs.upload_size("u").await.unwrap(), 3000);
    let expected = digest_of(&data);
    assert_eq!(b.blobs.stat(&expected).await.unwrap(), None);
    assert_eq!(
        finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap(),
        3000
    );
    assert_eq!(b.blobs.stat(&expected).await.unwrap(), Some(3000));
    assert_eq!(read_all(&b.blobs, &expected).await, data);
    assert!(matches!(
        b.blobs.upload_size("u").await,
        Err(BlobError::UnknownUpload(_))
    ));
    assert!(matches!(
        b.blobs.read(&digest_of(b"never stored"), 12).await,
        Err(BlobError::NotFound(_))
    ));
}

pub async fn a_chunk_at_the_wrong_offset_changes_nothing(b: Backend) {
    let data = content(200, 2);
    start(&b, "u").await;
    b.blobs
        .append("u", Some(0), body(&data[..100], 64))
        .await
        .unwrap();
    for wrong in [0, 50, 101] {
        match b
            .blobs
            .append("u", Some(wrong), body(&data[100..], 64))
            .await
        {
            Err(BlobError::RangeMismatch { size, start }) => {
                assert_eq!((size, start), (100, wrong))
            }
            other => panic!("expected RangeMismatch, got {other:?}"),
        }
    }
    assert_eq!(b.blobs.upload_size("u").await.unwrap(), 100);
    b.blobs
        .append("u", Some(100), body(&data[100..], 64))
        .await
        .unwrap();
    assert_eq!(
        finish(&b.metadata, &b.blobs, "u", &digest_of(&data))
            .await
            .unwrap(),
        200
    );
}

pub async fn a_body_failing_midway_changes_nothing(b: Backend) {
    let data = content(3 * MIB, 3);
    start(&b, "u").await;
    b.blobs
        .append("u", Some(0), body(&data[..MIB], 64 << 10))
        .await
        .unwrap();
    match b
        .blobs
        .append("u", Some(MIB as u64), broken_body(&data[MIB..2 * MIB]))
        .await
    {
        Err(BlobError::Body(_)) => {}
        other => panic!("expected a body error, got {other:?}"),
    }
    assert_eq!(b.blobs.upload_size("u").await.unwrap(), MIB as u64);
    b.blobs
        .append("u", Some(MIB as u64), body(&data[MIB..], 64 << 10))
        .await
        .unwrap();
    let expected = digest_of(&data);
    finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap();
    assert_eq!(read_all(&b.blobs, &expected).await, data);
}

pub async fn a_wrong_digest_discards_the_upload_and_stores_nothing(b: Backend) {
    let data = content(5000, 4);
    let claimed = digest_of(b"something else");
    for (id, pieces) in [("single", 1), ("several", 3)] {
        start(&b, id).await;
        for chunk in data.chunks(data.len().div_ceil(pieces)) {
            b.blobs.append(id, None, body(chunk, 512)).await.unwrap();
        }
        match finish(&b.metadata, &b.blobs, id, &claimed).await {
            Err(BlobError::DigestMismatch { expected, actual }) => {
                assert_eq!(expected, claimed.to_string());
                assert_eq!(actual, digest_of(&data).to_string());
            }
            other => panic!("expected DigestMismatch, got {other:?}"),
        }
        assert_eq!(b.blobs.stat(&claimed).await.unwrap(), None);
        assert_eq!(b.blobs.stat(&digest_of(&data)).await.unwrap(), None);
    }
}

pub async fn many_small_chunks_make_one_large_blob(b: Backend) {
    // Chunks far below S3's 5 MiB multipart minimum, adding up to more than one
    // multipart part: the store must put them together itself.
    let data = content(19 * MIB + 12_345, 5);
    start(&b, "u").await;
    let mut offset = 0u64;
    for chunk in data.chunks(MIB + 777) {
        offset = b
            .blobs
            .append("u", Some(offset), body(chunk, 64 << 10))
            .await
            .unwrap();
    }
    assert_eq!(offset, data.len() as u64);
    let expected = digest_of(&data);
    assert_eq!(
        finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap(),
        data.len() as u64
    );
    assert_eq!(read_all(&b.blobs, &expected).await, data);
}

pub async fn one_large_chunk_is_one_blob(b: Backend) {
    let data = content(21 * MIB, 6);
    start(&b, "u").await;
    b.blobs
        .append("u", Some(0), body(&data, 256 << 10))
        .await
        .unwrap();
    b.blobs.append("u", None, body(&[], 1)).await.unwrap();
    let expected = digest_of(&data);
    finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap();
    assert_eq!(
        b.blobs.stat(&expected).await.unwrap(),
        Some(data.len() as u64)
    );
    assert_eq!(read_all(&b.blobs, &expected).await, data);
}

pub async fn an_empty_blob_is_a_blob(b: Backend) {
    start(&b, "u").await;
    let empty = digest_of(b"");
    assert_eq!(finish(&b.metadata, &b.blobs, "u", &empty).await.unwrap(), 0);
    assert_eq!(b.blobs.stat(&empty).await.unwrap(), Some(0));
    assert!(read_all(&b.blobs, &empty).await.is_empty());
}

pub async fn a_blob_uploaded_twice_is_stored_once(b: Backend) {
    let data = content(10 * MIB, 7);
    let expected = digest_of(&data);
    for (id, piece) in [("first", data.len()), ("second", 3 * MIB)] {
        start(&b, id).await;
        for chunk in data.chunks(piece) {
            b.blobs
                .append(id, None, body(chunk, 1 << 16))
                .await
                .unwrap();
        }
        assert_eq!(
            finish(&b.metadata, &b.blobs, id, &expected).await.unwrap(),
            data.len() as u64
        );
    }
    assert_eq!(read_all(&b.blobs, &expected).await, data);
    // The same bytes claimed under another digest are still refused.
    start(&b, "third").await;
    b.blobs
        .append("third", None, body(&data, 1 << 20))
        .await
        .unwrap();
    assert!(matches!(
        finish(&b.metadata, &b.blobs, "third", &digest_of(b"x")).await,
        Err(BlobError::DigestMismatch { .. })
    ));
}

pub async fn a_cancelled_upload_is_gone(b: Backend) {
    start(&b, "u").await;
    b.blobs
        .append("u", None, body(&content(1000, 8), 100))
        .await
        .unwrap();
    b.blobs.cancel_upload("u").await;
    b.metadata.delete_upload("u").await.unwrap();
    assert!(matches!(
        b.blobs.upload_size("u").await,
        Err(BlobError::UnknownUpload(_))
    ));
    assert!(matches!(
        b.blobs.append("u", None, body(b"more", 4)).await,
        Err(BlobError::UnknownUpload(_))
    ));
}

pub async fn an_upload_continues_on_another_process(b: Backend) {
    if !b.shared() {
        return; // One process owns an embedded data dir.
    }
    let (metadata2, blobs2) = b.open().await.unwrap();
    let data = content(7 * MIB + 3, 9);
    start(&b, "u").await;
    let mut offset = 0;
    for (i, chunk) in data.chunks(MIB).enumerate() {
        let blobs = if i % 2 == 0 { &b.blobs } else { &blobs2 };
        offset = blobs
            .append("u", Some(offset), body(chunk, 1 << 16))
            .await
            .unwrap();
        let other = if i % 2 == 0 { &blobs2 } else { &b.blobs };
        assert_eq!(other.upload_size("u").await.unwrap(), offset);
    }
    let expected = digest_of(&data);
    finish(&metadata2, &blobs2, "u", &expected).await.unwrap();
    assert_eq!(read_all(&b.blobs, &expected).await, data);
}

pub async fn two_processes_appending_at_one_offset_cannot_both_win(b: Backend) {
    if !b.shared() {
        return;
    }
    let (_, blobs2) = b.open().await.unwrap();
    start(&b, "u").await;
    let (one, two) = (content(MIB, 10), content(MIB, 11));
    let (first, second) = tokio::join!(
        b.blobs.append("u", Some(0), body(&one, 1 << 16)),
        blobs2.append("u", Some(0), body(&two, 1 << 16)),
    );
    let winners = [&first, &second].iter().filter(|r| r.is_ok()).count();
    assert_eq!(winners, 1, "{first:?} {second:?}");
    let loser = if first.is_ok() { &second } else { &first };
    assert!(
        matches!(loser, Err(BlobError::RangeMismatch { size, start: 0 }) if *size == MIB as u64),
        "{loser:?}"
    );
    let won = if first.is_ok() { &one } else { &two };
    let expected = digest_of(won);
    finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap();
    assert_eq!(read_all(&blobs2, &expected).await, *won);
}

pub async fn presigned_urls_serve_the_bytes_where_the_store_has_them(b: Backend) {
    let data = content(70_000, 12);
    let expected = digest_of(&data);
    start(&b, "u").await;
    b.blobs.append("u", None, body(&data, 4096)).await.unwrap();
    finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap();
    let url = b
        .blobs
        .presigned_url(&expected, std::time::Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(
        url.is_some(),
        b.shared(),
        "object stores presign, files do not"
    );
    if let Some(url) = url {
        let fetched = tokio::task::spawn_blocking(move || http_get(&url))
            .await
            .unwrap();
        assert_eq!(fetched, data);
    }
}

pub async fn stored_blobs_list_in_digest_order_and_read_in_ranges(b: Backend) {
    let mut stored = Vec::new();
    for seed in 20..25 {
        let data = content(1000 + seed as usize, seed);
        let id = format!("u{seed}");
        start(&b, &id).await;
        b.blobs.append(&id, None, body(&data, 300)).await.unwrap();
        let digest = digest_of(&data);
        finish(&b.metadata, &b.blobs, &id, &digest).await.unwrap();
        stored.push((digest, data));
    }
    stored.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
    let listed = b.blobs.list_blobs(None, 100).await.unwrap();
    let expected: Vec<(String, u64)> = stored
        .iter()
        .map(|(d, data)| (d.to_string(), data.len() as u64))
        .collect();
    let got: Vec<(String, u64)> = listed
        .iter()
        .map(|s| (s.digest.to_string(), s.size))
        .collect();
    assert_eq!(got, expected);
    let page = b.blobs.list_blobs(Some(&stored[1].0), 2).await.unwrap();
    assert_eq!(
        page.iter().map(|s| s.digest.clone()).collect::<Vec<_>>(),
        vec![stored[2].0.clone(), stored[3].0.clone()]
    );
    let (digest, data) = &stored[0];
    let part = b.blobs.read_range(digest, 10, 99).await.unwrap();
    assert_eq!(part.size, data.len() as u64, "the whole blob's size");
    let mut bytes = Vec::new();
    let mut stream = part.stream;
    while let Some(chunk) = stream.next().await {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(bytes, data[10..100]);
    assert!(b
        .blobs
        .read_range(digest, 0, data.len() as u64)
        .await
        .is_err());
    b.blobs.delete_blob(digest).await.unwrap();
    b.blobs.delete_blob(digest).await.unwrap();
    assert_eq!(b.blobs.stat(digest).await.unwrap(), None);
}

pub async fn upload_sessions_with_bytes_are_listed_until_cancelled(b: Backend) {
    start(&b, &uuid(1)).await;
    start(&b, &uuid(2)).await;
    b.blobs
        .append(&uuid(1), None, body(&content(500, 30), 100))
        .await
        .unwrap();
    b.blobs
        .append(&uuid(1), None, body(&content(250, 31), 100))
        .await
        .unwrap();
    let before = berth_registry::clock::now_epoch_seconds() - 60.0;
    let listed = b.blobs.list_uploads().await.unwrap();
    let one = listed.iter().find(|u| u.id == uuid(1)).expect("listed");
    assert_eq!(one.size, 750);
    assert!(one.modified > before);
    b.blobs.cancel_upload(&uuid(1)).await;
    assert!(b
        .blobs
        .list_uploads()
        .await
        .unwrap()
        .iter()
        .all(|u| u.id != uuid(1)));
}

fn uuid(n: u8) -> String {
    format!("00000000-0000-4000-8000-{:012}", n)
}

pub async fn damaged_blobs_are_never_served_whole_and_can_be_quarantined(b: Backend) {
    let data = content(300_000, 40);
    let expected = digest_of(&data);
    start(&b, "u").await;
    b.blobs
        .append("u", None, body(&data, 65_536))
        .await
        .unwrap();
    finish(&b.metadata, &b.blobs, "u", &expected).await.unwrap();
    assert_eq!(read_all(&b.blobs, &expected).await, data);

    let mut damaged = data.clone();
    damaged[150_000] ^= 0xff;
    b.damage(&expected, &damaged).await;
    let read = b.blobs.read(&expected, data.len() as u64).await.unwrap();
    let chunks: Vec<std::io::Result<Bytes>> = read.stream.collect().await;
    let served: usize = chunks
        .iter()
        .filter_map(|c| c.as_ref().ok())
        .map(Bytes::len)
        .sum();
    assert!(
        chunks.last().is_some_and(|c| c.is_err()),
        "the stream ends with an error"
    );
    assert!(served < data.len(), "never the whole of a damaged blob");
    assert_eq!(
        b.blobs.stat(&expected).await.unwrap(),
        None,
        "damaged counts as missing"
    );
    assert!(b.blobs.read_range(&expected, 0, 9).await.is_err());

    match b.blobs.verify(&expected, true).await.unwrap() {
        BlobCheck::Corrupt {
            actual,
            size,
            quarantined,
        } => {
            assert_eq!(actual, digest_of(&damaged).to_string());
            assert_eq!(size, data.len() as u64);
            assert!(quarantined.is_some());
        }
        other => panic!("expected Corrupt, got {other:?}"),
    }
    assert_eq!(
        b.blobs.verify(&expected, false).await.unwrap(),
        BlobCheck::Missing
    );
    // The next push of the blob stores it anew.
    start(&b, "again").await;
    b.blobs
        .append("again", None, body(&data, 65_536))
        .await
        .unwrap();
    finish(&b.metadata, &b.blobs, "again", &expected)
        .await
        .unwrap();
    assert_eq!(read_all(&b.blobs, &expected).await, data);
    assert_eq!(
        b.blobs.verify(&expected, false).await.unwrap(),
        BlobCheck::Intact(data.len() as u64)
    );
}

/// A plain HTTP/1.1 GET, as a client given the URL (and no credentials) does.
fn http_get(url: &str) -> Vec<u8> {
    use std::io::{Read, Write};
    let rest = url
        .strip_prefix("http://")
        .expect("an http:// test endpoint");
    let (authority, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = std::net::TcpStream::connect(authority).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "{head}"
    );
    response[split + 4..].to_vec()
}
