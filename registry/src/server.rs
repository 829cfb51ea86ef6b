//! Serving the app over TCP, with what `axum::serve` lacks against slow and hostile
//! clients: a cap on connections (more wait in the listen backlog) and a watchdog per
//! connection that closes it when
//! - a request's head is not complete `header_read_timeout` after the connection
//!   opened or after the head's first byte (slowloris),
//! - it sits idle between requests for `keep_alive_timeout`,
//! - a request's bytes stop moving either way for `stall_timeout` (a client that
//!   neither sends its body nor reads its response).
//!
//! hyper's own `header_read_timeout` starts when a connection goes idle, so it cannot
//! tell a keep-alive wait from a slow head: the watchdog measures both itself.
//! Graceful shutdown stops accepting, lets requests in flight finish and closes idle
//! connections. Verified blob files go to HTTP/1 sockets with `sendfile`
//! ([`zero_copy`]).

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tower_service::Service;

use crate::config::Limits;

pub mod zero_copy;

use zero_copy::{Pending, ZeroCopy};

/// Serves `app` on `listener` until `shutdown` completes, then waits for the
/// connections still open to finish their requests.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (closing, closing_seen) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                // Out of file descriptors, or a connection reset before it was
                // accepted: back off a little instead of spinning.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            app.clone(),
            limits.clone(),
            closing_seen.clone(),
            slot,
        ));
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a slot until it ends: all slots back, all done.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = slots.acquire_many(all).await;
}

async fn connection(
    stream: TcpStream,
    app: Router,
    limits: Limits,
    mut closing: watch::Receiver<bool>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let pending = Arc::new(std::sync::Mutex::new(Pending::default()));
    let io = TokioIo::new(Watched {
        stream,
        activity: activity.clone(),
        pending: pending.clone(),
    });
    let requests = activity.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let in_flight = requests.begin();
        if cfg!(target_os = "linux") && request.version() <= hyper::Version::HTTP_11 {
            request.extensions_mut().insert(ZeroCopy(pending.clone()));
        }
        // One request is one moment for the metadata caches (see storage::cache).
        let response = crate::storage::cache::one_request(app.clone().call(request.map(Body::new)));
        async move {
            let response = response.await?;
            Ok::<_, Infallible>(response.map(|body| InFlight {
                body,
                _request: in_flight,
            }))
        }
    });
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // writev hands hyper's queued chunks to the socket as they are, which the file
    // bodies of `zero_copy` rely on.
    builder.http1().keep_alive(true).writev(true);
    let connection = builder.serve_connection(io, service);
    tokio::pin!(connection);
    let mut shutting_down = false;
    loop {
        tokio::select! {
            _ = connection.as_mut() => return,
            // Dropping the connection closes the socket.
            () = activity.expired(&limits) => return,
            changed = closing.changed(), if !shutting_down => {
                shutting_down = true;
                if changed.is_ok() {
                    connection.as_mut().graceful_shutdown();
                }
            }
        }
    }
}

/// What a connection has been doing, for its watchdog.
struct Activity {
    state: Mutex<ActivityState>,
    /// Wakes the watchdog when its deadline may move earlier: a response finished
    /// (stall timeout to keep-alive timeout) or a new head started.
    changed: Notify,
}

struct ActivityState {
    opened: Instant,
    /// Requests whose responses are not finished.
    in_flight: usize,
    served_one: bool,
    /// When the last response finished.
    idle_since: Instant,
    /// The first byte of the next request's head, while no request is in flight.
    head_since: Option<Instant>,
    /// The last byte moved either way.
    last_progress: Instant,
}

impl Activity {
    fn new() -> Activity {
        let now = Instant::now();
        Activity {
            state: Mutex::new(ActivityState {
                opened: now,
                in_flight: 0,
                served_one: false,
                idle_since: now,
                head_since: None,
                last_progress: now,
            }),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActivityState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.last_progress = now;
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(now);
            drop(state);
            self.changed.notify_one();
        }
    }

    fn wrote(&self) {
        self.lock().last_progress = Instant::now();
    }

    fn begin(self: &Arc<Self>) -> RequestGuard {
        let mut state = self.lock();
        state.in_flight += 1;
        state.head_since = None;
        RequestGuard {
            activity: self.clone(),
        }
    }

    fn end(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_flight -= 1;
        state.served_one = true;
        if state.in_flight == 0 {
            state.idle_since = now;
            state.head_since = None;
            state.last_progress = now;
            drop(state);
            self.changed.notify_one();
        }
    }

    fn deadline(&self, limits: &Limits) -> Instant {
        let state = self.lock();
        if state.in_flight > 0 {
            state.last_progress + limits.stall_timeout
        } else if !state.served_one {
            state.opened + limits.header_read_timeout
        } else if let Some(head) = state.head_since {
            head + limits.header_read_timeout
        } else {
            state.idle_since + limits.keep_alive_timeout
        }
    }

    /// Completes when the connection has overstayed whichever limit applies to what
    /// it is doing.
    async fn expired(&self, limits: &Limits) {
        loop {
            let notified = self.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let deadline = self.deadline(limits);
            if Instant::now() >= deadline {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => {}
                () = notified => {}
            }
        }
    }
}

/// A request in flight until its response body is finished or dropped.
struct RequestGuard {
    activity: Arc<Activity>,
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        self.activity.end();
    }
}

/// A response body that keeps its request counted as in flight.
struct InFlight {
    body: Body,
    _request: RequestGuard,
}

impl http_body::Body for InFlight {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

/// The socket, telling the watchdog about every byte that moves, and sending files in
/// place of their placeholders ([`zero_copy`]).
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
    pending: Arc<std::sync::Mutex<Pending>>,
}

impl Watched {
    fn poll_send_file(
        &mut self,
        cx: &mut Context<'_>,
        length: usize,
    ) -> Poll<std::io::Result<usize>> {
        let result = zero_copy::poll_send(&self.pending, &self.stream, cx, length);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        result
    }
}

impl AsyncRead for Watched {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(result, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.read();
        }
        result
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if zero_copy::is_placeholder(buf) {
            return this.poll_send_file(cx, buf.len());
        }
        let result = Pin::new(&mut this.stream).poll_write(cx, buf);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        // What comes before a placeholder goes first, then the file in its place.
        let bufs = match bufs.iter().position(|b| zero_copy::is_placeholder(b)) {
            Some(0) => return this.poll_send_file(cx, bufs[0].len()),
            Some(first) => &bufs[..first],
            None => bufs,
        };
        let result = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        if matches!(result, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.wrote();
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Raises the soft limit on open files to the hard one (as Go's runtime does), so
/// `max_connections` is not cut short by a default soft limit of 1024.
pub fn raise_open_file_limit() {
    #[cfg(unix)]
    // SAFETY: getrlimit/setrlimit only read and write the struct passed to them.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn each_phase_of_a_connection_has_its_deadline() {
        let limits = Limits {
            header_read_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            stall_timeout: Duration::from_secs(120),
            ..Limits::default()
        };
        let second = Duration::from_secs(1);
        let activity = Arc::new(Activity::new());
        let opened = Instant::now();
        // A new connection must send its first head soon, trickling or not.
        activity.read();
        assert_eq!(activity.deadline(&limits), opened + 10 * second);

        let request = activity.begin();
        assert_eq!(activity.deadline(&limits), opened + 120 * second);
        tokio::time::advance(30 * second).await;
        activity.wrote();
        assert_eq!(
            activity.deadline(&limits),
            opened + 150 * second,
            "bytes moving keep it"
        );

        drop(request);
        assert_eq!(
            activity.deadline(&limits),
            opened + 90 * second,
            "idle: keep-alive"
        );
        tokio::time::advance(20 * second).await;
        activity.read();
        assert_eq!(
            activity.deadline(&limits),
            opened + 60 * second,
            "a head began: header timeout"
        );

        let started = Instant::now();
        activity.expired(&limits).await;
        assert_eq!(Instant::now() - started, 10 * second);
    }
}
