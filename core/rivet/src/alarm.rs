//! How an actor's instance asks to be woken ([`Alarm`]) on the engine: rivetkit's durable
//! schedule, which starts a sleeping actor to call [`WAKE_ACTION`] at the instant armed.

use std::time::{SystemTime, UNIX_EPOCH};

use agentos_core::runtime::Surface;
use agentos_core::runtime::instance::Alarm;
use rivetkit::Ctx;
use tokio::sync::Mutex;

use crate::{SurfaceActor, WAKE_ACTION};

/// An empty CBOR array: the wake action takes no arguments.
const NO_ARGS: [u8; 1] = [0x80];

pub(crate) struct EngineAlarm<S: Surface> {
    ctx: Ctx<SurfaceActor<S>>,
    /// The instant armed (ms since the epoch) and the schedule event that fires then.
    armed: Mutex<Option<(i64, String)>>,
}

impl<S: Surface> EngineAlarm<S> {
    pub(crate) fn new(ctx: Ctx<SurfaceActor<S>>) -> Self {
        Self {
            ctx,
            armed: Mutex::new(None),
        }
    }
}

#[async_trait::async_trait]
impl<S: Surface> Alarm for EngineAlarm<S> {
    /// Arms one schedule event at a time. An event armed before the actor last slept and not
    /// yet fired may fire as well; waking an awake actor changes nothing.
    async fn wake_at(&self, at: Option<SystemTime>) {
        let at = at.map(|at| {
            at.duration_since(UNIX_EPOCH)
                .map_or(0, |since| since.as_millis() as i64)
        });
        let mut armed = self.armed.lock().await;
        if armed.as_ref().map(|(ms, _)| *ms) == at {
            return;
        }
        let schedule = self.ctx.schedule();
        if let Some((_, event)) = armed.take()
            && let Err(err) = schedule.cancel(&event).await
        {
            tracing::warn!(%err, event, "a wake-up no longer needed was not cancelled");
        }
        if let Some(ms) = at {
            match schedule.at(ms, WAKE_ACTION, &NO_ARGS).await {
                Ok(event) => *armed = Some((ms, event)),
                Err(err) => tracing::error!(%err, "the engine did not arm a wake-up"),
            }
        }
    }
}
