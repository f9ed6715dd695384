//! Agent sessions: one agent process of the VM per session, spoken to over ACP (`acp.rs`).
//! The registry keeps the live sessions, streams their updates, permission requests, stderr
//! and exit to a [`Listener`], and answers the agent's file requests from the VM's
//! filesystem. A session whose agent dies leaves the registry; the others are untouched.
//! Every update is also kept in the session log (`log.rs`), which outlives the host.

mod acp;
mod agent;
pub use agent::presets;
pub(crate) mod log;
mod terminal;
mod types;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde_json::Value as Json;

use super::child::Launcher;
use super::fs::{FileContent, FileKind, Filesystem, VmPath};
use super::sandbox::Plan;
use super::toolkit::ToolkitServer;
use crate::error::code;
use crate::runtime::{ActorError, GROUP_AGENTOS, SafeU64};
use crate::vm::store::Store;
use acp::{AgentConnection, ClientSide, NewSession, PermissionAnswer};
use log::{EventLog, Resumable};
use terminal::Terminals;
pub use types::{
    AgentConfig, AgentExit, AgentExitEvent, AgentExitRecord, AgentInfo, AgentStderr,
    PermissionOutcome, PermissionReply, PermissionRequest, PermissionResolved, PersistedSession,
    PromptInput, PromptResult, ResumeMode, ResumedSession, SessionEndReason, SessionEvent,
    SessionEventsOptions, SessionInfo, SessionOptions, SessionRecord,
};

/// What every session's agent is told first, unless `skipOsInstructions`.
const OS_INSTRUCTIONS: &str = "You are running in an agentOS VM: a sandboxed Linux filesystem whose root is `/`. Files you read and write through the client are the VM's files.";

/// What Rust code hosting the VM sees of every agent's stderr, beside the `agentStderr`
/// event.
pub type StderrHook = Arc<dyn Fn(&AgentStderr) + Send + Sync>;

/// Where a registry's events go.
pub trait Listener: Send + Sync + 'static {
    fn session_event(&self, event: &SessionEvent);
    fn permission_request(&self, request: &PermissionRequest);
    fn permission_resolved(&self, resolved: &PermissionResolved);
    fn agent_stderr(&self, line: &AgentStderr);
    fn agent_exit(&self, exit: &AgentExitEvent);
}

/// One VM's sessions. Dropping the registry kills every agent still running.
pub struct Sessions {
    agents: BTreeMap<String, AgentConfig>,
    fs: Arc<Filesystem>,
    listener: Arc<dyn Listener>,
    log: Arc<EventLog>,
    stderr_hook: Arc<Mutex<Option<StderrHook>>>,
    /// Starts agents, and the commands of their terminals.
    launcher: Launcher,
    toolkits: ToolkitServer,
    live: Arc<Mutex<BTreeMap<String, Arc<Live>>>>,
    /// How the last [`EXITS_KEPT`] agents ended, oldest first.
    exits: Arc<Mutex<VecDeque<AgentExitRecord>>>,
    /// Held while a session resumes: one at a time, so that two callers (two first prompts
    /// after a restart, say) never start two agents for one session.
    resuming: tokio::sync::Mutex<()>,
}

/// Cancels the turn in flight if the prompt that runs it is dropped before it ends (its
/// caller cancelled the call): the agent gets ACP `session/cancel`, and pending permission
/// requests are answered `cancelled`, as `cancelSession` does.
struct TurnGuard<'a>(Option<&'a Live>);

impl Drop for TurnGuard<'_> {
    fn drop(&mut self) {
        if let Some(live) = self.0.take() {
            live.client.cancel_permissions();
            if let Err(err) = live.conn.cancel() {
                tracing::debug!(%err, "a dropped prompt's turn could not be cancelled");
            }
        }
    }
}

/// How many agent exits `getRuntimeHealth` reports.
const EXITS_KEPT: usize = 10;

struct Live {
    info: SessionInfo,
    conn: AgentConnection,
    client: Arc<SessionClient>,
    /// Held for the length of a prompt turn: a session runs one turn at a time.
    turn: tokio::sync::Mutex<()>,
}

/// The client side of one session: what the agent's traffic turns into.
struct SessionClient {
    session_id: String,
    fs: Arc<Filesystem>,
    listener: Arc<dyn Listener>,
    log: Arc<EventLog>,
    stderr_hook: Arc<Mutex<Option<StderrHook>>>,
    terminals: Terminals,
    seq: AtomicU32,
    /// The text of the agent's message chunks in the current turn.
    text: Mutex<String>,
    /// Instructions still to send, before the first prompt.
    instructions: Mutex<Option<String>>,
    last_permission: AtomicU32,
    /// Pending permission requests by id: each one's answer and what the agent asked.
    permissions: Mutex<HashMap<String, (PermissionAnswer, Json)>>,
}

impl SessionClient {
    /// Cancels every pending permission request (their answers, dropped, tell the agent).
    fn cancel_permissions(&self) {
        let pending: Vec<String> = lock(&self.permissions).drain().map(|(id, _)| id).collect();
        for permission_id in pending {
            self.listener.permission_resolved(&PermissionResolved {
                session_id: self.session_id.clone(),
                permission_id,
                outcome: PermissionOutcome::Cancelled,
                option_id: None,
            });
        }
    }
}

impl ClientSide for SessionClient {
    fn update(&self, update: Json, text: Option<String>) {
        if let Some(text) = text {
            lock(&self.text).push_str(&text);
        }
        let event = SessionEvent {
            session_id: self.session_id.clone(),
            seq: self.seq.fetch_add(1, Ordering::SeqCst) + 1,
            update,
        };
        if let Err(err) = self.log.append(&event) {
            tracing::warn!(%err, "a session event was not persisted");
        }
        self.listener.session_event(&event);
    }

    fn permission(&self, request: Json, answer: PermissionAnswer) {
        let permission_id = format!(
            "p{}",
            self.last_permission.fetch_add(1, Ordering::SeqCst) + 1
        );
        lock(&self.permissions).insert(permission_id.clone(), (answer, request.clone()));
        self.listener.permission_request(&PermissionRequest {
            session_id: self.session_id.clone(),
            permission_id,
            request,
        });
    }

    fn read_text_file(&self, path: &str) -> Result<String, ActorError> {
        String::from_utf8(self.fs.read_file(path)?.0)
            .map_err(|_| ActorError::invalid_input(format!("{path} is not valid UTF-8")))
    }

    fn write_text_file(&self, path: &str, content: &str) -> Result<(), ActorError> {
        self.fs
            .write_file(path, FileContent::Text(content.to_owned()))
    }

    fn terminals(&self) -> &Terminals {
        &self.terminals
    }

    fn stderr(&self, line: String) {
        let line = AgentStderr {
            session_id: self.session_id.clone(),
            line,
        };
        self.listener.agent_stderr(&line);
        let hook = lock(&self.stderr_hook).clone();
        if let Some(hook) = hook {
            hook(&line);
        }
    }
}

impl Sessions {
    /// A registry whose history is kept in `store`, under the name `vm`; agents and their terminals start through `launcher`, and reach the
    /// VM's toolkits through `toolkits`.
    pub(crate) fn open(
        agents: BTreeMap<String, AgentConfig>,
        fs: Arc<Filesystem>,
        listener: Arc<dyn Listener>,
        store: Store,
        vm: String,
        launcher: Launcher,
        toolkits: ToolkitServer,
    ) -> Result<Self, ActorError> {
        Ok(Self {
            launcher,
            toolkits,
            agents,
            fs,
            listener,
            log: Arc::new(EventLog::open(store, vm)?),
            stderr_hook: Arc::default(),
            live: Arc::default(),
            exits: Arc::default(),
            resuming: tokio::sync::Mutex::default(),
        })
    }

    /// The configured agents, by id.
    pub fn agents(&self) -> Vec<AgentInfo> {
        self.agents
            .iter()
            .map(|(id, agent)| {
                let reason = agent::unavailable(agent, self.sandboxed());
                AgentInfo {
                    id: id.clone(),
                    installed: reason.is_none(),
                    reason,
                    entrypoint: agent::argv(agent),
                    description: agent.description.clone(),
                    install: agent.install.clone(),
                    pass_env: (!agent.pass_env.is_empty()).then(|| agent.pass_env.clone()),
                }
            })
            .collect()
    }

    /// Whether agents run in the sandbox, which sees less of the host than the host does.
    fn sandboxed(&self) -> bool {
        self.launcher.sandbox().isolates()
    }

    /// Sets (replacing) the hook every session's stderr lines go to.
    pub fn set_stderr_hook(&self, hook: StderrHook) {
        *lock(&self.stderr_hook) = Some(hook);
    }

    /// The configuration of an agent that is installed.
    fn agent(&self, agent_type: &str) -> Result<&AgentConfig, ActorError> {
        let agent = self.agents.get(agent_type).ok_or_else(|| {
            ActorError::not_found(format!(
                "no agent {agent_type} (configured: {})",
                self.agents.keys().cloned().collect::<Vec<_>>().join(", ")
            ))
        })?;
        if let Some(why) = agent::unavailable(agent, self.sandboxed()) {
            return Err(ActorError::unsupported(format!(
                "agent {agent_type} cannot start: {why}"
            )));
        }
        Ok(agent)
    }

    /// Starts `agent_type`'s program in the sandbox, in the session's `cwd` (with the
    /// toolkits' MCP server among its `mcpServers` while there are toolkits), and opens an
    /// ACP session with it.
    pub async fn create(
        &self,
        agent_type: String,
        mut options: SessionOptions,
    ) -> Result<SessionInfo, ActorError> {
        let cwd = VmPath::parse(options.cwd.as_deref().unwrap_or("/"))?;
        // Said here, rather than by the sandbox on the agent's stderr as it exits.
        if self.fs.stat(cwd.as_str())?.kind != FileKind::Directory {
            return Err(ActorError::new(
                GROUP_AGENTOS,
                code::NOT_A_DIRECTORY,
                format!("the session's cwd {cwd} is not a directory"),
            ));
        }
        let plan = self.plan(&agent_type, cwd.as_str(), &mut options)?;
        self.start(agent_type, &plan, cwd.as_str().to_owned(), options, None)
            .await
            .map(|(info, _)| info)
    }

    /// How to start `agent_type` in `cwd` with `options`' environment, the toolkits' MCP
    /// server added to `options` (and its socket to the binds) while there are toolkits.
    fn plan(
        &self,
        agent_type: &str,
        cwd: &str,
        options: &mut SessionOptions,
    ) -> Result<Plan, ActorError> {
        let agent = self.agent(agent_type)?;
        let server = self.toolkits.for_session(self.launcher.sandbox())?;
        let extra = server.map(|server| {
            options
                .mcp_servers
                .get_or_insert_default()
                .push(server.entry);
            server.binds
        });
        let binds = agent::binds(agent, extra.into_iter().flatten());
        let env = agent::env(agent, options.env.as_ref());
        self.launcher
            .plan(&agent::argv(agent), Some(cwd), &env, &binds, false)
    }

    /// Starts a session on record whose agent has ended (after a restart, say) again, under
    /// the same id with its events going on from the last: the agent loads it (ACP
    /// `session/load`) when it can, and starts a new conversation otherwise.
    pub async fn resume(&self, session_id: &str) -> Result<ResumedSession, ActorError> {
        let _one_at_a_time = self.resuming.lock().await;
        if lock(&self.live).contains_key(session_id) {
            return Err(ActorError::invalid_input(format!(
                "session {session_id} is live: there is nothing to resume"
            )));
        }
        let record = self
            .log
            .resumable(session_id)?
            .ok_or_else(|| unknown(session_id))?;
        let mut options = SessionOptions::default();
        let plan = self.plan(&record.agent_type, &record.cwd, &mut options)?;
        let (agent_type, cwd) = (record.agent_type.clone(), record.cwd.clone());
        let (_, loaded) = self
            .start(agent_type, &plan, cwd, options, Some((session_id, record)))
            .await?;
        Ok(ResumedSession {
            session_id: session_id.to_owned(),
            mode: if loaded {
                ResumeMode::Native
            } else {
                ResumeMode::Fallback
            },
        })
    }

    /// Starts the agent's `plan` and opens an ACP session in `cwd`: a new one, or with
    /// `resume` one on record again (loaded if the agent can). Returns whether it was loaded.
    async fn start(
        &self,
        agent_type: String,
        plan: &Plan,
        cwd: String,
        options: SessionOptions,
        resume: Option<(&str, Resumable)>,
    ) -> Result<(SessionInfo, bool), ActorError> {
        let resuming = resume.is_some();
        let session_id = resume.as_ref().map_or_else(
            || format!("{:016x}", rand::random::<u64>()),
            |(id, _)| (*id).to_owned(),
        );
        let (load, last_seq) = resume
            .map(|(_, record)| (record.agent_session_id, record.last_seq))
            .unwrap_or((None, 0));
        let instructions = [
            (!options.skip_os_instructions.unwrap_or(false)).then_some(OS_INSTRUCTIONS),
            options.additional_instructions.as_deref(),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join("\n\n");
        let mut info = SessionInfo {
            session_id: session_id.clone(),
            agent_type,
            cwd: cwd.clone(),
            pid: 0,
        };
        // On record first: an agent may send updates while `session/new` is in flight.
        if !resuming {
            self.log.started(&info)?;
        }
        let client = Arc::new(SessionClient {
            session_id: session_id.clone(),
            fs: self.fs.clone(),
            listener: self.listener.clone(),
            log: self.log.clone(),
            stderr_hook: self.stderr_hook.clone(),
            terminals: Terminals::new(self.launcher.clone(), cwd.clone()),
            seq: AtomicU32::new(last_seq),
            text: Mutex::default(),
            instructions: Mutex::new((!instructions.is_empty()).then_some(instructions)),
            last_permission: AtomicU32::new(0),
            permissions: Mutex::default(),
        });
        let started = AgentConnection::start(
            plan,
            client.clone(),
            NewSession {
                cwd,
                mcp_servers: options.mcp_servers.unwrap_or_default(),
                load,
            },
        )
        .await;
        let conn = match started {
            Ok(conn) => conn,
            Err(err) => {
                if !resuming {
                    self.log.forget(&session_id)?;
                }
                return Err(err);
            }
        };
        self.log
            .agent_session(&session_id, conn.agent_session_id())?;
        if resuming {
            self.log.resumed(&session_id)?;
        }
        let loaded = conn.started.loaded;
        // A loaded session's agent has its history, instructions included.
        if loaded {
            lock(&client.instructions).take();
        }
        info.pid = conn.pid;
        let live = Arc::new(Live {
            info: info.clone(),
            conn,
            client,
            turn: tokio::sync::Mutex::new(()),
        });
        lock(&self.live).insert(session_id.clone(), live.clone());
        let (registry, listener, log, exits) = (
            self.live.clone(),
            self.listener.clone(),
            self.log.clone(),
            self.exits.clone(),
        );
        tokio::spawn(async move {
            let exit = live.conn.exited().await;
            lock(&registry).remove(&session_id);
            if let Err(err) = log.ended(&session_id, SessionEndReason::AgentExited) {
                tracing::warn!(%err, "a session's end was not persisted");
            }
            live.client.cancel_permissions();
            live.client.terminals.release_all();
            {
                let mut exits = lock(&exits);
                if exits.len() == EXITS_KEPT {
                    exits.pop_front();
                }
                exits.push_back(AgentExitRecord {
                    session_id: session_id.clone(),
                    agent_type: live.info.agent_type.clone(),
                    exit: exit.clone(),
                    stderr_tail: live.conn.stderr_tail(),
                    at_ms: SafeU64::new(log::now_ms()).unwrap_or_default(),
                });
            }
            listener.agent_exit(&AgentExitEvent { session_id, exit });
        });
        Ok((info, loaded))
    }

    /// Runs one prompt turn; updates stream to the listener meanwhile.
    pub async fn prompt(
        &self,
        session_id: &str,
        input: PromptInput,
    ) -> Result<PromptResult, ActorError> {
        let live = match self.live(session_id) {
            Ok(live) => live,
            // A session that the host's stop (or a crash) ended resumes on first use; one a
            // client closed, or whose agent exited, stays ended.
            Err(err) => match self.log.resumable(session_id)? {
                Some(record) if record.end_reason == Some(SessionEndReason::HostStopped) => {
                    // Another first prompt may have resumed it meanwhile: then it is live.
                    let resumed = self.resume(session_id).await;
                    match (self.live(session_id), resumed) {
                        (Ok(live), _) => live,
                        (Err(_), Err(err)) | (Err(err), Ok(_)) => return Err(err),
                    }
                }
                _ => return Err(err),
            },
        };
        let _turn = live.turn.try_lock().map_err(|_| {
            ActorError::invalid_input(format!("session {session_id} is already running a prompt"))
        })?;
        let instructions = lock(&live.client.instructions).take();
        lock(&live.client.text).clear();
        let mut turn = TurnGuard(Some(&live));
        let ended = live.conn.prompt(input, instructions).await;
        turn.0 = None;
        let stop_reason = ended?;
        Ok(PromptResult {
            stop_reason,
            text: std::mem::take(&mut *lock(&live.client.text)),
        })
    }

    /// Cancels the turn in flight; as ACP asks of a client, its pending permission requests
    /// are answered `cancelled`.
    pub fn cancel(&self, session_id: &str) -> Result<(), ActorError> {
        let live = self.live(session_id)?;
        live.client.cancel_permissions();
        live.conn.cancel()
    }

    pub fn respond_permission(
        &self,
        session_id: &str,
        permission_id: &str,
        reply: PermissionReply,
    ) -> Result<(), ActorError> {
        let live = self.live(session_id)?;
        let option_id = {
            let mut permissions = lock(&live.client.permissions);
            let (answer, _) = permissions.get_mut(permission_id).ok_or_else(|| {
                ActorError::not_found(format!(
                    "no pending permission request {permission_id} in session {session_id}"
                ))
            })?;
            let option_id = answer.reply(reply)?;
            permissions.remove(permission_id);
            option_id
        };
        self.listener.permission_resolved(&PermissionResolved {
            session_id: session_id.to_owned(),
            permission_id: permission_id.to_owned(),
            outcome: PermissionOutcome::Selected,
            option_id: Some(option_id),
        });
        Ok(())
    }

    /// The permission requests no one has answered yet, in every live session.
    pub fn pending_permissions(&self) -> Vec<PermissionRequest> {
        let live: Vec<Arc<Live>> = lock(&self.live).values().cloned().collect();
        let mut pending: Vec<PermissionRequest> = live
            .iter()
            .flat_map(|live| {
                lock(&live.client.permissions)
                    .iter()
                    .map(|(id, (_, request))| PermissionRequest {
                        session_id: live.info.session_id.clone(),
                        permission_id: id.clone(),
                        request: request.clone(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        pending.sort_by(|a, b| {
            (&a.session_id, &a.permission_id).cmp(&(&b.session_id, &b.permission_id))
        });
        pending
    }

    /// How the last agents ended, oldest first.
    pub fn agent_exits(&self) -> Vec<AgentExitRecord> {
        lock(&self.exits).iter().cloned().collect()
    }

    /// Ends the session: its agent is killed and gone when this returns.
    pub async fn close(&self, session_id: &str) -> Result<(), ActorError> {
        let Some(live) = lock(&self.live).remove(session_id) else {
            // A session on record that already ended is closed.
            return match self.log.ended_at(session_id)? {
                Some(_) => Ok(()),
                None => Err(unknown(session_id)),
            };
        };
        self.log.ended(session_id, SessionEndReason::Closed)?;
        live.conn.kill();
        live.conn.exited().await;
        Ok(())
    }

    /// Closes the session if it is live, then deletes its history.
    pub async fn destroy(&self, session_id: &str) -> Result<(), ActorError> {
        let live = lock(&self.live).contains_key(session_id);
        if live {
            self.close(session_id).await?;
        }
        self.log.forget(session_id)
    }

    /// A page of a session's persisted events, live or ended.
    pub fn events(
        &self,
        session_id: &str,
        options: SessionEventsOptions,
    ) -> Result<Vec<SessionEvent>, ActorError> {
        self.log.events(session_id, options)
    }

    pub fn persisted(&self) -> Result<Vec<PersistedSession>, ActorError> {
        self.log.sessions()
    }

    pub fn list(&self) -> Vec<SessionInfo> {
        lock(&self.live)
            .values()
            .map(|live| live.info.clone())
            .collect()
    }

    pub async fn set_mode(&self, session_id: &str, mode_id: String) -> Result<(), ActorError> {
        self.live(session_id)?.conn.set_mode(mode_id).await
    }

    pub fn modes(&self, session_id: &str) -> Result<Json, ActorError> {
        Ok(self.live(session_id)?.conn.modes())
    }

    pub fn config_options(&self, session_id: &str) -> Result<Json, ActorError> {
        Ok(self.live(session_id)?.conn.config_options())
    }

    /// Sets a config option by id, or else the one of `category`.
    pub async fn set_config_option(
        &self,
        session_id: &str,
        config_id: Option<String>,
        category: Option<&str>,
        value: String,
    ) -> Result<Json, ActorError> {
        self.live(session_id)?
            .conn
            .set_config_option(config_id, category, value)
            .await
    }

    /// A live session with its agent's capabilities and info, or one on record that ended.
    pub fn record(&self, session_id: &str) -> Result<SessionRecord, ActorError> {
        if let Some(live) = lock(&self.live).get(session_id).cloned() {
            let started = &live.conn.started;
            return Ok(SessionRecord {
                session_id: live.info.session_id.clone(),
                agent_type: live.info.agent_type.clone(),
                cwd: live.info.cwd.clone(),
                live: true,
                capabilities: Some(started.capabilities.clone()),
                agent_info: (!started.agent_info.is_null()).then(|| started.agent_info.clone()),
            });
        }
        let ended = self
            .log
            .sessions()?
            .into_iter()
            .find(|s| s.session_id == session_id)
            .ok_or_else(|| unknown(session_id))?;
        Ok(SessionRecord {
            session_id: ended.session_id,
            agent_type: ended.agent_type,
            cwd: ended.cwd,
            live: false,
            capabilities: None,
            agent_info: None,
        })
    }

    pub fn capabilities(&self, session_id: &str) -> Result<Json, ActorError> {
        Ok(self.live(session_id)?.conn.started.capabilities.clone())
    }

    pub fn agent_info(&self, session_id: &str) -> Result<Json, ActorError> {
        Ok(self.live(session_id)?.conn.started.agent_info.clone())
    }

    pub async fn raw(
        &self,
        session_id: &str,
        method: &str,
        params: Option<Json>,
        in_session: bool,
    ) -> Result<Json, ActorError> {
        self.live(session_id)?
            .conn
            .raw(method, params, in_session)
            .await
    }

    fn live(&self, session_id: &str) -> Result<Arc<Live>, ActorError> {
        lock(&self.live)
            .get(session_id)
            .cloned()
            .ok_or_else(|| unknown(session_id))
    }
}

impl Drop for Sessions {
    fn drop(&mut self) {
        for live in lock(&self.live).values() {
            live.conn.kill();
        }
    }
}

fn unknown(session_id: &str) -> ActorError {
    ActorError::not_found(format!("no live session {session_id}"))
        .with_metadata(serde_json::json!({ "sessionId": session_id }))
}

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
