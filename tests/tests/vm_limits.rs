//! Each VM's processes run under that VM's own limits (a cgroup of its own): a fork loop and
//! a 2 GiB allocation are stopped there, the allocation's call fails with a typed error, and
//! another VM keeps answering meanwhile.

use std::sync::Arc;
use std::time::{Duration, Instant};

use agentos_core::runtime::{ActorEvents, BridgeHub, CallContext, Discard, Limits, Surface, Value};
use agentos_core::vm::sandbox::VmLimits;
use agentos_core::{AgentOs, VmConfig, VmQuotas};

const LIMITS: VmLimits = VmLimits {
    pids_max: 32,
    memory_max_mib: 256,
    cpu_weight: 100,
};

fn vm(limits: VmLimits) -> (tempfile::TempDir, AgentOs, CallContext) {
    let dir = tempfile::tempdir().unwrap();
    let config = VmConfig {
        limits,
        ..VmConfig::default()
    };
    let os = AgentOs::open(dir.path(), config, ActorEvents::new(Arc::new(Discard))).unwrap();
    let ctx = CallContext::new(
        "limits:1".into(),
        Arc::new(Discard),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    );
    (dir, os, ctx)
}

async fn exec(os: &AgentOs, ctx: &CallContext, script: &str) -> Result<Value, String> {
    os.dispatch("exec", vec![Value::Text(script.into())], ctx)
        .await
        .map_err(|e| format!("{}: {} {:?}", e.code, e.message, e.metadata))
}

fn field<'a>(value: &'a Value, name: &str) -> &'a Value {
    let Value::Map(entries) = value else {
        panic!("not a map: {value:?}")
    };
    &entries
        .iter()
        .find(|(key, _)| key.as_text() == Some(name))
        .unwrap_or_else(|| panic!("no {name} in {value:?}"))
        .1
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_loop_and_a_huge_allocation_are_stopped_by_the_vms_own_limits() {
    let (_a_dir, a, ctx) = vm(LIMITS);
    let (_b_dir, b, _) = vm(VmLimits::default());
    let info = a.sandbox_info();
    assert_eq!(info.limits, Some(LIMITS), "{:?}", info.limits_unavailable);

    // The fork loop: at most `pids_max` processes ever run; the loop's shell is told so.
    let forks = exec(
        &a,
        &ctx,
        // Counted with shell builtins only: no fork is left to run `ls`.
        "(for i in $(seq 100); do sleep 30 & done) 2>/dev/null; set -- /proc/[0-9]*; echo $#",
    );
    let other = async {
        // Meanwhile VM B answers, promptly.
        let start = Instant::now();
        let out = exec(&b, &ctx, "echo ok").await.unwrap();
        (out, start.elapsed())
    };
    let (forks, (other, took)) = tokio::join!(forks, other);
    let forks = forks.unwrap();
    let running: u32 = field(&forks, "stdout")
        .as_text()
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (10..=LIMITS.pids_max).contains(&running),
        "{running} processes ran"
    );
    assert_eq!(field(&other, "stdout").as_text(), Some("ok\n"));
    assert!(took < Duration::from_secs(5), "VM B took {took:?}");

    // The allocation: killed by the kernel in VM A only, and the call says why.
    let err = exec(
        &a,
        &ctx,
        "perl -e '$x = \"x\" x (2 << 30); print \"allocated\"'",
    )
    .await
    .unwrap_err();
    assert!(err.starts_with("limit_exceeded: "), "{err}");
    assert!(err.contains("256 MiB"), "{err}");
    assert!(!err.contains("allocated"), "{err}");
    let out = exec(&a, &ctx, "echo still here").await.unwrap();
    assert_eq!(field(&out, "stdout").as_text(), Some("still here\n"));
}

/// Host-side quotas: past its most shells or running spawned processes, a VM refuses more
/// with a typed error until one ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shells_and_spawned_processes_are_capped_per_vm() {
    let dir = tempfile::tempdir().unwrap();
    let config = VmConfig {
        quotas: VmQuotas {
            max_shells: 2,
            max_processes: 2,
            ..VmQuotas::default()
        },
        ..VmConfig::default()
    };
    let os = AgentOs::open(dir.path(), config, ActorEvents::new(Arc::new(Discard))).unwrap();
    let ctx = CallContext::new(
        "quotas:1".into(),
        Arc::new(Discard),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    );
    let call = |name: &'static str, args: Vec<Value>| os.dispatch(name, args, &ctx);
    let shell = call("openShell", vec![]).await.unwrap();
    call("openShell", vec![]).await.unwrap();
    let err = call("openShell", vec![]).await.unwrap_err();
    assert_eq!(err.code, "limit_exceeded", "{err:?}");
    call("closeShell", vec![field(&shell, "shellId").clone()])
        .await
        .unwrap();
    call("openShell", vec![]).await.unwrap();

    let sleep = || {
        vec![
            Value::Text("sleep".into()),
            Value::Array(vec![Value::Text("30".into())]),
        ]
    };
    let first = call("spawn", sleep()).await.unwrap();
    call("spawn", sleep()).await.unwrap();
    let err = call("spawn", sleep()).await.unwrap_err();
    assert_eq!(err.code, "limit_exceeded", "{err:?}");
    let pid = field(&first, "pid").clone();
    call(
        "killProcess",
        vec![pid.clone(), Value::Text("SIGKILL".into())],
    )
    .await
    .unwrap();
    call("waitProcess", vec![pid]).await.unwrap();
    call("spawn", sleep()).await.unwrap();
}
