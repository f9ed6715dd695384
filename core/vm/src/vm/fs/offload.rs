//! Filesystem work, which blocks, kept off the async workers: one VM's stuck call must delay
//! no other VM nor the host's accept loop.

use crate::runtime::ActorError;

/// Runs blocking filesystem work on the runtime's blocking threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ActorError> + Send + 'static,
) -> Result<T, ActorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActorError::internal(format!("filesystem task failed: {e}")))?
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
