//! `vmFetch`: one HTTP/1.1 request over a connection the host made into the VM's network.

use std::collections::BTreeMap;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes as Chunk;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::runtime::{ActorError, Bytes};
use crate::vm::fs::FileContent;

/// How long a request to the VM may take, answer included.
const FETCH_TIMEOUT: Duration = Duration::from_secs(60);

/// Options of `vmFetch`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct VmFetchOptions {
    /// The HTTP method (default `GET`).
    pub method: Option<String>,
    /// Request headers; `Host` defaults to `localhost:<port>`.
    pub headers: Option<BTreeMap<String, String>>,
    /// The request body; a string is sent as UTF-8.
    pub body: Option<FileContent>,
}

/// The VM server's answer.
#[derive(Serialize, Deserialize, TS, Debug, Clone)]
#[serde(rename_all = "camelCase")]
pub struct VmFetchResult {
    pub status: u16,
    pub status_text: String,
    /// Response headers, names in lower case; repeated ones joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
}

/// Sends `request` to `port` over `stream`, reading at most `max_body` bytes of the answer.
pub async fn fetch(
    stream: tokio::net::TcpStream,
    port: u16,
    request: Request,
    max_body: usize,
) -> Result<VmFetchResult, ActorError> {
    let exchange = async {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .map_err(|e| failed(port, &e))?;
        tokio::spawn(connection);
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| failed(port, &e))?;
        let (head, body) = response.into_parts();
        let body = Limited::new(body, max_body)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    ActorError::limit_exceeded(format!(
                        "the answer from port {port} is over {max_body} bytes, the most vmFetch returns; open larger answers through a preview URL (createSignedPreviewUrl)"
                    ))
                } else {
                    ActorError::internal(format!("reading the answer from port {port}: {e}"))
                }
            })?
            .to_bytes();
        let mut headers = BTreeMap::<String, String>::new();
        for (name, value) in &head.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            headers
                .entry(name.as_str().to_owned())
                .and_modify(|joined| {
                    joined.push_str(", ");
                    joined.push_str(&value);
                })
                .or_insert_with(|| value.into_owned());
        }
        Ok(VmFetchResult {
            status: head.status.as_u16(),
            status_text: head.status.canonical_reason().unwrap_or("").to_owned(),
            headers,
            body: Bytes(body.to_vec()),
        })
    };
    tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| {
            ActorError::timeout(format!(
                "port {port} in the VM did not answer within {} s",
                FETCH_TIMEOUT.as_secs()
            ))
        })?
}

fn failed(port: u16, e: &hyper::Error) -> ActorError {
    ActorError::internal(format!("HTTP to port {port} in the VM failed: {e}"))
}

/// A request built from `vmFetch`'s arguments.
pub type Request = hyper::Request<Full<Chunk>>;

/// The request `url` names (a path, or an absolute URL whose path and query are used) with
/// `options`, to send to `port`.
pub fn request(port: u16, url: &str, options: VmFetchOptions) -> Result<Request, ActorError> {
    let invalid = |what: String| ActorError::invalid_input(what);
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| invalid(format!("`{url}` is not a URL or path: {e}")))?;
    let target = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    let method = options.method.as_deref().unwrap_or("GET");
    let mut builder = hyper::Request::builder()
        .method(
            hyper::Method::from_bytes(method.as_bytes())
                .map_err(|_| invalid(format!("`{method}` is not an HTTP method")))?,
        )
        .uri(target);
    let headers = options.headers.unwrap_or_default();
    if !headers.keys().any(|name| name.eq_ignore_ascii_case("host")) {
        builder = builder.header(hyper::header::HOST, format!("localhost:{port}"));
    }
    for (name, value) in &headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    let body = options
        .body
        .map_or_else(Vec::new, |body| body.as_bytes().to_vec());
    builder
        .body(Full::new(Chunk::from(body)))
        .map_err(|e| invalid(format!("the request is not valid HTTP: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_keeps_only_its_path_and_query() {
        let request = request(
            8080,
            "http://example.com:1/a/b?c=1",
            VmFetchOptions::default(),
        )
        .unwrap();
        assert_eq!(request.uri(), "/a/b?c=1");
        assert_eq!(request.headers()["host"], "localhost:8080");
    }

    #[test]
    fn bad_methods_and_headers_are_invalid_input() {
        let bad_method = VmFetchOptions {
            method: Some("GE T".into()),
            ..Default::default()
        };
        assert_eq!(
            request(1, "/", bad_method).unwrap_err().code,
            "invalid_input"
        );
        let bad_header = VmFetchOptions {
            headers: Some(BTreeMap::from([("x\ny".to_owned(), "v".to_owned())])),
            ..Default::default()
        };
        assert_eq!(
            request(1, "/", bad_header).unwrap_err().code,
            "invalid_input"
        );
    }
}
