//! What the benchmarks share: a VM nobody listens to and a context to call it with.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::{ActorEvents, BridgeHub, CallContext, Discard, EventSink, Limits};
use agentos_core::{AgentOs, VmConfig};

/// A VM in a fresh directory (kept alive by the returned guard) whose events go nowhere;
/// its background tasks (cron's scheduler) run on `rt`.
pub fn vm(rt: &tokio::runtime::Runtime) -> (tempfile::TempDir, AgentOs) {
    let _enter = rt.enter();
    let dir = tempfile::tempdir().expect("temp dir");
    let os = AgentOs::open(
        dir.path(),
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .expect("vm opens");
    (dir, os)
}

/// A call context whose events go to `events` (`Arc::new(Discard)`: nowhere).
pub fn ctx(events: Arc<dyn EventSink>) -> CallContext {
    CallContext::new(
        "bench:1".into(),
        events,
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    )
}
