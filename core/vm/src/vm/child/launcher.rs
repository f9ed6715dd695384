//! Where the VM's programs get their plans: its sandbox, over its tree as it is when each
//! one starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::runtime::ActorError;
use crate::vm::fs::{HostView, VmPath};
use crate::vm::sandbox::{Launch, Plan, Sandbox};

/// The VM's tree as a sandbox binds it, read at each launch.
type View = Arc<dyn Fn() -> Result<HostView, ActorError> + Send + Sync>;

/// Plans the VM's programs, whoever starts them. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Launcher {
    sandbox: Arc<Sandbox>,
    view: View,
}

impl Launcher {
    /// Plans in `sandbox` over what `view` returns at each launch: the VM's filesystem as
    /// it is then (a fixed tree in tests).
    pub(crate) fn new(
        sandbox: Arc<Sandbox>,
        view: impl Fn() -> Result<HostView, ActorError> + Send + Sync + 'static,
    ) -> Self {
        Self {
            sandbox,
            view: Arc::new(view),
        }
    }

    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.sandbox
    }

    /// How to start `argv` in the sandbox in `cwd` (a VM path, default `/`), with `env` and
    /// the host paths `binds`; for a PTY if `terminal`.
    pub(crate) fn plan(
        &self,
        argv: &[String],
        cwd: Option<&str>,
        env: &BTreeMap<String, String>,
        binds: &[String],
        terminal: bool,
    ) -> Result<Plan, ActorError> {
        let cwd = VmPath::parse(cwd.unwrap_or("/"))?;
        let launch = Launch {
            argv,
            cwd: cwd.as_str(),
            env,
            binds,
        };
        self.sandbox.plan(&(self.view)()?, &launch, terminal)
    }
}
