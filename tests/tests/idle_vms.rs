//! Live VMs are bounded: one with no connection and nothing running is closed after the idle
//! time and opens again, files and all, on the next connection; past the most live VMs the
//! longest idle one makes room, a busy one (a process running) is never closed, and when none
//! is idle a new VM is refused (HTTP 503).

use std::time::{Duration, Instant};

use agentos_core::runtime::{Encoding, Limits, Value};
use agentos_host::embedded::VmPolicy;
use agentos_tests::{RawClient, TOKEN, TestHost, text};

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "{what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_vm_is_closed_and_opens_again() {
    let policy = VmPolicy {
        idle_timeout: Duration::from_millis(300),
        max_live: 8,
    };
    let host = TestHost::with_policy(Limits::default(), policy).await;
    let baseline = open_fds();
    let mut vm = host.connect("idle", Encoding::Json).await;
    vm.call("writeFile", vec![text("/kept.txt"), text("kept")])
        .await
        .unwrap();
    vm.call("exec", vec![text("true")]).await.unwrap();
    drop(vm);
    // The VM's descriptors (its store, root, cgroup, namespaces) go with it.
    until("the idle VM was never closed", || open_fds() <= baseline).await;
    let mut vm = host.connect("idle", Encoding::Json).await;
    assert_eq!(
        vm.call("readTextFile", vec![text("/kept.txt")]).await,
        Ok("kept".into())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_most_vms_an_idle_one_makes_room_and_a_busy_one_stays() {
    let policy = VmPolicy {
        idle_timeout: Duration::from_secs(3600),
        max_live: 2,
    };
    let host = TestHost::with_policy(Limits::default(), policy).await;
    let sleep = vec![text("sleep"), Value::Array(vec![text("30")])];

    let mut busy = host.connect("busy", Encoding::Json).await;
    let spawned = busy.call("spawn", sleep).await.unwrap();
    drop(busy);
    let mut idle = host.connect("idle", Encoding::Json).await;
    idle.call("writeFile", vec![text("/b.txt"), text("b")])
        .await
        .unwrap();
    drop(idle);
    // A third VM: the idle one is closed for it, not the busy one. The idle VM counts as idle
    // once the host has seen its connection close, which it learns asynchronously: until then
    // the answer is 503.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match RawClient::connect(&host.url("agentOS", "third", "json"), TOKEN, Encoding::Json).await
        {
            Ok(third) => break drop(third),
            Err(tokio_tungstenite::tungstenite::Error::Http(response))
                if response.status() == 503 && Instant::now() < deadline =>
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("the third VM did not open: {e:?}"),
        }
    }
    let mut busy = host.connect("busy", Encoding::Json).await;
    let listed = busy.call("listProcesses", vec![]).await.unwrap();
    assert_eq!(listed[0]["pid"], spawned["pid"], "{listed}");
    assert_eq!(listed[0]["running"], true, "{listed}");
    let mut idle = host.connect("idle", Encoding::Json).await;
    assert_eq!(
        idle.call("readTextFile", vec![text("/b.txt")]).await,
        Ok("b".into())
    );
    // Both open VMs in use: no room for another.
    let refused = RawClient::connect(
        &host.url("agentOS", "fourth", "json"),
        TOKEN,
        Encoding::Json,
    )
    .await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(response)) = refused else {
        panic!("a fourth VM opened: {:?}", refused.map(|_| ()));
    };
    assert_eq!(response.status(), 503);
}
