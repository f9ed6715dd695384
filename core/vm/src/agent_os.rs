//! `AgentOs`, the core VM, and its annotated surface: the single source of truth for the
//! actor's actions, events and the TypeScript client. Method bodies delegate to the
//! subsystems in [`crate::vm`] (which also opens the VM: [`AgentOs::open`]); what a method
//! takes and returns here is what crosses the wire.

use std::sync::Arc;

use crate::runtime::{ActorError, Bytes, Emitter, SafeU64};
use crate::vm::checkpoint::{CheckpointInfo, Checkpoints};
use crate::vm::child::PtySize;
use crate::vm::cron::{
    Cron, CronEvent, CronJobInfo, CronJobOptions, ScheduleDriver, ScheduledEvent, ScheduledJob,
};
use crate::vm::exec::{self, Exec, ExecOptions, ExecResult};
use crate::vm::fs::offload::{blocking, cancellable, off_runtime};
use crate::vm::fs::{
    DeleteOptions, DirEntry, FileContent, FileRange, FileStat, Filesystem, MkdirOptions,
    MountDriver, MountInfo, MountOptions, ReadFileResult, ReaddirRecursiveOptions, SnapshotChunk,
    SnapshotInfo, SnapshotOptions, SnapshotSource, UploadInfo, WriteFileEntry, WriteFileResult,
    read_in_pieces,
};
use crate::vm::health::{self, RuntimeHealth, VmShutdown};
use crate::vm::mount_store::Mounts;
use crate::vm::network::{Network, PreviewUrl, VmFetchOptions, VmFetchResult};
use crate::vm::process::{
    OsProcess, OutputPage, OutputReadOptions, ProcessExit, ProcessInfo, ProcessNode, ProcessOutput,
    Processes, SpawnOptions,
};
use crate::vm::sandbox::{Sandbox, SandboxInfo};
use crate::vm::session::{
    AgentExitEvent, AgentInfo, AgentStderr, PermissionReply, PermissionRequest, PermissionResolved,
    PersistedSession, PromptInput, PromptResult, ResumedSession, SessionEvent,
    SessionEventsOptions, SessionInfo, SessionOptions, SessionRecord, Sessions,
};
use crate::vm::shell::{ShellData, ShellExit, ShellInfo, ShellOptions, Shells};
use crate::vm::toolkit::{ToolCallRequest, ToolCallResult, ToolHandler, ToolkitSpec, Toolkits};
use crate::vm::watch::{FsChanged, WatchInfo, WatchOptions, Watches};
use serde_json::Value as Json;

/// One VM: its own root directory, a mount table, a process sandbox, a process table,
/// interactive shells, agent sessions, host toolkits and cron jobs.
pub struct AgentOs {
    pub(crate) fs: Arc<Filesystem>,
    pub(crate) checkpoints: Arc<Checkpoints>,
    pub(crate) mounts: Mounts,
    pub(crate) sandbox: Arc<Sandbox>,
    pub(crate) exec: Exec,
    pub(crate) processes: Processes,
    pub(crate) shells: Shells,
    pub(crate) sessions: Arc<Sessions>,
    pub(crate) toolkits: Arc<Toolkits>,
    pub(crate) cron: Cron,
    pub(crate) events: AgentOsEvents,
    /// The largest answer an action may give (`VmConfig::answer_limit`).
    pub(crate) answer_limit: u64,
    /// Bytes the VM's uploads not yet restored may hold together.
    pub(crate) max_upload_bytes: u64,
    /// The most bytes of file or output data one answer carries (`readFileRange`,
    /// `readProcessOutput`): half the answer limit, room for the envelope and JSON's base64.
    pub(crate) page_bytes: usize,
    pub(crate) watches: Watches,
    pub(crate) network: Arc<Network>,
    /// When this VM opened, for `getRuntimeHealth`.
    pub(crate) opened_at: std::time::Instant,
}

#[crate::surface(
    actor = "agentOS",
    version = "1.0.0",
    events(
        processOutput = ProcessOutput,
        processExit = ProcessExit,
        shellData = ShellData,
        shellExit = ShellExit,
        sessionEvent = SessionEvent,
        permissionRequest = PermissionRequest,
        permissionResolved = PermissionResolved,
        fsChanged = FsChanged,
        vmShutdown = VmShutdown,
        agentStderr = AgentStderr,
        agentExit = AgentExitEvent,
        cronEvent = CronEvent,
        scheduledEvent = ScheduledEvent,
    ),
    bridges(toolCall = ToolCallRequest => ToolCallResult)
)]
impl AgentOs {
    /// Mounts a filesystem at `path` after boot: `memory`, a confined `hostDir`, or an
    /// `overlay` over a host directory, optionally read-only.
    #[action]
    pub fn mount_fs(
        &self,
        path: String,
        driver: MountDriver,
        options: Option<MountOptions>,
    ) -> Result<MountInfo, ActorError> {
        self.mounts
            .mount(&self.fs, &path, driver, options.unwrap_or_default())
    }

    /// Unmounts the filesystem mounted at `path`.
    #[action]
    pub fn unmount_fs(&self, path: String) -> Result<(), ActorError> {
        self.mounts.unmount(&self.fs, &path)
    }

    /// Lists the mounts, sorted by path. They outlive the host: one made before a restart
    /// that did not come back as it was says how (`restored`).
    #[action]
    pub fn list_mounts(&self) -> Vec<MountInfo> {
        self.mounts.list(&self.fs)
    }

    /// Reads a whole file as bytes; one larger than a message is `limit_exceeded` (read it
    /// with `readFileRange`).
    #[action]
    pub fn read_file(&self, path: String) -> Result<Bytes, ActorError> {
        off_runtime(|| self.fs.read_file_within(&path, self.answer_limit)).map_err(read_in_pieces)
    }

    /// Reads a whole file as UTF-8 text.
    #[action]
    pub fn read_text_file(&self, path: String) -> Result<String, ActorError> {
        let bytes = off_runtime(|| self.fs.read_file_within(&path, self.answer_limit))
            .map_err(read_in_pieces)?;
        String::from_utf8(bytes.0)
            .map_err(|_| ActorError::invalid_input(format!("{path} is not valid UTF-8")))
    }

    /// Reads at most `length` bytes of a file from `offset` (capped to what one answer may
    /// hold), with the file's size: how a file larger than one message is read (the client's
    /// `downloadFile`).
    #[action]
    pub fn read_file_range(
        &self,
        path: String,
        offset: SafeU64,
        length: SafeU64,
    ) -> Result<FileRange, ActorError> {
        let length = length.get().min(self.page_bytes as u64);
        off_runtime(|| self.fs.read_range(&path, offset.get(), length))
    }

    /// Creates or replaces a file with a finished upload (`uploadChunk`): how a file larger
    /// than one message is written (the client's `uploadFile`).
    #[action]
    pub fn write_file_from_upload(
        &self,
        path: String,
        upload_id: String,
    ) -> Result<(), ActorError> {
        off_runtime(|| self.fs.write_upload(&path, &upload_id))
    }

    /// Writes a file from a string (UTF-8) or bytes, replacing it if it exists.
    #[action]
    pub fn write_file(&self, path: String, content: FileContent) -> Result<(), ActorError> {
        off_runtime(|| self.fs.write_file(&path, content))
    }

    /// Reads several files; each entry carries its content or its own error.
    #[action]
    pub fn read_files(&self, paths: Vec<String>) -> Vec<ReadFileResult> {
        off_runtime(|| self.fs.read_files_within(paths, self.answer_limit))
    }

    /// Writes several files; one failure does not fail the others.
    #[action]
    pub fn write_files(&self, entries: Vec<WriteFileEntry>) -> Vec<WriteFileResult> {
        off_runtime(|| self.fs.write_files(entries))
    }

    /// Creates a directory; with `recursive`, its missing parents too.
    #[action]
    pub fn mkdir(&self, path: String, options: Option<MkdirOptions>) -> Result<(), ActorError> {
        off_runtime(|| self.fs.mkdir(&path, options.unwrap_or_default()))
    }

    /// Lists the names in a directory, sorted.
    #[action]
    pub fn readdir(&self, path: String) -> Result<Vec<String>, ActorError> {
        off_runtime(|| self.fs.readdir(&path))
    }

    /// Lists a tree depth-first in sorted order, descending into mounts.
    #[action]
    pub fn readdir_recursive(
        &self,
        path: String,
        options: Option<ReaddirRecursiveOptions>,
    ) -> Result<Vec<DirEntry>, ActorError> {
        off_runtime(|| {
            self.fs
                .readdir_recursive(&path, options.unwrap_or_default())
        })
    }

    /// Describes a file, directory or symlink.
    #[action]
    pub fn stat(&self, path: String) -> Result<FileStat, ActorError> {
        off_runtime(|| self.fs.stat(&path))
    }

    /// Whether `path` exists. Paths that try to escape a mount are still errors.
    #[action]
    pub fn exists(&self, path: String) -> Result<bool, ActorError> {
        off_runtime(|| self.fs.exists(&path))
    }

    /// Moves a file or directory, across mounts too.
    #[action(name = "move")]
    pub fn move_path(&self, from: String, to: String) -> Result<(), ActorError> {
        off_runtime(|| self.fs.rename(&from, &to))
    }

    /// Reports changes under `path` (with `recursive`, everything below it) as `fsChanged`
    /// events, whoever makes them (actions, processes, agents), batched every 100 ms and
    /// bounded: too many at once is one event with `overflow: true`. At most 64 watches.
    #[action]
    pub fn watch_fs(
        &self,
        path: String,
        options: Option<WatchOptions>,
    ) -> Result<WatchInfo, ActorError> {
        self.watches
            .watch(&self.fs, &path, options.unwrap_or_default())
    }

    /// Stops a watch.
    #[action]
    pub fn unwatch_fs(&self, watch_id: String) -> Result<(), ActorError> {
        self.watches.unwatch(&watch_id)
    }

    /// Deletes a file, or a directory (non-empty ones only with `recursive`).
    #[action(alias = "deleteFile")]
    pub fn delete(&self, path: String, options: Option<DeleteOptions>) -> Result<(), ActorError> {
        off_runtime(|| self.fs.delete(&path, options.unwrap_or_default()))
    }

    /// Exports the root filesystem as a tar archive in deterministic order. The archive
    /// arrives through `onSnapshotChunk` in chunks that each fit in one message; the result
    /// gives its size, SHA-256 and chunk count.
    #[action]
    pub async fn snapshot_root_filesystem(
        &self,
        options: Option<SnapshotOptions>,
        #[event("snapshotChunk")] on_snapshot_chunk: Emitter<SnapshotChunk>,
    ) -> Result<SnapshotInfo, ActorError> {
        let fs = self.fs.clone();
        cancellable(move |cancelled| {
            fs.snapshot_to(options.unwrap_or_default(), &on_snapshot_chunk, cancelled)
        })
        .await
    }

    /// Saves the root filesystem (not what is mounted in it) with the VM's state, so that the
    /// VM opened on another machine has its files; the Rivet Engine host also does this each
    /// time the actor goes to sleep. A root over 1 GiB is `limit_exceeded` and the previous
    /// checkpoint stays.
    #[action]
    pub async fn checkpoint(&self) -> Result<CheckpointInfo, ActorError> {
        let (checkpoints, fs) = (self.checkpoints.clone(), self.fs.clone());
        blocking(move || checkpoints.take(&fs)).await
    }

    /// Appends a chunk to an upload (a new one when `uploadId` is absent), so that an archive
    /// larger than one message can be restored.
    #[action]
    pub fn upload_chunk(
        &self,
        chunk: Bytes,
        upload_id: Option<String>,
    ) -> Result<UploadInfo, ActorError> {
        off_runtime(|| {
            self.fs
                .upload_chunk(upload_id, chunk, self.max_upload_bytes)
        })
    }

    /// Runs `command` through `/bin/sh -c` in the VM's sandbox, with the VM's filesystem as
    /// it is now. Output streams to `onStdout` / `onStderr` and is kept, capped, in the result;
    /// a timeout kills the whole process tree.
    #[action]
    pub async fn exec(
        &self,
        command: String,
        options: Option<ExecOptions>,
        #[event("processStdout")] on_stdout: Emitter<Bytes>,
        #[event("processStderr")] on_stderr: Emitter<Bytes>,
    ) -> Result<ExecResult, ActorError> {
        self.exec_argv(exec::through_shell(command), options, on_stdout, on_stderr)
            .await
    }

    /// Runs `argv[0]` with `argv[1..]` as its arguments, untouched by any shell; otherwise as
    /// `exec`.
    #[action]
    pub async fn exec_argv(
        &self,
        argv: Vec<String>,
        options: Option<ExecOptions>,
        #[event("processStdout")] on_stdout: Emitter<Bytes>,
        #[event("processStderr")] on_stderr: Emitter<Bytes>,
    ) -> Result<ExecResult, ActorError> {
        self.exec
            .run(
                &argv,
                options.unwrap_or_default(),
                |chunk| on_stdout.emit(&Bytes(chunk.to_vec())),
                |chunk| on_stderr.emit(&Bytes(chunk.to_vec())),
            )
            .await
    }

    /// Starts `command` with `args` (no shell) in the VM's sandbox and returns at once with its
    /// VM pid. Output arrives as `processOutput` events and the end as one `processExit`, after
    /// the last output. With `streamStdin` its input stays open for `writeProcessStdin`; with
    /// `pty` it runs on a terminal.
    #[action]
    pub fn spawn(
        &self,
        command: String,
        args: Vec<String>,
        options: Option<SpawnOptions>,
    ) -> Result<ProcessInfo, ActorError> {
        let (output, exit) = (self.events.clone(), self.events.clone());
        self.processes.spawn(
            std::iter::once(command).chain(args).collect(),
            &options.unwrap_or_default(),
            move |chunk| output.process_output(&chunk),
            move |end| exit.process_exit(&end),
        )
    }

    /// Writes to a spawned process's standard input (typed into it, on a terminal); waits
    /// while the process is not reading. Fails with `closed` once the input is closed.
    #[action]
    pub async fn write_process_stdin(&self, pid: u32, data: FileContent) -> Result<(), ActorError> {
        self.processes.write_stdin(pid, data.as_bytes()).await
    }

    /// Closes a spawned process's standard input, so that it reads end of file (^D on a
    /// terminal).
    #[action]
    pub async fn close_process_stdin(&self, pid: u32) -> Result<(), ActorError> {
        self.processes.close_stdin(pid).await
    }

    /// Resizes the terminal of a process spawned with `pty`.
    #[action]
    pub fn resize_process(&self, pid: u32, cols: u16, rows: u16) -> Result<(), ActorError> {
        self.processes.resize(pid, PtySize { cols, rows })
    }

    /// Waits for a spawned process to end and tells how; answers at once for one that has.
    #[action]
    pub async fn wait_process(&self, pid: u32) -> Result<ProcessExit, ActorError> {
        self.processes.wait(pid).await
    }

    /// Sends a signal (`SIGTERM` unless named: `SIGKILL`, `INT`, `9`, …) to a spawned
    /// process and the process group it leads.
    #[action]
    pub fn kill_process(&self, pid: u32, signal: Option<String>) -> Result<(), ActorError> {
        self.processes.kill(pid, signal.as_deref())
    }

    /// Asks a spawned process to end (`SIGTERM`), kills what is left of it after a grace
    /// period, and tells how it ended.
    #[action]
    pub async fn stop_process(&self, pid: u32) -> Result<ProcessExit, ActorError> {
        self.processes.stop(pid).await
    }

    /// The process's output after a cursor (`processOutput` events carry theirs), from the
    /// last `--vm-output-log-kib` it wrote, both streams in order: how a client that missed
    /// events catches up. Kept for running processes and the last few that ended.
    #[action]
    pub fn read_process_output(
        &self,
        pid: u32,
        options: Option<OutputReadOptions>,
    ) -> Result<OutputPage, ActorError> {
        self.processes
            .read_output(pid, options.unwrap_or_default(), self.page_bytes)
    }

    /// The spawned processes, running and recently exited, by pid.
    #[action]
    pub fn list_processes(&self) -> Vec<ProcessInfo> {
        self.processes.list()
    }

    /// One spawned process, running or recently exited.
    #[action]
    pub fn get_process(&self, pid: u32) -> Result<ProcessInfo, ActorError> {
        self.processes.get(pid)
    }

    /// Every OS process running for the VM's spawned processes — each program and all its
    /// descendants — each after its parent.
    #[action]
    pub fn all_processes(&self) -> Vec<OsProcess> {
        self.processes.all()
    }

    /// The same processes as `allProcesses`, nested under their parents; the roots are the
    /// spawned programs.
    #[action]
    pub fn process_tree(&self) -> Vec<ProcessNode> {
        self.processes.tree()
    }

    /// What the VM's processes run in: bubblewrap or none, its version, network access.
    #[action]
    pub fn sandbox_info(&self) -> SandboxInfo {
        self.sandbox.info()
    }

    /// Opens an interactive shell on a real PTY in the VM's sandbox (`/bin/sh` on an 80x24
    /// `xterm-256color` unless told otherwise). Its output arrives as `shellData` events and
    /// its end as one `shellExit`, after the last output.
    #[action]
    pub fn open_shell(&self, options: Option<ShellOptions>) -> Result<ShellInfo, ActorError> {
        let (data, exit) = (self.events.clone(), self.events.clone());
        self.shells.open(
            &options.unwrap_or_default(),
            move |chunk| data.shell_data(&chunk),
            move |end| exit.shell_exit(&end),
        )
    }

    /// Types `data` into a shell, as keystrokes (`\r` is Enter, `\x03` is ^C).
    #[action]
    pub async fn write_shell(&self, shell_id: String, data: FileContent) -> Result<(), ActorError> {
        self.shells.write(&shell_id, data.as_bytes()).await
    }

    /// Resizes a shell's terminal; its foreground program gets `SIGWINCH`.
    #[action]
    pub fn resize_shell(&self, shell_id: String, cols: u16, rows: u16) -> Result<(), ActorError> {
        self.shells.resize(&shell_id, PtySize { cols, rows })
    }

    /// Hangs up a shell (`SIGHUP`, then `SIGKILL` if it lingers) and waits for it to end.
    /// Closing a shell that already ended does nothing.
    #[action]
    pub async fn close_shell(&self, shell_id: String) -> Result<(), ActorError> {
        self.shells.close(&shell_id).await
    }

    /// Waits for a shell to end and tells how; answers at once for one that already has.
    #[action]
    pub async fn wait_shell(&self, shell_id: String) -> Result<ShellExit, ActorError> {
        self.shells.wait(&shell_id).await
    }

    /// The shell's output after a cursor (`shellData` events carry theirs), from the last
    /// `--vm-output-log-kib` it wrote: what a terminal that reattaches shows first
    /// (`attachTerminal` does).
    #[action]
    pub fn read_shell_output(
        &self,
        shell_id: String,
        options: Option<OutputReadOptions>,
    ) -> Result<OutputPage, ActorError> {
        self.shells
            .read_output(&shell_id, options.unwrap_or_default(), self.page_bytes)
    }

    /// Lists the running shells, by id.
    #[action]
    pub fn list_shells(&self) -> Vec<ShellInfo> {
        self.shells.list()
    }

    /// The agents this VM can start (`createSession`'s `agentType`), and whether each one's
    /// program is installed.
    #[action]
    pub fn list_agents(&self) -> Vec<AgentInfo> {
        self.sessions.agents()
    }

    /// Starts an agent as a process of the VM (in its sandbox, in `cwd`) and opens an ACP
    /// session with it; `mcpServers` reach the agent's `session/new` as given, followed, while
    /// the VM has toolkits, by `agentos-toolkits`, the stdio MCP server of its tools. The session's
    /// updates arrive as `sessionEvent`, its agent's stderr as `agentStderr`, its end as
    /// `agentExit`.
    #[action]
    pub async fn create_session(
        &self,
        agent_type: String,
        options: Option<SessionOptions>,
    ) -> Result<SessionInfo, ActorError> {
        self.sessions
            .create(agent_type, options.unwrap_or_default())
            .await
    }

    /// Sends a prompt (text, or ACP content blocks) and waits for the turn to end. Fails with
    /// `agent_exited` if the agent dies meanwhile.
    #[action]
    pub async fn prompt(
        &self,
        session_id: String,
        prompt: PromptInput,
    ) -> Result<PromptResult, ActorError> {
        self.sessions.prompt(&session_id, prompt).await
    }

    /// Asks the agent to stop the current turn (ACP `session/cancel`); the prompt then ends
    /// with stop reason `cancelled`.
    #[action]
    pub fn cancel_session(&self, session_id: String) -> Result<(), ActorError> {
        self.sessions.cancel(&session_id)
    }

    /// Answers a `permissionRequest`: allow `once`, `always`, or `reject`, or pick one of
    /// the request's options by `{ optionId }` (`invalid_input`, and the request stays
    /// pending, for an id it did not offer). Requests still pending when a session ends are
    /// cancelled.
    #[action]
    pub fn respond_permission(
        &self,
        session_id: String,
        permission_id: String,
        reply: PermissionReply,
    ) -> Result<(), ActorError> {
        self.sessions
            .respond_permission(&session_id, &permission_id, reply)
    }

    /// Ends a session: its agent process is gone when this returns.
    #[action]
    pub async fn close_session(&self, session_id: String) -> Result<(), ActorError> {
        self.sessions.close(&session_id).await
    }

    /// Closes the session if it is live and deletes its persisted events.
    #[action]
    pub async fn destroy_session(&self, session_id: String) -> Result<(), ActorError> {
        self.sessions.destroy(&session_id).await
    }

    /// A page of a session's persisted events (its `sessionEvent`s, in order), live or
    /// ended, across host restarts.
    #[action]
    pub fn get_session_events(
        &self,
        session_id: String,
        options: Option<SessionEventsOptions>,
    ) -> Result<Vec<SessionEvent>, ActorError> {
        self.sessions
            .events(&session_id, options.unwrap_or_default())
    }

    /// Every session on record, live or ended, oldest first.
    #[action]
    pub fn list_persisted_sessions(&self) -> Result<Vec<PersistedSession>, ActorError> {
        self.sessions.persisted()
    }

    /// Lets Rust code that hosts the VM see every agent's stderr line too; the
    /// `agentStderr` event goes on regardless. Replaces an earlier hook.
    #[hook]
    pub fn set_agent_stderr_hook(&self, hook: Arc<dyn Fn(&AgentStderr) + Send + Sync>) {
        self.sessions.set_stderr_hook(hook);
    }

    /// The live sessions.
    #[action]
    pub fn list_sessions(&self) -> Vec<SessionInfo> {
        self.sessions.list()
    }

    /// The permission requests of live sessions that no one has answered yet, as their
    /// `permissionRequest` events carried them: for a client that connects after they were
    /// asked. Each ends with a `permissionResolved` event.
    #[action]
    pub fn list_pending_permissions(&self) -> Vec<PermissionRequest> {
        self.sessions.pending_permissions()
    }

    /// Makes an HTTP request to `port` on the VM's own loopback, where its processes' servers
    /// listen (`url` is a path, or a URL whose path and query are used), and returns the
    /// answer whole: at most half the host's message limit. Each VM has a network of its own
    /// (on a root host): a server one of its processes started is reachable from its other
    /// processes and from here, not from another VM.
    #[action]
    pub async fn vm_fetch(
        &self,
        port: u16,
        url: String,
        options: Option<VmFetchOptions>,
    ) -> Result<VmFetchResult, ActorError> {
        self.network
            .fetch(port, &url, options.unwrap_or_default())
            .await
    }

    /// A URL on the host that anyone holding it can open in a browser to reach `port` in the
    /// VM (HTTP and WebSocket), with no other credential, for `expiresInSeconds` (an hour by
    /// default, a day at most). Tokens are kept with the VM's state and survive a restart.
    #[action]
    pub fn create_signed_preview_url(
        &self,
        port: u16,
        expires_in_seconds: Option<SafeU64>,
    ) -> Result<PreviewUrl, ActorError> {
        self.network
            .previews()
            .create(port, expires_in_seconds.map(SafeU64::get))
    }

    /// Ends a preview URL now: its requests get 404 from then on.
    #[action]
    pub fn expire_signed_preview_url(&self, token: String) -> Result<(), ActorError> {
        self.network.previews().expire(&token)
    }

    /// What the VM is running, how its last agents ended (with their stderr tails) and what
    /// it cannot do as configured.
    #[action]
    pub fn get_runtime_health(&self) -> RuntimeHealth {
        RuntimeHealth::from(health::Parts {
            opened_at: self.opened_at,
            sessions: self.sessions.list().len(),
            processes: self.processes.list().iter().filter(|p| p.running).count(),
            shells: self.shells.list().len(),
            pending_permissions: self.sessions.pending_permissions().len(),
            agent_exits: self.sessions.agent_exits(),
            sandbox: self.sandbox.info(),
            mounts: self.mounts.list(&self.fs),
        })
    }

    /// Switches the session's mode (ACP `session/set_mode`).
    #[action]
    pub async fn set_session_mode(
        &self,
        session_id: String,
        mode_id: String,
    ) -> Result<(), ActorError> {
        self.sessions.set_mode(&session_id, mode_id).await
    }

    /// The session's modes as ACP describes them (`currentModeId`, `availableModes`), or
    /// null if the agent has none.
    #[action(alias = "getModes")]
    pub fn get_session_modes(&self, session_id: String) -> Result<Json, ActorError> {
        self.sessions.modes(&session_id)
    }

    /// The session's config options, as the agent last reported them.
    #[action(alias = "getConfigOptions")]
    pub fn get_session_config_options(&self, session_id: String) -> Result<Json, ActorError> {
        self.sessions.config_options(&session_id)
    }

    /// Sets a config option (ACP `session/set_config_option`); returns all of them.
    #[action]
    pub async fn set_session_config_option(
        &self,
        session_id: String,
        config_id: String,
        value: String,
    ) -> Result<Json, ActorError> {
        self.sessions
            .set_config_option(&session_id, Some(config_id), None, value)
            .await
    }

    /// Sets the model: the config option of category `model`. Returns all config options.
    #[action]
    pub async fn set_session_model(
        &self,
        session_id: String,
        model: String,
    ) -> Result<Json, ActorError> {
        self.sessions
            .set_config_option(&session_id, None, Some("model"), model)
            .await
    }

    /// Sets the thought level: the config option of category `thought_level`. Returns all
    /// config options.
    #[action]
    pub async fn set_session_thought_level(
        &self,
        session_id: String,
        level: String,
    ) -> Result<Json, ActorError> {
        self.sessions
            .set_config_option(&session_id, None, Some("thought_level"), level)
            .await
    }

    /// Starts a session on record whose agent has ended (the host or actor restarted, say)
    /// again, under the same id, its events going on from the last: `native` when the agent
    /// loaded it (ACP `session/load`, for agents that advertise `loadSession`; it replays the
    /// conversation as session events), `fallback` when it started a new conversation.
    #[action]
    pub async fn resume_session(&self, session_id: String) -> Result<ResumedSession, ActorError> {
        self.sessions.resume(&session_id).await
    }

    /// A session, live or on record: its agent type and cwd, whether its agent runs, and
    /// while it does the agent's capabilities and info.
    #[action]
    pub fn get_session(&self, session_id: String) -> Result<SessionRecord, ActorError> {
        self.sessions.record(&session_id)
    }

    /// The agent's capabilities (`initialize`'s `agentCapabilities`).
    #[action]
    pub fn get_session_capabilities(&self, session_id: String) -> Result<Json, ActorError> {
        self.sessions.capabilities(&session_id)
    }

    /// The agent's name and version (`initialize`'s `agentInfo`), or null.
    #[action]
    pub fn get_session_agent_info(&self, session_id: String) -> Result<Json, ActorError> {
        self.sessions.agent_info(&session_id)
    }

    /// Sends a JSON-RPC request to the session's agent with the session's id set in
    /// `params.sessionId`, and returns the raw result; a JSON-RPC error becomes
    /// `agent_error` with the error object as metadata.
    #[action]
    pub async fn raw_session_send(
        &self,
        session_id: String,
        method: String,
        params: Option<Json>,
    ) -> Result<Json, ActorError> {
        self.sessions.raw(&session_id, &method, params, true).await
    }

    /// Sends a JSON-RPC request to the session's agent exactly as given. Each session has
    /// an agent process of its own, so the session names the connection.
    #[action]
    pub async fn raw_send(
        &self,
        session_id: String,
        method: String,
        params: Option<Json>,
    ) -> Result<Json, ActorError> {
        self.sessions.raw(&session_id, &method, params, false).await
    }

    /// Schedules a job: `exec`, a `session` prompt, or an `event`, on a cron expression (5 or 6
    /// fields, in `timezone`) or once at an ISO 8601 instant. Each firing, run end and skip
    /// is a `cronEvent`; an `event` action raises `scheduledEvent`. Jobs survive a restart.
    #[action]
    pub fn schedule_cron(&self, job: CronJobOptions) -> Result<ScheduledJob, ActorError> {
        self.cron.schedule(job)
    }

    /// The scheduled jobs, by id: schedule, action, overlap policy, last and next run, run
    /// count, runs in progress and queued.
    #[action]
    pub fn list_cron_jobs(&self) -> Vec<CronJobInfo> {
        self.cron.list()
    }

    /// Stops a job from firing again; a run in progress finishes.
    #[action]
    pub fn cancel_cron_job(&self, id: String) -> Result<(), ActorError> {
        self.cron.cancel(&id)
    }

    /// Puts cron on another clock: tokio timers by default, a manual clock in tests, a
    /// host's durable schedule so that jobs fire while an actor sleeps.
    #[hook]
    pub fn set_schedule_driver(&self, driver: Arc<dyn ScheduleDriver>) {
        self.cron.set_driver(driver);
    }

    /// Adds a toolkit (or replaces the one of the same name) whose tools every session
    /// created from now on can call over MCP, as `<toolkit>__<tool>`. Each tool's
    /// `inputSchema` must be a valid JSON Schema object (`invalid_input` otherwise); calls
    /// are validated against it before they run. The toolkit is kept with the VM's state.
    #[action]
    pub fn register_toolkit(&self, toolkit: ToolkitSpec) -> Result<(), ActorError> {
        self.toolkits.add(toolkit)
    }

    /// The registered toolkits, by name.
    #[action]
    pub fn list_toolkits(&self) -> Vec<ToolkitSpec> {
        self.toolkits.list()
    }

    /// Removes a toolkit; sessions see its tools fail with `not_found` from then on.
    #[action]
    pub fn unregister_toolkit(&self, name: String) -> Result<(), ActorError> {
        self.toolkits.unregister(&name)
    }

    /// Runs the tools of `toolkit` in Rust code that hosts the VM, instead of asking a
    /// connected client through the `toolCall` bridge. Replaces an earlier handler.
    #[hook]
    pub fn set_tool_handler(&self, toolkit: String, handler: Arc<dyn ToolHandler>) {
        self.toolkits.set_handler(toolkit, handler);
    }

    /// Replaces the root filesystem's contents with a snapshot archive, given inline or as a
    /// finished upload.
    #[action]
    pub async fn restore_root_filesystem(&self, source: SnapshotSource) -> Result<(), ActorError> {
        let fs = self.fs.clone();
        blocking(move || fs.restore(source)).await
    }
}
