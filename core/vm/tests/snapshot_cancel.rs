//! A cancelled `snapshotRootFilesystem` (its future dropped, as a host drops a call its client
//! aborted) stops archiving at its next chunk instead of streaming the rest to no one.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use agentos_core::runtime::{
    ActorEvents, BridgeHub, CallContext, Discard, EventSink, Limits, Value,
};
use agentos_core::{AgentOs, VmConfig};
use common::run;

#[derive(Default)]
struct Count(AtomicUsize);

impl EventSink for Count {
    fn emit(&self, _event: &str, _payload: Value) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_snapshot_stops_at_its_next_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let os = AgentOs::open(
        dir.path(),
        VmConfig::default(),
        ActorEvents::new(Arc::new(Discard)),
    )
    .unwrap();
    run(&os, "head -c 40000000 /dev/urandom > /big").await;
    let chunks = Arc::new(Count::default());
    let ctx = CallContext::new(
        "c:1".into(),
        chunks.clone(),
        Arc::new(BridgeHub::new(Duration::from_secs(1))),
        Limits::default(),
    );
    // 40 MB in chunks of half the 1 MiB message limit: about 80 chunks when not cancelled.
    let mut snapshot = Box::pin(os.snapshot_root_filesystem(None, ctx.emitter("snapshotChunk")));
    loop {
        tokio::select! {
            result = &mut snapshot => panic!("the snapshot ended before it was dropped: {result:?}"),
            () = tokio::time::sleep(Duration::from_millis(1)) => {
                if chunks.0.load(Ordering::SeqCst) > 0 {
                    break;
                }
            }
        }
    }
    drop(snapshot);
    let at_drop = chunks.0.load(Ordering::SeqCst);
    // Time for an archive that went on to send many more chunks.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let after = chunks.0.load(Ordering::SeqCst);
    assert!(
        after <= at_drop + 1,
        "{after} chunks sent, {at_drop} when the call was dropped"
    );
}
