//! The web root, served read-only under [`super::WEB_PATH`]: tower-http's `ServeDir`, behind a
//! check that what a request names resolves, symlinks followed, to a file inside the root. A
//! symlink that leads out of it (to `/etc/passwd`, say) is not found.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use tower_http::services::ServeDir;

/// The router serving `root`, to nest under the web path.
pub fn router(root: &Path) -> std::io::Result<Router> {
    let root = Arc::new(std::fs::canonicalize(root)?);
    Ok(Router::new()
        .fallback_service(ServeDir::new(root.as_path()))
        .layer(middleware::from_fn_with_state(root, inside_root)))
}

async fn inside_root(State(root): State<Arc<PathBuf>>, request: Request, next: Next) -> Response {
    let Ok(path) = percent_decode_str(request.uri().path()).decode_utf8() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let named = root.join(path.trim_start_matches('/'));
    // What does not exist is ServeDir's to answer; what exists must stay inside.
    match std::fs::canonicalize(&named) {
        Ok(resolved) if !resolved.starts_with(root.as_path()) => {
            StatusCode::NOT_FOUND.into_response()
        }
        _ => next.run(request).await,
    }
}
