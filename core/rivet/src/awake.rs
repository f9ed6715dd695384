//! Keeping an actor awake while its instance is busy. rivetkit sleeps an actor once no
//! connection or action holds it, which would drop a VM with processes, shells, sessions or a
//! cron run still going; [`Lifecycle::idle`] says when that loses nothing. It has no change notification, so it is read on a short interval.

use std::sync::Arc;
use std::time::Duration;

use agentos_core::runtime::Surface;
use agentos_core::runtime::instance::Lifecycle;
use rivetkit::Ctx;
use tokio::task::AbortHandle;

use crate::SurfaceActor;

/// How often the instance is asked whether it is idle: well under any sleep timeout worth
/// having, and cheap (a few locks).
const CHECK_EVERY: Duration = Duration::from_millis(200);

/// Holds the actor awake while the instance says it is busy, until aborted.
pub(crate) fn watch<S: Surface>(
    ctx: Ctx<SurfaceActor<S>>,
    instance: Arc<dyn Lifecycle>,
) -> AbortHandle {
    tokio::spawn(async move {
        let mut held = None;
        let mut tick = tokio::time::interval(CHECK_EVERY);
        loop {
            tick.tick().await;
            match (instance.idle(), held.is_some()) {
                (false, false) => held = Some(ctx.keep_awake_region()),
                (true, true) => held = None,
                _ => {}
            }
        }
    })
    .abort_handle()
}
