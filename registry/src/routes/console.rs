//! The console's files (Trunk's `dist/`), for `serve --console` and `berth-registry
//! console` (what `cargo xtask dev` runs).
//!
//! - Compressed copies made once at build time (`name.br`, `name.gz`, by `xtask
//!   precompress`) are sent as they are when the request's `Accept-Encoding` takes
//!   them; without copies the file goes uncompressed. `Vary: Accept-Encoding` either
//!   way, so caches keep the variants apart.
//! - File names Trunk hashed (`app-0123456789abcdef.wasm`) never change content:
//!   cached for a year. Everything else — `index.html`, which names the hashed
//!   files, and the deep links that serve it — is revalidated on every load.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get_service, MethodRouter};
use axum::Router;
use std::path::Path;
use tower_http::services::{ServeDir, ServeFile};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const REVALIDATE: &str = "no-cache";

/// `GET /`: the console's `index.html`.
pub fn index<S: Clone + Send + Sync + 'static>(dir: &Path) -> MethodRouter<S> {
    get_service(index_file(dir)).layer(middleware::from_fn(console_headers))
}

/// Every other path: a file of the console, or `index.html` for the console's own
/// routes (deep links).
pub fn files<S: Clone + Send + Sync + 'static>(router: Router<S>, dir: &Path) -> Router<S> {
    let files = ServeDir::new(dir)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(index_file(dir));
    router.fallback_service(get_service(files).layer(middleware::from_fn(console_headers)))
}

fn index_file(dir: &Path) -> ServeFile {
    ServeFile::new(dir.join("index.html"))
        .precompressed_br()
        .precompressed_gzip()
}

/// Whether a path names a file Trunk hashed: `-` and 16 hex digits before the
/// extension.
fn is_hashed(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let stem = name.split('.').next().unwrap_or(name);
    let stem = stem.strip_suffix("_bg").unwrap_or(stem);
    stem.rsplit_once('-')
        .is_some_and(|(_, hash)| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

async fn console_headers(request: Request, next: Next) -> Response {
    let hashed = is_hashed(request.uri().path());
    let mut response = next.run(request).await;
    let status = response.status();
    let headers = response.headers_mut();
    // A deep link that looks hashed (a repository named `app-0123456789abcdef`) is
    // answered with index.html, which must not be kept.
    let hashed = hashed
        && !headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("frame-ancestors 'none'"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let policy = if hashed { IMMUTABLE } else { REVALIDATE };
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunks_hashed_names_are_recognized() {
        assert!(is_hashed("/berth-console-cd8bf25449c056eb_bg.wasm"));
        assert!(is_hashed("/berth-console-cd8bf25449c056eb.js"));
        assert!(is_hashed("/main-541d09394e71e695.css"));
        assert!(!is_hashed("/index.html"));
        assert!(!is_hashed("/"));
        assert!(!is_hashed("/repositories/team-app"));
        assert!(!is_hashed("/favicon.ico"));
        assert!(!is_hashed("/a-cd8bf25449c056e.js"), "15 digits");
    }
}
