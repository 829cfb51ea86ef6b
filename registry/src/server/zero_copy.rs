//! Blob bytes from a file to the socket with `sendfile(2)`: the kernel moves them from
//! the page cache to the socket, with no copy through this process.
//!
//! hyper writes a response's head and body itself and cannot be handed a file. So a
//! [`FileBody`] gives hyper placeholder chunks — slices of one static buffer,
//! [`PLACEHOLDER`] — as long as the file, and the connection's socket wrapper,
//! recognizing them by their address, sends that many bytes of the file in their
//! place. hyper writes its queue in order, so the head goes first and the file's
//! bytes follow exactly where the body belongs. This needs hyper to hand the chunks
//! over as they are (its `writev` queue, which the server forces), and is offered
//! only on HTTP/1 connections over plain TCP (HTTP/2 copies chunks into frames).
//!
//! Only files the blob store has verified are sent this way (see
//! `storage::BlobRead::verified_file`): a file whose bytes are not known to match
//! its digest must stream through the hashing path, which never sends a damaged blob
//! whole.

use std::fs::File;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use axum::body::Bytes;
use hyper::body::{Frame, SizeHint};
use tokio::io::Interest;
use tokio::net::TcpStream;

/// Placeholder chunks point into this; it is never read (it sits in `.bss`, costing
/// no memory until touched).
static PLACEHOLDER: [u8; CHUNK] = [0; CHUNK];
/// The largest placeholder chunk: one `sendfile` call's worth, at most.
const CHUNK: usize = 4 << 20;

/// Whether a buffer handed to the socket is a placeholder for file bytes.
pub(super) fn is_placeholder(buffer: &[u8]) -> bool {
    let start = PLACEHOLDER.as_ptr() as usize;
    let at = buffer.as_ptr() as usize;
    !buffer.is_empty() && at >= start && at < start + CHUNK
}

/// The file whose bytes the placeholders stand for, on one connection.
#[derive(Default)]
pub(super) struct Pending {
    file: Option<File>,
    offset: u64,
    left: u64,
}

/// Lets a response on this connection send a file; a request extension, present on
/// HTTP/1 requests served by [`super::serve`].
#[derive(Clone)]
pub struct ZeroCopy(pub(super) Arc<Mutex<Pending>>);

impl ZeroCopy {
    /// A body that sends `length` bytes of `file` from `offset`; the file must be
    /// verified, and at least that long.
    pub fn body(&self, file: File, offset: u64, length: u64) -> FileBody {
        FileBody {
            pending: self.0.clone(),
            file: Some(file),
            offset,
            left: length,
        }
    }
}

/// A response body of placeholders (see the module docs).
pub struct FileBody {
    pending: Arc<Mutex<Pending>>,
    /// Handed to the connection at the first poll, before hyper writes anything.
    file: Option<File>,
    offset: u64,
    left: u64,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        if let Some(file) = this.file.take() {
            *this.pending.lock().unwrap_or_else(|p| p.into_inner()) = Pending {
                file: Some(file),
                offset: this.offset,
                left: this.left,
            };
        }
        if this.left == 0 {
            return Poll::Ready(None);
        }
        let length = this.left.min(CHUNK as u64) as usize;
        this.left -= length as u64;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(
            &PLACEHOLDER[..length],
        )))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// Sends up to `length` bytes of the pending file in place of a placeholder of that
/// length; how many went.
pub(super) fn poll_send(
    pending: &Mutex<Pending>,
    stream: &TcpStream,
    cx: &mut Context<'_>,
    length: usize,
) -> Poll<io::Result<usize>> {
    let mut pending = pending.lock().unwrap_or_else(|p| p.into_inner());
    let Pending { file, offset, left } = &mut *pending;
    let Some(file) = file.as_ref() else {
        // Never send the placeholder itself: zeros would pass for blob bytes.
        return Poll::Ready(Err(io::Error::other(
            "a file body's bytes reached the socket without their file",
        )));
    };
    if length as u64 > *left {
        return Poll::Ready(Err(io::Error::other(
            "a file body is longer than the file it sends",
        )));
    }
    loop {
        ready!(stream.poll_write_ready(cx))?;
        match stream.try_io(Interest::WRITABLE, || send(stream, file, *offset, length)) {
            Ok(0) => {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the blob file is shorter than it was",
                )))
            }
            Ok(sent) => {
                *offset += sent as u64;
                *left -= sent as u64;
                return Poll::Ready(Ok(sent));
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Poll::Ready(Err(e)),
        }
    }
}

#[cfg(target_os = "linux")]
fn send(stream: &TcpStream, file: &File, offset: u64, length: usize) -> io::Result<usize> {
    use std::os::fd::AsRawFd;
    let mut at = libc::off_t::try_from(offset).map_err(io::Error::other)?;
    // SAFETY: both descriptors are open for the duration of the call, and `at` is a
    // valid off_t the kernel advances.
    let sent = unsafe { libc::sendfile(stream.as_raw_fd(), file.as_raw_fd(), &mut at, length) };
    if sent < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(sent as usize)
    }
}

/// Not offered elsewhere (see [`super::serve`]), so never called.
#[cfg(not(target_os = "linux"))]
fn send(_stream: &TcpStream, _file: &File, _offset: u64, _length: usize) -> io::Result<usize> {
    Err(io::ErrorKind::Unsupported.into())
}
