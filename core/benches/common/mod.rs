//! What the benchmarks share: a VM nobody listens to, a context to call it with, and
//! reading criterion's estimates of this run to print ratios.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::{ActorEvents, BridgeHub, CallContext, Discard, Limits};
use agentos_core::{AgentOs, VmConfig};

/// A VM in a fresh directory (kept alive by the returned guard) whose events go nowhere.
pub fn vm() -> (tempfile::TempDir, AgentOs) {
    let dir = tempfile::tempdir().expect("temp dir");
    let os = AgentOs::open(
        dir.path(),
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .expect("vm opens");
    (dir, os)
}

/// A call context whose events go nowhere.
pub fn ctx() -> CallContext {
    CallContext::new(
        "bench:1".into(),
        Arc::new(Discard),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    )
}

/// Criterion's point estimate (mean, ns) of `group/name` from this run.
pub fn mean_ns(group: &str, name: &str) -> Option<f64> {
    let home = std::env::var("CRITERION_HOME").map_or_else(
        |_| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/criterion"),
        Into::into,
    );
    let path = home.join(group).join(name).join("new/estimates.json");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    json["mean"]["point_estimate"].as_f64()
}

/// Prints `ratio measured/baseline group: r (m ns vs b ns)` when both were measured.
pub fn print_ratio(group: &str, measured: &str, baseline: &str) {
    if let (Some(m), Some(b)) = (mean_ns(group, measured), mean_ns(group, baseline)) {
        println!(
            "ratio {measured}/{baseline} {group}: {:.3} ({m:.0} ns vs {b:.0} ns)",
            m / b
        );
    }
}
