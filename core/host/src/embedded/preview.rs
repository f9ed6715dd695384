//! Signed preview URLs: `/actors/<name>/<key>/preview/<token>/<path>` is proxied, HTTP and
//! WebSocket upgrades alike, to the VM port the token names. The token is the only
//! credential (a browser opening the URL has no bearer token); a token the actor does not
//! know gets 404, an expired one 410, and neither reaches the VM.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::Shared;
use agentos_core::error::code;

/// The route of a preview URL without its rest path.
pub const ROUTE: &str = "/actors/{name}/{key}/preview/{token}";

/// What a path segment escapes: all but RFC 3986's unreserved characters.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where the host serves the preview URLs of actor `name`/`key`.
pub fn base_path(name: &str, key: &str) -> String {
    format!(
        "/actors/{}/{}/preview",
        utf8_percent_encode(name, SEGMENT),
        utf8_percent_encode(key, SEGMENT)
    )
}

#[derive(serde::Deserialize)]
pub struct PreviewPath {
    name: String,
    key: String,
    token: String,
    #[serde(default)]
    rest: String,
}

pub async fn serve(
    State(shared): State<Arc<Shared>>,
    Path(at): Path<PreviewPath>,
    request: Request,
) -> Response {
    let refused = |status: StatusCode, why: &str| (status, why.to_owned()).into_response();
    let actor = match shared.actors.existing(&at.name, &at.key).await {
        Ok(actor) => actor,
        Err(err) if err.code == code::NOT_FOUND => {
            return refused(StatusCode::NOT_FOUND, "no such preview URL");
        }
        Err(err) => return refused(StatusCode::SERVICE_UNAVAILABLE, &err.message),
    };
    let Some(target) = actor.lifecycle.preview() else {
        return refused(StatusCode::NOT_FOUND, "this actor serves no preview URLs");
    };
    let port = match target.preview_port(&at.token) {
        Ok(port) => port,
        Err(err) if err.code == code::EXPIRED => return refused(StatusCode::GONE, &err.message),
        Err(err) if err.code == code::NOT_FOUND => {
            return refused(StatusCode::NOT_FOUND, &err.message);
        }
        Err(err) => return refused(StatusCode::INTERNAL_SERVER_ERROR, &err.message),
    };
    let stream = match target.connect(port).await {
        Ok(stream) => stream,
        Err(err) => return refused(StatusCode::BAD_GATEWAY, &err.message),
    };
    match forward(stream, port, request, &at.rest).await {
        Ok(response) => response,
        Err(why) => refused(StatusCode::BAD_GATEWAY, &why),
    }
}

/// Sends `request` to the VM server on `port` at the other end of `stream`, as a request for `/rest`
/// with the same query, and returns its answer. A `101 Switching Protocols` answer joins the
/// two upgraded connections until either side closes.
async fn forward(
    stream: tokio::net::TcpStream,
    port: u16,
    mut request: Request,
    rest: &str,
) -> Result<Response, String> {
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("the VM's server: {e}"))?;
    tokio::spawn(connection.with_upgrades());
    let client_side = hyper::upgrade::on(&mut request);
    let target = match request.uri().query() {
        Some(query) => format!("/{rest}?{query}"),
        None => format!("/{rest}"),
    };
    let (mut head, body) = request.into_parts();
    head.uri = target.parse().map_err(|e| format!("{target}: {e}"))?;
    // The VM's server sees itself addressed as on its own loopback, as dev servers expect.
    head.headers.insert(
        header::HOST,
        HeaderValue::from_str(&format!("localhost:{port}")).map_err(|e| e.to_string())?,
    );
    let mut response = sender
        .send_request(hyper::Request::from_parts(head, body))
        .await
        .map_err(|e| format!("the VM's server: {e}"))?;
    if response.status() == StatusCode::SWITCHING_PROTOCOLS {
        let vm_side = hyper::upgrade::on(&mut response);
        tokio::spawn(async move {
            if let (Ok(client), Ok(vm)) = (client_side.await, vm_side.await) {
                let _ =
                    tokio::io::copy_bidirectional(&mut TokioIo::new(client), &mut TokioIo::new(vm))
                        .await;
            }
        });
    }
    Ok(response.map(Body::new))
}
