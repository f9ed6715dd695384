//! Filesystem work, which blocks, kept off the async workers: one VM's stuck call must delay
//! no other VM nor the host's accept loop.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::runtime::ActorError;

/// Runs blocking filesystem work on the runtime's blocking threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ActorError> + Send + 'static,
) -> Result<T, ActorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActorError::internal(format!("filesystem task failed: {e}")))?
}

/// Set once the call that waits on blocking work is dropped (its client cancelled it): a
/// future's cancellation cannot reach a blocking thread, so long work looks at this instead.
#[derive(Clone, Default)]
pub struct Cancelled(Arc<AtomicBool>);

impl Cancelled {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Sets its flag when dropped before it is disarmed.
struct SetOnDrop(Option<Cancelled>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        if let Some(flag) = self.0.take() {
            flag.0.store(true, Ordering::Release);
        }
    }
}

/// [`blocking`], for work that can stop early: it is given a [`Cancelled`] that is set if the
/// call awaiting it is dropped.
pub(crate) async fn cancellable<T: Send + 'static>(
    work: impl FnOnce(&Cancelled) -> Result<T, ActorError> + Send + 'static,
) -> Result<T, ActorError> {
    let cancelled = Cancelled::default();
    let mut guard = SetOnDrop(Some(cancelled.clone()));
    let result = blocking(move || work(&cancelled)).await;
    guard.0 = None;
    result
}

/// Runs the blocking filesystem work of a synchronous action so that it starves no other
/// task: on a multi-threaded runtime, the worker hands its other tasks to another thread
/// first. Elsewhere (no runtime, or a current-thread one, as in tests) it just runs.
pub(crate) fn off_runtime<T>(work: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(runtime) if runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(work)
        }
        _ => work(),
    }
}
