//! The web root is served read-only and stays the web root: a file inside it is served, a
//! symlink inside it to another of its files too, and a symlink that leads out of it (to a
//! host file) is not found, however the path is spelled.

use agentos_tests::TestHost;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The status line and body of a GET, over a plain TCP connection.
async fn get(host: &TestHost, path: &str) -> (String, String) {
    let mut stream = tokio::net::TcpStream::connect(host.host.addr)
        .await
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    let status = answer.lines().next().unwrap_or_default().to_owned();
    let body = answer
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[tokio::test]
async fn symlinks_do_not_lead_out_of_the_web_root() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "host secret").unwrap();
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("index.html"), "the page").unwrap();
    std::os::unix::fs::symlink("index.html", root.path().join("alias.html")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        root.path().join("secret.txt"),
    )
    .unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("elsewhere")).unwrap();
    let host = TestHost::with_web_root(root.path().to_owned()).await;

    let (status, body) = get(&host, "/terminal/index.html").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "the page");
    let (status, body) = get(&host, "/terminal/alias.html").await;
    assert!(status.contains("200"), "{status}");
    assert_eq!(body, "the page");
    for path in [
        "/terminal/secret.txt",
        "/terminal/elsewhere/secret.txt",
        "/terminal/%73ecret.txt",
        "/terminal/elsewhere%2Fsecret.txt",
    ] {
        let (status, body) = get(&host, path).await;
        assert!(status.contains("404"), "{path}: {status}");
        assert!(!body.contains("host secret"), "{path}");
    }
}
