//! Opening a VM: its parts built from the host's [`VmConfig`] and wired together, with the
//! actor's events as every part's listener; and when the VM may close again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::checkpoint::Checkpoints;
use super::child::Launcher;
use super::config::VmConfig;
use super::cron::{self, Actions, Cron, CronEvent, ScheduledEvent};
use super::exec::Exec;
use super::fs::{Filesystem, MAX_READ_BYTES};
use super::health::VmShutdown;
use super::mount_store::{MountStore, Mounts};
use super::network::{Network, Previews};
use super::process::Processes;
use super::sandbox::{Sandbox, etc};
use super::session::{
    self, AgentExitEvent, AgentStderr, PermissionRequest, PermissionResolved, SessionEvent,
    Sessions,
};
use super::shell::Shells;
use super::store::Store;
use super::toolkit::{ClientTools, ToolCallRequest, ToolCallResult, ToolkitServer, Toolkits};
use super::watch::{self, FsChanged, Watches};
use crate::agent_os::{AgentOs, AgentOsEvents};
use crate::runtime::instance::{Closing, Lifecycle, PreviewTarget};
use crate::runtime::{ActorError, ActorEvents};

impl AgentOs {
    /// Opens (creating if needed) the VM whose state lives in `data_dir`. `events` is where the
    /// VM's own events go (a shell's or spawned process's output, long after the call that
    /// started it returned). Call it within a tokio runtime: cron's scheduler is a task of it.
    pub fn open(
        data_dir: &Path,
        config: VmConfig,
        events: ActorEvents,
    ) -> Result<Self, ActorError> {
        let vm = data_dir
            .file_name()
            .map_or_else(String::new, |name| name.to_string_lossy().into_owned());
        let sandbox = Arc::new(
            Sandbox::detect(config.sandbox, config.allow_network, config.sandbox_user)
                .with_limits(&vm, &config.limits),
        );
        let fs = Arc::new(Filesystem::open_as(
            data_dir,
            sandbox.user(),
            config.host_paths,
        )?);
        let services = events.services().clone();
        let events = AgentOsEvents::new(events);
        // Every program of the VM, an agent's terminals included, sees its tree as it is when
        // it starts.
        let launcher = {
            let fs = fs.clone();
            let (seed, network) = (sandbox.isolates(), sandbox.network());
            Launcher::new(sandbox.clone(), move || {
                if seed {
                    etc::seed(&fs, network);
                }
                fs.host_view()
            })
        };
        // The host's database when it lends one; otherwise its file, or the VM's own.
        let store = match services.database.clone() {
            Some(db) => Store::on(db)?,
            None => Store::open(
                &config
                    .state_store
                    .unwrap_or_else(|| data_dir.join("state.sqlite")),
            )?,
        };
        // Before the mounts: a checkpoint holds the root alone.
        let checkpoints = Arc::new(Checkpoints::new(store.clone(), vm.clone(), data_dir));
        match checkpoints.restore_if_stale(&fs) {
            Ok(Some(restored)) => tracing::info!(
                vm,
                size = restored.size.get(),
                "root restored from its checkpoint"
            ),
            Ok(None) => {}
            Err(err) => {
                tracing::error!(vm, %err, "the root's checkpoint was not restored; the VM opens with the root it has")
            }
        }
        let mounts = Mounts::restore(MountStore::new(store.clone(), vm.clone()), &fs)?;
        let toolkits = Arc::new(Toolkits::open(
            Arc::new(events.clone()),
            config.toolkits,
            store.clone(),
            vm.clone(),
        )?);
        let sessions = Arc::new(Sessions::open(
            config.agents,
            fs.clone(),
            Arc::new(events.clone()),
            store.clone(),
            vm.clone(),
            launcher.clone(),
            ToolkitServer::new(toolkits.clone(), config.toolkit_proxy),
        )?);
        let answer_limit = config.answer_limit.unwrap_or(MAX_READ_BYTES);
        let page_bytes = usize::try_from(answer_limit / 2).unwrap_or(usize::MAX);
        let network = Arc::new(Network::new(
            sandbox.clone(),
            Previews::new(
                store.clone(),
                vm.clone(),
                services.preview_path.clone(),
                config.preview,
            ),
            page_bytes,
        ));
        let exec = Exec::new(launcher.clone(), answer_limit);
        let cron = Cron::open(
            store,
            vm,
            config
                .schedule_driver
                .unwrap_or_else(|| match services.alarm {
                    Some(alarm) => Arc::new(cron::AlarmDriver(alarm)),
                    None => Arc::new(cron::TokioDriver),
                }),
            Actions::new(exec.clone(), sessions.clone()),
            Arc::new(events.clone()),
        )?;
        Ok(Self {
            fs,
            checkpoints,
            mounts,
            sandbox,
            exec,
            processes: Processes::new(
                launcher.clone(),
                config.quotas.max_processes,
                config.quotas.output_log_bytes,
            ),
            shells: Shells::new(
                launcher,
                config.quotas.max_shells,
                config.quotas.output_log_bytes,
            ),
            sessions,
            toolkits,
            cron,
            watches: Watches::new(Arc::new(events.clone())),
            events,
            answer_limit,
            max_upload_bytes: config.quotas.max_upload_bytes,
            page_bytes,
            network,
            opened_at: std::time::Instant::now(),
        })
    }
}

/// Idle: nothing runs that closing the VM would end. A cron job keeps it open unless the host
/// wakes a closed VM when the job is due (the Rivet Engine does, the embedded host does not).
impl Lifecycle for AgentOs {
    fn idle(&self) -> bool {
        self.processes.list().iter().all(|process| !process.running)
            && self.shells.list().is_empty()
            && self.sessions.list().is_empty()
            && !self.cron.keeps_vm_open()
    }

    /// Tells the connections why (`vmShutdown`); before a sleep, checkpoints the root, so
    /// that the VM opened elsewhere next has its files.
    fn closing(&self, why: Closing) {
        self.events.vm_shutdown(&VmShutdown { reason: why });
        if why == Closing::Sleep
            && let Err(err) = self.checkpoints.take(&self.fs)
        {
            tracing::error!(%err, "the root was not checkpointed before the VM closed");
        }
    }

    fn preview(&self) -> Option<Arc<dyn PreviewTarget>> {
        Some(self.network.clone())
    }
}

/// Tools without a Rust handler run on a connected client, through the `toolCall` bridge.
#[async_trait::async_trait]
impl ClientTools for AgentOsEvents {
    async fn tool_call(
        &self,
        request: &ToolCallRequest,
        timeout: Duration,
    ) -> Result<ToolCallResult, ActorError> {
        AgentOsEvents::tool_call(self, request, timeout).await
    }
}

/// What changed under a watch becomes an `fsChanged` event.
impl watch::Listener for AgentOsEvents {
    fn fs_changed(&self, event: &FsChanged) {
        AgentOsEvents::fs_changed(self, event);
    }
}

/// A job's firings and runs become `cronEvent`s, and its events `scheduledEvent`s.
impl cron::Listener for AgentOsEvents {
    fn cron_event(&self, event: &CronEvent) {
        AgentOsEvents::cron_event(self, event);
    }
    fn scheduled_event(&self, event: &ScheduledEvent) {
        AgentOsEvents::scheduled_event(self, event);
    }
}

/// A session's updates, permission requests and agent output become the actor's events.
impl session::Listener for AgentOsEvents {
    fn session_event(&self, event: &SessionEvent) {
        AgentOsEvents::session_event(self, event);
    }
    fn permission_request(&self, request: &PermissionRequest) {
        AgentOsEvents::permission_request(self, request);
    }
    fn permission_resolved(&self, resolved: &PermissionResolved) {
        AgentOsEvents::permission_resolved(self, resolved);
    }
    fn agent_stderr(&self, line: &AgentStderr) {
        AgentOsEvents::agent_stderr(self, line);
    }
    fn agent_exit(&self, exit: &AgentExitEvent) {
        AgentOsEvents::agent_exit(self, exit);
    }
}
