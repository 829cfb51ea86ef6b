//! Requests answered without reading their bodies (a 401 before an upload, an ECR
//! request refused from its headers). HTTP/1.1 cannot carry the next request until
//! the unread body is gone, so hyper closes such a connection after the response —
//! silently, and a client that reuses it (Python `requests` writes headers and body
//! separately) fails on its next request. So: a small leftover is drained and the
//! connection kept; otherwise the response says `Connection: close`.

use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_util::StreamExt;
use hyper::body::{Frame, SizeHint};

/// Leftovers up to this size are read and thrown away; larger ones close the connection.
const DRAIN_LIMIT: u64 = 1 << 20;
/// How long a leftover may take to arrive before the connection is closed instead.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

type Slot = Arc<Mutex<Option<Body>>>;

/// Runs the request; if its handler dropped the body unread, drains it or marks the
/// response `Connection: close`.
pub async fn finish(request: Request, next: Next) -> Response {
    let headers = request.headers();
    let has_body = headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    if !has_body {
        return next.run(request).await;
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The client waits for "100 Continue" before sending: the body never comes.
    let awaits_continue = headers
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let slot: Slot = Arc::default();
    let request = request.map(|body| {
        Body::new(Returned {
            body: Some(body),
            ended: false,
            slot: slot.clone(),
        })
    });
    let mut response = next.run(request).await;
    let leftover = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
    if let Some(body) = leftover {
        let drained = !awaits_continue
            && declared.is_none_or(|n| n <= DRAIN_LIMIT)
            && tokio::time::timeout(DRAIN_TIMEOUT, drain(body))
                .await
                .unwrap_or(false);
        if !drained {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
    response
}

/// Reads and discards the rest of a body; false when it is larger than the limit or
/// breaks off.
async fn drain(body: Body) -> bool {
    let mut stream = body.into_data_stream();
    let mut total = 0u64;
    while let Some(chunk) = stream.next().await {
        match chunk {
            Ok(chunk) => {
                total += chunk.len() as u64;
                if total > DRAIN_LIMIT {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
    true
}

/// A request body that, dropped before its end, hands itself back for draining.
struct Returned {
    body: Option<Body>,
    ended: bool,
    slot: Slot,
}

impl Drop for Returned {
    fn drop(&mut self) {
        if !self.ended {
            if let Some(body) = self.body.take() {
                *self.slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(body);
            }
        }
    }
}

impl http_body::Body for Returned {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let Some(body) = this.body.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None)) {
            this.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body
            .as_ref()
            .is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body
            .as_ref()
            .map(http_body::Body::size_hint)
            .unwrap_or_default()
    }
}
