//! A client that subscribes to a process's output and then never reads: the host queues a
//! bounded amount for it, closes the connection with a reason, and keeps answering everyone
//! else; its memory stays near where it started.

use std::time::{Duration, Instant};

use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_tests::{TestHost, text};

const LIMIT: u32 = 64 * 1024;
/// What the host may grow by while the client does not read (issue: 256 MB over baseline).
const GROWTH_BOUND_KB: u64 = 256 * 1024;

fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|kb| kb.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_and_the_host_stays_bounded() {
    let host = TestHost::start(Limits::with_message_bytes(LIMIT)).await;
    // The same VM, on a connection that subscribes to nothing.
    let mut other = host.connect("silent", Encoding::Cbor).await;
    assert_eq!(other.call("exists", vec![text("/")]).await, Ok(true.into()));
    let baseline = rss_kb();

    let mut silent = host.connect("silent", Encoding::Cbor).await;
    silent.subscribe("processStdout").await;
    // 1 GB of output, as events to a client that reads none of them until it is over.
    silent
        .request(
            "exec",
            vec![text("yes | head -c 1000000000; touch /done"), Value::Null],
        )
        .await;

    // The host answers others throughout, while its memory is watched.
    let started = Instant::now();
    let mut peak = baseline;
    loop {
        let asked = Instant::now();
        let done = other.call("exists", vec![text("/done")]).await.unwrap();
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        peak = peak.max(rss_kb());
        if done == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the output never ended"
        );
    }
    assert!(
        peak - baseline < GROWTH_BOUND_KB,
        "RSS grew by {} kB",
        peak - baseline
    );
    // 1008: policy violation, with a reason naming the full queue.
    let closed = tokio::time::timeout(Duration::from_secs(60), silent.until_closed()).await;
    assert_eq!(closed, Ok(Some(1008)));
}
