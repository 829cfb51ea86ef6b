//! Objects can be damaged after they were written (an operator, a faulty gateway, a
//! restore): every read is verified against the digest as it streams, and the last
//! chunk is held back until the whole matches, so a damaged blob is never served
//! whole. What a process has verified is remembered per object version (its ETag),
//! which any rewrite changes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use berth_model::oci::Digest;
use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};

use crate::storage::ByteStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Intact,
    Damaged,
}

/// Verdicts by digest, for the object version they were reached on.
#[derive(Default)]
pub struct Integrity {
    known: Mutex<HashMap<String, (Option<String>, Verdict)>>,
}

impl Integrity {
    pub fn verdict(&self, digest: &Digest, e_tag: &Option<String>) -> Option<Verdict> {
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        match known.get(digest.hex()) {
            Some((tag, verdict)) if e_tag.is_some() && tag == e_tag => Some(*verdict),
            _ => None,
        }
    }

    pub fn record(&self, digest: &Digest, e_tag: Option<String>, verdict: Verdict) {
        if verdict == Verdict::Damaged {
            eprintln!(
                "berth-registry: blob {digest} is damaged in the object store; it counts as missing until pushed again"
            );
        }
        self.known
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(digest.hex().to_string(), (e_tag, verdict));
    }
}

/// `stream` hashed as it passes, its last chunk released only once the whole hashes
/// to `digest`; otherwise the stream ends with an error instead.
pub fn verified(
    stream: ByteStream,
    digest: Digest,
    e_tag: Option<String>,
    integrity: Arc<Integrity>,
) -> ByteStream {
    struct State {
        inner: ByteStream,
        hasher: Option<Sha256>,
        held: Option<Bytes>,
        digest: Digest,
        e_tag: Option<String>,
        integrity: Arc<Integrity>,
    }
    let state = State {
        inner: stream,
        hasher: Some(Sha256::new()),
        held: None,
        digest,
        e_tag,
        integrity,
    };
    futures_util::stream::unfold(state, |mut state| async move {
        loop {
            let hasher = state.hasher.as_mut()?;
            match state.inner.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    if let Some(previous) = state.held.replace(chunk) {
                        return Some((Ok(previous), state));
                    }
                }
                Some(Err(error)) => {
                    state.hasher = None;
                    return Some((Err(error), state));
                }
                None => {
                    let actual = Digest::from_sha256(&state.hasher.take()?.finalize());
                    if actual == state.digest {
                        state
                            .integrity
                            .record(&state.digest, state.e_tag.clone(), Verdict::Intact);
                        let last = state.held.take()?;
                        return Some((Ok(last), state));
                    }
                    state
                        .integrity
                        .record(&state.digest, state.e_tag.clone(), Verdict::Damaged);
                    let error = std::io::Error::other(format!(
                        "blob {} is damaged: its bytes do not match",
                        state.digest
                    ));
                    return Some((Err(error), state));
                }
            }
        }
    })
    .boxed()
}
