//! The smallest app of `#[surface]`: a counter on a plain type, built on `agentos-runtime`
//! alone. The macro finds the runtime through this crate's manifest, so nothing of the VM, a
//! host or a server is compiled; any host that serves a `Surface` can serve it.

use std::sync::Mutex;

use agentos_runtime::{ActorError, Emitter};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What `increment` reports: the value before and after.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub from: i32,
    pub to: i32,
}

/// One counter per actor.
#[derive(Default)]
pub struct Counter {
    value: Mutex<i32>,
}

impl Counter {
    fn value(&self) -> std::sync::MutexGuard<'_, i32> {
        self.value.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[agentos_macros::surface(actor = "counter")]
impl Counter {
    /// The current value.
    #[action]
    pub fn get(&self) -> i32 {
        *self.value()
    }

    /// Adds `by` (1 when omitted), reports the change as a `changed` event and returns the new
    /// value; an overflow is refused and leaves the value as it was.
    #[action]
    pub fn increment(
        &self,
        by: Option<i32>,
        #[event("changed")] on_change: Emitter<Change>,
    ) -> Result<i32, ActorError> {
        let mut value = self.value();
        let from = *value;
        let to = from
            .checked_add(by.unwrap_or(1))
            .ok_or_else(|| ActorError::invalid_input(format!("{from} + {by:?} overflows")))?;
        *value = to;
        on_change.emit(&Change { from, to });
        Ok(to)
    }

    /// Sets the value back to zero.
    #[action]
    pub async fn reset(&self) {
        *self.value() = 0;
    }
}
