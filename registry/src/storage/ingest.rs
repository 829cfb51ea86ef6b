//! An upload's bytes on their way from the socket to a file, hashed on the way.
//!
//! Three things run side by side, each on its own thread: this task takes the body's
//! chunks off the socket, one blocking thread hashes them, another writes them to
//! the file. The chunks are shared (reference-counted), never copied: the only copies
//! are the kernel's, from the socket and into the page cache. Bounded channels hold
//! each side at most [`IN_FLIGHT`] chunks ahead of the slowest.
//!
//! The writer asks the kernel to start writing each 8 MiB to disk as soon as it is
//! written ([`start_writeback`]), so the fsync that makes a finished upload durable
//! finds little left to do instead of the whole blob.

use std::fs::File;
use std::io::{self, IoSlice, Write};

use bytes::Bytes;
use futures_util::StreamExt;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc;

use super::ByteStream;

/// Chunks a thread may fall behind the socket by (hyper's chunks are at most a few
/// hundred KiB, so a few MiB per upload).
const IN_FLIGHT: usize = 16;
/// At most this many chunks go to the file in one `writev`.
const BATCH: usize = 64;
/// Written bytes handed to the disk at a time.
const WRITEBACK_WINDOW: u64 = 8 << 20;

/// Why the bytes did not all arrive in the file.
#[derive(Debug)]
pub enum IngestError {
    /// The body broke off.
    Body(io::Error),
    /// The file could not be written.
    File(io::Error),
}

/// Appends `body` to `file` (open for appending, `offset` bytes long) while feeding
/// it to `hasher`; the hasher and the number of bytes appended. On an error the file
/// may hold part of the body: the caller cuts it back.
pub async fn append_hashed(
    mut body: ByteStream,
    file: File,
    offset: u64,
    hasher: Sha256,
) -> Result<(Sha256, u64), IngestError> {
    let (to_hasher, mut hasher_chunks) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let (to_writer, mut writer_chunks) = mpsc::channel::<Bytes>(IN_FLIGHT);
    let hashing = tokio::task::spawn_blocking(move || {
        let mut hasher = hasher;
        while let Some(chunk) = hasher_chunks.blocking_recv() {
            hasher.update(&chunk);
        }
        hasher
    });
    let writing =
        tokio::task::spawn_blocking(move || write_chunks(file, offset, &mut writer_chunks));

    let mut received = 0u64;
    let mut body_error = None;
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                body_error = Some(e);
                break;
            }
        };
        if chunk.is_empty() {
            continue;
        }
        received += chunk.len() as u64;
        // A closed channel means the writer failed; its error is reported below.
        if to_writer.send(chunk.clone()).await.is_err() || to_hasher.send(chunk).await.is_err() {
            break;
        }
    }
    drop((to_writer, to_hasher));
    let written = writing
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    let hasher = hashing
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
    if let Some(error) = body_error {
        return Err(IngestError::Body(error));
    }
    written.map_err(IngestError::File)?;
    Ok((hasher, received))
}

/// Writes what arrives until the channel closes, batching what is already waiting
/// into one `writev`.
fn write_chunks(mut file: File, offset: u64, chunks: &mut mpsc::Receiver<Bytes>) -> io::Result<()> {
    let mut position = offset;
    let mut handed_to_disk = offset;
    let mut batch: Vec<Bytes> = Vec::with_capacity(BATCH);
    while let Some(first) = chunks.blocking_recv() {
        batch.push(first);
        while batch.len() < BATCH {
            match chunks.try_recv() {
                Ok(chunk) => batch.push(chunk),
                Err(_) => break,
            }
        }
        position += write_all_vectored(&mut file, &batch)?;
        batch.clear();
        if position - handed_to_disk >= WRITEBACK_WINDOW {
            start_writeback(&file, handed_to_disk, position - handed_to_disk);
            handed_to_disk = position;
        }
    }
    Ok(())
}

/// Writes every byte of `chunks`, in order; their total.
fn write_all_vectored(file: &mut File, chunks: &[Bytes]) -> io::Result<u64> {
    let total: usize = chunks.iter().map(Bytes::len).sum();
    let mut done = 0usize;
    while done < total {
        // Skip what is written: whole chunks, then the written part of the next.
        let mut skip = done;
        let mut slices = Vec::with_capacity(chunks.len());
        for chunk in chunks {
            if skip >= chunk.len() {
                skip -= chunk.len();
                continue;
            }
            slices.push(IoSlice::new(&chunk[skip..]));
            skip = 0;
        }
        match file.write_vectored(&slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(total as u64)
}

/// Starts writing `length` bytes at `offset` to disk without waiting for them: the
/// fsync at the end of the upload then waits only for the last of them.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, length: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: sync_file_range only reads its integer arguments; a failure (say, a
    // file system without it) only means the final fsync does all the work.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            length as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _length: u64) {}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(chunks: Vec<io::Result<Bytes>>) -> ByteStream {
        futures_util::stream::iter(chunks).boxed()
    }

    fn temp_file() -> (std::path::PathBuf, File) {
        let path = std::env::temp_dir().join(format!("berth-ingest-{}", rand::random::<u64>()));
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap();
        (path, file)
    }

    #[tokio::test]
    async fn every_byte_is_written_and_hashed_in_order() {
        let (path, file) = temp_file();
        let chunks: Vec<Bytes> = (0..200u32)
            .map(|i| Bytes::from(vec![i as u8; 1 + (i as usize * 7919) % 300_000]))
            .collect();
        let whole: Vec<u8> = chunks.iter().flat_map(|c| c.iter().copied()).collect();
        let (hasher, size) = append_hashed(
            body(chunks.into_iter().map(Ok).collect()),
            file,
            0,
            Sha256::new(),
        )
        .await
        .unwrap();
        assert_eq!(size, whole.len() as u64);
        assert_eq!(hasher.finalize(), Sha256::digest(&whole));
        assert_eq!(std::fs::read(&path).unwrap(), whole);
        std::fs::remove_file(path).unwrap();
    }

    #[tokio::test]
    async fn a_body_that_breaks_off_is_reported() {
        let (path, file) = temp_file();
        let broken = body(vec![
            Ok(Bytes::from_static(b"some")),
            Err(io::Error::other("reset")),
        ]);
        match append_hashed(broken, file, 0, Sha256::new()).await {
            Err(IngestError::Body(e)) => assert_eq!(e.to_string(), "reset"),
            other => panic!("{:?}", other.map(|(_, n)| n)),
        }
        std::fs::remove_file(path).unwrap();
    }
}
