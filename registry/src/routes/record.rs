//! `serve --record-api FILE`: every ECR API exchange appended as one JSON line, so
//! the end-to-end suite can hold Berth's wire format against AWS's published model
//! (e2e/shapes.py). A test aid: it buffers bodies, which serving never does.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

/// Where exchanges are appended.
#[derive(Clone)]
pub struct Recorder {
    file: Arc<Mutex<std::fs::File>>,
}

impl Recorder {
    pub fn open(path: &Path) -> std::io::Result<Recorder> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Recorder {
            file: Arc::new(Mutex::new(file)),
        })
    }

    fn append(&self, line: &serde_json::Value) {
        let mut text = line.to_string();
        text.push('\n');
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = file.write_all(text.as_bytes());
    }
}

/// Records POST / exchanges (the ECR API); passes everything else through untouched.
pub async fn record(State(recorder): State<Recorder>, request: Request, next: Next) -> Response {
    if request.method() != axum::http::Method::POST || request.uri().path() != "/" {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let (target, origin) = (header("x-amz-target"), header("origin"));
    let Ok(request_bytes) = to_bytes(body, usize::MAX).await else {
        return next.run(Request::from_parts(parts, Body::empty())).await;
    };
    let response = next
        .run(Request::from_parts(
            parts,
            Body::from(request_bytes.clone()),
        ))
        .await;
    let (response_parts, response_body) = response.into_parts();
    let Ok(response_bytes) = to_bytes(response_body, usize::MAX).await else {
        return Response::from_parts(response_parts, Body::empty());
    };
    let json = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .unwrap_or_else(|_| String::from_utf8_lossy(bytes).into_owned().into())
    };
    recorder.append(&serde_json::json!({
        "target": target,
        "origin": origin,
        "status": response_parts.status.as_u16(),
        "request": json(&request_bytes),
        "response": json(&response_bytes),
    }));
    Response::from_parts(response_parts, Body::from(response_bytes))
}
