//! The host's memory stays bounded whatever a client asks. One that subscribes to a
//! process's output and then never reads: the host queues a bounded amount for it, closes the
//! connection with a reason, and keeps answering everyone else. One that reads a 1 GB file:
//! refused from its size, unread.

use std::time::{Duration, Instant};

use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_tests::{TestHost, text};

const LIMIT: u32 = 64 * 1024;
/// What the host may grow by while the client does not read (issue: 256 MB over baseline).
const GROWTH_BOUND_KB: u64 = 256 * 1024;

/// The test process's (and so the in-process host's) peak resident memory so far.
fn peak_rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|kb| kb.trim().trim_end_matches(" kB").parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_closed_and_the_host_stays_bounded() {
    let host = TestHost::start(Limits::with_message_bytes(LIMIT)).await;
    // The same VM, on a connection that subscribes to nothing.
    let mut other = host.connect("silent", Encoding::Cbor).await;
    assert_eq!(other.call("exists", vec![text("/")]).await, Ok(true.into()));
    let baseline = peak_rss_kb();

    let mut silent = host.connect("silent", Encoding::Cbor).await;
    silent.subscribe("processStdout").await;
    // 1 GB of output, as events to a client that reads none of them until it is over.
    silent
        .request(
            "exec",
            vec![text("yes | head -c 1000000000; touch /done"), Value::Null],
        )
        .await;

    // The host answers others throughout.
    let started = Instant::now();
    loop {
        let asked = Instant::now();
        let done = other.call("exists", vec![text("/done")]).await.unwrap();
        assert!(
            asked.elapsed() < Duration::from_secs(2),
            "{:?}",
            asked.elapsed()
        );
        if done == true {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the output never ended"
        );
    }
    let peak = peak_rss_kb();
    eprintln!(
        "1 GB of output to a client that reads nothing: peak RSS +{} kB",
        peak - baseline
    );
    assert!(
        peak - baseline < GROWTH_BOUND_KB,
        "RSS grew by {} kB",
        peak - baseline
    );
    // 1008: policy violation, with a reason naming the full queue.
    let closed = tokio::time::timeout(Duration::from_secs(60), silent.until_closed()).await;
    assert_eq!(closed, Ok(Some(1008)));
}

/// Every path below `dir`.
fn find(dir: &std::path::Path, name: &str) -> Option<std::path::PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        if entry.file_name() == name {
            return Some(path);
        }
        if entry.file_type().is_ok_and(|t| t.is_dir())
            && let Some(found) = find(&path, name)
        {
            return Some(found);
        }
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_huge_file_is_refused_unread() {
    let host = TestHost::start(Limits::with_message_bytes(LIMIT)).await;
    let mut vm = host.connect("huge", Encoding::Cbor).await;
    vm.call("writeFile", vec![text("/marker"), text("")])
        .await
        .unwrap();
    let marker = find(host.data.path(), "marker").expect("the VM's root on the host");
    let big = std::fs::File::create(marker.with_file_name("big")).unwrap();
    big.set_len(1 << 30).unwrap();
    let baseline = peak_rss_kb();
    let err = vm.call("readFile", vec![text("/big")]).await.unwrap_err();
    assert_eq!(err["code"], "limit_exceeded", "{err}");
    let grew = peak_rss_kb() - baseline;
    eprintln!("readFile of a 1 GB file: peak RSS +{grew} kB");
    assert!(grew < 64 * 1024, "RSS grew by {grew} kB");
}
