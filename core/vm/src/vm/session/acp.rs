//! The only place that speaks ACP: an agent process of the VM, its stdio handed to the
//! client side of the pinned `agent-client-protocol` crate. Everything ACP-typed stays here;
//! what leaves is JSON in ACP's own shapes (as the crate serializes them) or plain values.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    CancelNotification, ClientCapabilities, ContentBlock, CreateTerminalRequest,
    CreateTerminalResponse, FileSystemCapabilities, InitializeRequest, InitializeResponse,
    KillTerminalRequest, KillTerminalResponse, LoadSessionRequest, McpServer, NewSessionRequest,
    PermissionOption, PermissionOptionKind, PromptRequest, ReadTextFileRequest,
    ReadTextFileResponse, ReleaseTerminalRequest, ReleaseTerminalResponse,
    RequestPermissionOutcome, RequestPermissionRequest, RequestPermissionResponse,
    SelectedPermissionOutcome, SessionConfigOption, SessionConfigOptionCategory,
    SessionConfigOptionValue, SessionId, SessionModeState, SessionNotification, SessionUpdate,
    SetSessionConfigOptionRequest, SetSessionModeRequest, TerminalExitStatus,
    TerminalOutputRequest, TerminalOutputResponse, WaitForTerminalExitRequest,
    WaitForTerminalExitResponse, WriteTextFileRequest, WriteTextFileResponse,
};
use agent_client_protocol::{Agent, ByteStreams, Client, UntypedMessage};
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{oneshot, watch};
use tokio_util::compat::{TokioAsyncReadCompatExt, TokioAsyncWriteCompatExt};

use super::terminal::Terminals;
use super::types::{AgentExit, PermissionKind, PermissionReply, PromptInput};
use crate::error::VmError;
use crate::runtime::ActorError;
use crate::vm::child::{self, Group};
use crate::vm::sandbox::Plan;

/// How long a request whose connection closed waits for the agent process to be reaped, to
/// tell an agent that died from one that only closed its stdout.
const REAP_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// How long an agent has to answer `initialize` and `session/new`.
const START_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// What the session layer does with traffic the agent starts.
pub trait ClientSide: Send + Sync + 'static {
    /// A `session/update`: the update as ACP serializes it, and the text of an agent
    /// message chunk.
    fn update(&self, update: Json, text: Option<String>);
    /// A `session/request_permission`; `answer` must be used or dropped (drop cancels).
    fn permission(&self, request: Json, answer: PermissionAnswer);
    fn read_text_file(&self, path: &str) -> Result<String, ActorError>;
    fn write_text_file(&self, path: &str, content: &str) -> Result<(), ActorError>;
    /// The session's terminals, for `terminal/*`.
    fn terminals(&self) -> &Terminals;
    /// One line the agent wrote to stderr.
    fn stderr(&self, line: String);
}

/// A pending permission request: answered with a reply kind, or cancelled when dropped.
pub struct PermissionAnswer {
    options: Vec<PermissionOption>,
    respond: Option<oneshot::Sender<RequestPermissionOutcome>>,
}

impl PermissionAnswer {
    /// Picks the option `reply` names: by id, or the agent's option of its kind (the narrower
    /// one first), and returns its id. An answer the agent offered no option for is refused
    /// and the request stays pending.
    pub fn reply(&mut self, reply: PermissionReply) -> Result<String, ActorError> {
        let kinds: &[PermissionOptionKind] = match &reply {
            PermissionReply::Kind(PermissionKind::Once) => &[PermissionOptionKind::AllowOnce],
            PermissionReply::Kind(PermissionKind::Always) => &[PermissionOptionKind::AllowAlways],
            PermissionReply::Kind(PermissionKind::Reject) => &[
                PermissionOptionKind::RejectOnce,
                PermissionOptionKind::RejectAlways,
            ],
            PermissionReply::Option { .. } => &[],
        };
        let option = match &reply {
            PermissionReply::Option { option_id } => self
                .options
                .iter()
                .find(|o| o.option_id.0.as_ref() == option_id.as_str()),
            PermissionReply::Kind(_) => kinds
                .iter()
                .find_map(|kind| self.options.iter().find(|o| o.kind == *kind)),
        }
        .ok_or_else(|| {
            let offered: Vec<&str> = self
                .options
                .iter()
                .map(|o| o.option_id.0.as_ref())
                .collect();
            ActorError::invalid_input(format!(
                "the agent offered no option for {reply:?} (its options: {})",
                offered.join(", ")
            ))
        })?;
        let chosen = option.option_id.0.to_string();
        let outcome = RequestPermissionOutcome::Selected(SelectedPermissionOutcome::new(
            option.option_id.clone(),
        ));
        if let Some(respond) = self.respond.take() {
            let _ = respond.send(outcome);
        }
        Ok(chosen)
    }
}

impl Drop for PermissionAnswer {
    fn drop(&mut self) {
        if let Some(respond) = self.respond.take() {
            let _ = respond.send(RequestPermissionOutcome::Cancelled);
        }
    }
}

/// What `session/new` is given, apart from the working directory.
pub struct NewSession {
    pub cwd: String,
    /// ACP `McpServer` values, checked here.
    pub mcp_servers: Vec<Json>,
    /// The agent's id of a session to load (ACP `session/load`) rather than start, when the
    /// agent can (`loadSession`); one that cannot starts a new session.
    pub load: Option<String>,
}

/// What an agent said about itself and the session when it started.
#[derive(Clone)]
pub struct Started {
    pub agent_info: Json,
    pub capabilities: Json,
    /// Whether the agent loaded the session it was asked to (`session/load`).
    pub loaded: bool,
}

/// One agent process and its ACP session. Dropping it ends the connection (the agent's
/// stdin); [`AgentConnection::kill`] ends the process.
pub struct AgentConnection {
    cx: ConnectionTo<Agent>,
    session_id: SessionId,
    pub started: Started,
    pub pid: u32,
    /// The agent's process group (the sandbox plan gives it one of its own).
    group: Arc<Group>,
    state: Arc<Mutex<State>>,
    exit: watch::Receiver<Option<AgentExit>>,
    /// The agent's last lines on stderr: why it exited, often.
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    /// Ends the connection task (and so the agent's stdin).
    _close: oneshot::Sender<()>,
}

/// How many of the agent's last stderr lines an `agent_exited` error carries.
const STDERR_TAIL: usize = 20;

#[derive(Default)]
struct State {
    modes: Option<SessionModeState>,
    config_options: Vec<SessionConfigOption>,
}

impl AgentConnection {
    /// Starts the agent's sandbox `plan`, initializes ACP and opens a session.
    pub async fn start(
        plan: &Plan,
        client: Arc<dyn ClientSide>,
        new_session: NewSession,
    ) -> Result<Self, ActorError> {
        let mcp_servers: Vec<McpServer> = new_session
            .mcp_servers
            .into_iter()
            .map(|server| typed(server, "mcpServers entry"))
            .collect::<Result<_, _>>()?;
        let child::Started {
            mut process,
            pid,
            io,
        } = child::Started::piped(plan, true)?;
        let group = Group::new(pid, plan.wrappers);
        let (stdin, stdout) = (io.stdin.expect("stdin is piped"), io.stdout);
        let (exit_tx, exit) = watch::channel(None);
        let stderr_client = client.clone();
        let stderr_tail = Arc::<Mutex<VecDeque<String>>>::default();
        let (tail, reaper) = (stderr_tail.clone(), group.clone());
        tokio::spawn(async move {
            let mut lines = BufReader::new(io.stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                {
                    let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
                    if tail.len() == STDERR_TAIL {
                        tail.pop_front();
                    }
                    tail.push_back(line.clone());
                }
                stderr_client.stderr(line);
            }
            let status = reaper.reap(&mut process).await.ok();
            exit_tx.send_replace(Some(AgentExit::from_status(status)));
        });

        let state = Arc::new(Mutex::new(State::default()));
        let (cx_tx, cx_rx) = oneshot::channel();
        let (close, closed) = oneshot::channel::<()>();
        let (updates, permissions, reads, writes) = (
            client.clone(),
            client.clone(),
            client.clone(),
            client.clone(),
        );
        let (create, output, wait, kill, release) = (
            client.clone(),
            client.clone(),
            client.clone(),
            client.clone(),
            client,
        );
        let handler_state = state.clone();
        let builder = Client
            .v1()
            .name("agentos")
            .on_receive_notification(
                async move |notification: SessionNotification, _cx| {
                    let text = match &notification.update {
                        SessionUpdate::AgentMessageChunk(chunk) => match &chunk.content {
                            ContentBlock::Text(text) => Some(text.text.clone()),
                            _ => None,
                        },
                        _ => None,
                    };
                    {
                        let mut state = lock(&handler_state);
                        match &notification.update {
                            SessionUpdate::CurrentModeUpdate(update) => {
                                if let Some(modes) = &mut state.modes {
                                    modes.current_mode_id = update.current_mode_id.clone();
                                }
                            }
                            SessionUpdate::ConfigOptionUpdate(update) => {
                                state.config_options = update.config_options.clone();
                            }
                            _ => {}
                        }
                    }
                    updates.update(json(&notification.update), text);
                    Ok(())
                },
                agent_client_protocol::on_receive_notification!(),
            )
            .on_receive_request(
                async move |request: RequestPermissionRequest,
                            responder,
                            cx: ConnectionTo<Agent>| {
                    let (respond, outcome) = oneshot::channel();
                    let answer = PermissionAnswer {
                        options: request.options.clone(),
                        respond: Some(respond),
                    };
                    permissions.permission(json(&request), answer);
                    // The answer comes from a client much later; the dispatch loop goes on.
                    cx.spawn(async move {
                        let outcome = outcome.await.unwrap_or(RequestPermissionOutcome::Cancelled);
                        responder.respond(RequestPermissionResponse::new(outcome))
                    })
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: ReadTextFileRequest, responder, _cx| {
                    let (reads, path) =
                        (reads.clone(), request.path.to_string_lossy().into_owned());
                    match blocking(move || reads.read_text_file(&path)).await {
                        Ok(content) => responder.respond(ReadTextFileResponse::new(content)),
                        Err(err) => responder.respond_with_error(client_error(err)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: WriteTextFileRequest, responder, _cx| {
                    let (writes, path) =
                        (writes.clone(), request.path.to_string_lossy().into_owned());
                    let content = request.content;
                    match blocking(move || writes.write_text_file(&path, &content)).await {
                        Ok(()) => responder.respond(WriteTextFileResponse::new()),
                        Err(err) => responder.respond_with_error(client_error(err)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: CreateTerminalRequest, responder, _cx| {
                    let argv: Vec<String> = std::iter::once(request.command)
                        .chain(request.args)
                        .collect();
                    let env = request.env.into_iter().map(|v| (v.name, v.value)).collect();
                    let cwd = request.cwd.map(|cwd| cwd.to_string_lossy().into_owned());
                    let limit = request.output_byte_limit.map(|l| l as usize);
                    match create
                        .terminals()
                        .create(&argv, cwd.as_deref(), &env, limit)
                    {
                        Ok(id) => responder.respond(CreateTerminalResponse::new(id)),
                        Err(err) => responder.respond_with_error(client_error(err)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: TerminalOutputRequest, responder, _cx| match output
                    .terminals()
                    .output(&request.terminal_id.0)
                {
                    Ok(snapshot) => responder.respond(
                        TerminalOutputResponse::new(snapshot.output, snapshot.truncated)
                            .exit_status(snapshot.exit.map(exit_status)),
                    ),
                    Err(err) => responder.respond_with_error(client_error(err)),
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: WaitForTerminalExitRequest,
                            responder,
                            cx: ConnectionTo<Agent>| {
                    match wait.terminals().exit(&request.terminal_id.0) {
                        // The command may run long; the dispatch loop goes on meanwhile.
                        Ok(exited) => cx.spawn(async move {
                            responder.respond(WaitForTerminalExitResponse::new(exit_status(
                                exited.await,
                            )))
                        }),
                        Err(err) => responder.respond_with_error(client_error(err)),
                    }
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: KillTerminalRequest, responder, _cx| match kill
                    .terminals()
                    .kill(&request.terminal_id.0)
                {
                    Ok(()) => responder.respond(KillTerminalResponse::new()),
                    Err(err) => responder.respond_with_error(client_error(err)),
                },
                agent_client_protocol::on_receive_request!(),
            )
            .on_receive_request(
                async move |request: ReleaseTerminalRequest, responder, _cx| match release
                    .terminals()
                    .release(&request.terminal_id.0)
                {
                    Ok(()) => responder.respond(ReleaseTerminalResponse::new()),
                    Err(err) => responder.respond_with_error(client_error(err)),
                },
                agent_client_protocol::on_receive_request!(),
            );
        tokio::spawn(async move {
            let transport = ByteStreams::new(stdin.compat_write(), stdout.compat());
            let _ = builder
                .connect_with(transport, async move |cx: ConnectionTo<Agent>| {
                    let _ = cx_tx.send(cx);
                    let _ = closed.await;
                    Ok(())
                })
                .await;
        });
        let cx = cx_rx
            .await
            .map_err(|_| ActorError::internal("the agent connection ended before it started"))?;
        let mut starting = Self {
            cx,
            session_id: SessionId::new(""),
            started: Started {
                agent_info: Json::Null,
                capabilities: Json::Null,
                loaded: false,
            },
            pid,
            group,
            state,
            exit,
            stderr_tail,
            _close: close,
        };
        match tokio::time::timeout(
            START_TIMEOUT,
            starting.open(new_session.cwd, mcp_servers, new_session.load),
        )
        .await
        {
            Ok(Ok(())) => Ok(starting),
            Ok(Err(err)) => Err(err),
            Err(_) => {
                starting.kill();
                Err(ActorError::timeout(format!(
                    "the agent did not start an ACP session within {}s",
                    START_TIMEOUT.as_secs()
                )))
            }
        }
    }

    /// `initialize`, then `session/load` of `load` when the agent can, `session/new` otherwise.
    async fn open(
        &mut self,
        cwd: String,
        mcp_servers: Vec<McpServer>,
        load: Option<String>,
    ) -> Result<(), ActorError> {
        let init: InitializeResponse = self
            .request(
                InitializeRequest::new(ProtocolVersion::V1).client_capabilities(
                    ClientCapabilities::new()
                        .fs(FileSystemCapabilities::new()
                            .read_text_file(true)
                            .write_text_file(true))
                        .terminal(true),
                ),
            )
            .await?;
        let load = load.filter(|_| init.agent_capabilities.load_session);
        let (modes, config_options) = match load.clone() {
            Some(id) => {
                // The agent replays the session's history as updates before it answers.
                self.session_id = SessionId::new(id.clone());
                let loaded = self
                    .request(LoadSessionRequest::new(id, cwd).mcp_servers(mcp_servers))
                    .await?;
                (loaded.modes, loaded.config_options)
            }
            None => {
                let session = self
                    .request(NewSessionRequest::new(cwd).mcp_servers(mcp_servers))
                    .await?;
                self.session_id = session.session_id;
                (session.modes, session.config_options)
            }
        };
        self.started = Started {
            agent_info: json(&init.agent_info),
            capabilities: json(&init.agent_capabilities),
            loaded: load.is_some(),
        };
        *lock(&self.state) = State {
            modes,
            config_options: config_options.unwrap_or_default(),
        };
        Ok(())
    }

    /// The agent's id of the session (ACP's).
    pub fn agent_session_id(&self) -> &str {
        &self.session_id.0
    }

    /// Sends a prompt, after `instructions` as a text block of their own if given, and
    /// returns the stop reason.
    pub async fn prompt(
        &self,
        input: PromptInput,
        instructions: Option<String>,
    ) -> Result<String, ActorError> {
        let mut prompt: Vec<ContentBlock> = match input {
            PromptInput::Text(text) => vec![ContentBlock::from(text)],
            PromptInput::Blocks(blocks) => blocks
                .into_iter()
                .map(|block| typed(block, "content block"))
                .collect::<Result<_, _>>()?,
        };
        if let Some(instructions) = instructions {
            prompt.insert(0, ContentBlock::from(instructions));
        }
        let response = self
            .request(PromptRequest::new(self.session_id.clone(), prompt))
            .await?;
        Ok(json(&response.stop_reason)
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    pub fn cancel(&self) -> Result<(), ActorError> {
        self.cx
            .send_notification(CancelNotification::new(self.session_id.clone()))
            .map_err(agent_error)
    }

    pub async fn set_mode(&self, mode_id: String) -> Result<(), ActorError> {
        self.request(SetSessionModeRequest::new(
            self.session_id.clone(),
            mode_id.clone(),
        ))
        .await?;
        if let Some(modes) = &mut lock(&self.state).modes {
            modes.current_mode_id = mode_id.into();
        }
        Ok(())
    }

    pub fn modes(&self) -> Json {
        json(&lock(&self.state).modes)
    }

    pub fn config_options(&self) -> Json {
        json(&lock(&self.state).config_options)
    }

    /// Sets a config option by id, or the one of `category` (`model`, `thought_level`).
    pub async fn set_config_option(
        &self,
        config_id: Option<String>,
        category: Option<&str>,
        value: String,
    ) -> Result<Json, ActorError> {
        let config_id = match (config_id, category) {
            (Some(id), _) => id,
            (None, Some(category)) => {
                let wanted: SessionConfigOptionCategory = typed(category.into(), "category")?;
                lock(&self.state)
                    .config_options
                    .iter()
                    .find(|option| option.category.as_ref() == Some(&wanted))
                    .map(|option| option.id.to_string())
                    .ok_or_else(|| {
                        ActorError::unsupported(format!(
                            "the agent offers no config option of category {category}"
                        ))
                    })?
            }
            (None, None) => return Err(ActorError::invalid_input("name a config option")),
        };
        let response = self
            .request(SetSessionConfigOptionRequest::new(
                self.session_id.clone(),
                config_id,
                SessionConfigOptionValue::value_id(value),
            ))
            .await?;
        let options = json(&response.config_options);
        lock(&self.state).config_options = response.config_options;
        Ok(options)
    }

    /// Sends any request; with `session`, the session's id is set in its params.
    pub async fn raw(
        &self,
        method: &str,
        params: Option<Json>,
        session: bool,
    ) -> Result<Json, ActorError> {
        let mut params = params.unwrap_or_else(|| Json::Object(Default::default()));
        if session {
            let Json::Object(map) = &mut params else {
                return Err(ActorError::invalid_input("params must be an object"));
            };
            map.insert("sessionId".into(), json(&self.session_id));
        }
        let message = UntypedMessage::new(method, params).map_err(agent_error)?;
        self.request(message).await
    }

    /// Kills the agent's process group.
    pub fn kill(&self) {
        self.group.kill_all();
    }

    /// Waits for the agent process to end.
    pub async fn exited(&self) -> AgentExit {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(exit) => exit.clone().unwrap_or_default(),
            Err(_) => AgentExit::default(),
        }
    }

    /// One request, failing with `agent_exited` if the agent dies first.
    async fn request<R: agent_client_protocol::JsonRpcRequest>(
        &self,
        request: R,
    ) -> Result<R::Response, ActorError> {
        let sent = self.cx.send_request(request).block_task();
        tokio::select! {
            response = sent => match response {
                Ok(response) => Ok(response),
                // The connection can notice the closed pipe before the process is reaped.
                Err(err) if agent_client_protocol::is_connection_terminated(&err)
                    || agent_client_protocol::is_incoming_transport_closed(&err) =>
                {
                    match tokio::time::timeout(REAP_GRACE, self.exited()).await {
                        Ok(exit) => Err(self.exited_error(exit)),
                        Err(_) => Err(agent_error(err)),
                    }
                }
                Err(err) => Err(agent_error(err)),
            },
            exit = self.exited() => Err(self.exited_error(exit)),
        }
    }

    /// The agent's last stderr lines, oldest first.
    pub fn stderr_tail(&self) -> Vec<String> {
        self.stderr_tail
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }

    /// `agent_exited`, with the agent's last stderr lines (the last also in the message).
    fn exited_error(&self, exit: AgentExit) -> ActorError {
        let stderr = self.stderr_tail();
        let last = stderr
            .last()
            .map_or_else(String::new, |line| format!(": {line}"));
        let mut metadata = json(&exit);
        if let Some(fields) = metadata.as_object_mut() {
            fields.insert("stderr".into(), json(&stderr));
        }
        ActorError::agent_exited(format!("the agent exited ({exit}){last}")).with_metadata(metadata)
    }
}

fn typed<T: DeserializeOwned>(value: Json, what: &str) -> Result<T, ActorError> {
    serde_json::from_value(value)
        .map_err(|e| ActorError::invalid_input(format!("not an ACP {what}: {e}")))
}

fn json(value: &impl serde::Serialize) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

fn exit_status(exit: AgentExit) -> TerminalExitStatus {
    TerminalExitStatus::new()
        .exit_code(exit.exit_code.and_then(|code| u32::try_from(code).ok()))
        .signal(exit.signal.and_then(|signal| {
            nix::sys::signal::Signal::try_from(signal)
                .ok()
                .map(|signal| signal.as_str().to_owned())
        }))
}

/// Runs an agent's file request on tokio's blocking threads: the filesystem blocks on std I/O,
/// which must stall no worker of the runtime (other sessions, other VMs, the host).
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ActorError> + Send + 'static,
) -> Result<T, ActorError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ActorError::internal(format!("filesystem task failed: {e}")))?
}

/// A failed client-side request (a file, a terminal), as the agent sees it.
fn client_error(err: ActorError) -> agent_client_protocol::Error {
    agent_client_protocol::Error::invalid_params().data(Json::String(err.to_string()))
}

/// A JSON-RPC error from the agent, with the error object as metadata.
fn agent_error(err: agent_client_protocol::Error) -> ActorError {
    ActorError::agent_error(format!("the agent answered with an error: {}", err.message))
        .with_metadata(json(&err))
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}
