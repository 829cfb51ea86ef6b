//! Blob files streamed to a response: in large chunks, verified as they go unless
//! already verified whole.

use std::sync::Arc;

use berth_model::oci::Digest;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};

use super::integrity::{FileIdentity, Integrity, Verdict};
use super::READ_CHUNK;
use crate::storage::ByteStream;

/// `length` bytes from the file's position as a stream of large chunks, for a range
/// of a blob verified whole. A blocking thread reads the file straight into each
/// chunk's buffer (tokio's `File` would read into its own buffer and copy again), at
/// most two chunks ahead of the socket.
pub(super) fn stream_range(file: std::fs::File, length: u64) -> ByteStream {
    // Not started unless the caller streams instead of sending the file.
    futures_util::stream::once(async move { start_range(file, length) })
        .flatten()
        .boxed()
}

pub(super) fn start_range(mut file: std::fs::File, length: u64) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::task::spawn_blocking(move || {
        let mut left = length;
        while left > 0 {
            let want = left.min(READ_CHUNK as u64) as usize;
            let chunk = match read_chunk(&mut file, want) {
                Ok(chunk) => chunk,
                Err(e) => {
                    let _ = sender.blocking_send(Err(e));
                    return;
                }
            };
            let filled = chunk.len();
            if filled == 0 {
                return;
            }
            left -= filled as u64;
            // A closed channel means the client went away: stop reading.
            if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() || filled < want {
                return;
            }
        }
    });
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

/// The file's bytes as a stream read on a blocking thread, checked by `check`.
pub(super) fn stream_checked(file: std::fs::File, size: u64, check: StreamCheck) -> ByteStream {
    let (sender, receiver) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(2);
    tokio::task::spawn_blocking(move || stream_file(file, size, check, &sender));
    futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|item| (item, receiver))
    })
    .boxed()
}

/// What a download verifies as it streams.
pub(super) struct StreamCheck {
    pub(super) digest: Digest,
    pub(super) hex: String,
    pub(super) identity: FileIdentity,
    /// `None` when this very file was hashed before and matched.
    pub(super) hasher: Option<Sha256>,
    pub(super) integrity: Arc<Integrity>,
}

impl StreamCheck {
    pub(super) fn damaged(&self, what: &str) -> std::io::Error {
        eprintln!(
            "berth-registry: blob {} is damaged ({what}); the download was cut off, and the blob counts as missing until pushed again",
            self.digest
        );
        self.integrity
            .record(&self.hex, self.identity, Verdict::Damaged);
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("blob {} is damaged: {what}", self.digest),
        )
    }
}

/// Sends `size` bytes of `file` in chunks; the last one only after the whole
/// hashed to the digest (or was known to). Stops when the receiver goes away.
pub(super) fn stream_file(
    mut file: std::fs::File,
    size: u64,
    mut check: StreamCheck,
    sender: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
) {
    let mut sent = 0u64;
    while sent < size {
        let want = (size - sent).min(READ_CHUNK as u64) as usize;
        let chunk = match read_chunk(&mut file, want) {
            Ok(chunk) => chunk,
            Err(e) => {
                let _ = sender.blocking_send(Err(e));
                return;
            }
        };
        if chunk.len() < want {
            let _ = sender.blocking_send(Err(check.damaged("shorter than stored")));
            return;
        }
        if let Some(hasher) = check.hasher.as_mut() {
            hasher.update(&chunk);
        }
        sent += want as u64;
        if sent == size {
            if let Some(hasher) = check.hasher.take() {
                if Digest::from_sha256(&hasher.finalize()) != check.digest {
                    let _ = sender.blocking_send(Err(check.damaged("its bytes do not match")));
                    return;
                }
                check
                    .integrity
                    .record(&check.hex, check.identity, Verdict::Intact);
            }
        }
        // A closed channel means the client went away: stop reading.
        if sender.blocking_send(Ok(Bytes::from(chunk))).is_err() {
            return;
        }
    }
}

/// Up to `want` bytes from the file's position, read straight into the chunk's own
/// buffer; fewer only at the end of the file.
fn read_chunk(file: &mut std::fs::File, want: usize) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut chunk = vec![0u8; want];
    let mut filled = 0;
    while filled < want {
        match file.read(&mut chunk[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    chunk.truncate(filled);
    Ok(chunk)
}
