//! Descriptors held by clients that never authenticate: an idle TCP connection is closed once
//! it outlives the unauthenticated lifetime, one peer cannot hold more than its share of such
//! connections (past it, new connections from that peer are closed until some go, while
//! authenticated sessions go on), and an authenticated WebSocket stays open however quiet.

use std::time::{Duration, Instant};

use agentos_core::runtime::{Encoding, Limits};
use agentos_tests::{TestHost, text};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// The host's limits (`host::embedded::listener`).
const LIFETIME: Duration = Duration::from_secs(10);
const PER_PEER: usize = 64;

/// Waits until the host closes `stream`: a read that ends or fails.
async fn closed_by_host(stream: &mut TcpStream) {
    let mut byte = [0u8; 1];
    let read = tokio::time::timeout(LIFETIME * 3, stream.read(&mut byte)).await;
    assert!(
        matches!(read, Ok(Ok(0) | Err(_))),
        "the host kept the connection: {read:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_connection_is_closed_and_an_authenticated_one_is_not() {
    let host = TestHost::start(Limits::default()).await;
    let mut vm = host.connect("guard", Encoding::Json).await;
    let started = Instant::now();
    let mut idle = TcpStream::connect(host.host.addr).await.unwrap();
    closed_by_host(&mut idle).await;
    assert!(started.elapsed() >= LIFETIME - Duration::from_secs(1));
    // Quiet for as long, the authenticated connection still answers.
    assert_eq!(vm.call("exists", vec![text("/")]).await, Ok(true.into()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_holds_a_bounded_number_of_unauthenticated_connections() {
    let host = TestHost::start(Limits::default()).await;
    let mut vm = host.connect("guard", Encoding::Json).await;
    let mut held = Vec::new();
    for _ in 0..PER_PEER {
        held.push(TcpStream::connect(host.host.addr).await.unwrap());
    }
    // The next is closed at once, long before the lifetime runs out.
    let started = Instant::now();
    let mut extra = TcpStream::connect(host.host.addr).await.unwrap();
    closed_by_host(&mut extra).await;
    assert!(started.elapsed() < LIFETIME / 2, "{:?}", started.elapsed());
    // Authenticated sessions go on, and once the idle connections go, new ones get in.
    assert_eq!(vm.call("exists", vec![text("/")]).await, Ok(true.into()));
    drop(held);
    let health = format!("http://{}/health", host.host.addr);
    let deadline = Instant::now() + LIFETIME;
    loop {
        let mut stream = TcpStream::connect(host.host.addr).await.unwrap();
        use tokio::io::AsyncWriteExt;
        stream
            .write_all(
                format!("GET /health HTTP/1.1\r\nHost: {health}\r\nConnection: close\r\n\r\n")
                    .as_bytes(),
            )
            .await
            .unwrap();
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer).await;
        if answer.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "new connections stay refused");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
