//! A small deterministic ACP agent on stdio, written with the agent side of the same
//! `agent-client-protocol` crate the host uses. Every host binary registers it as the agent
//! `builtin` (its hidden `builtin-agent` subcommand), so a session works offline with nothing
//! installed; the session tests drive it as the program `agentos-test-agent`, so that they
//! exercise real ACP traffic. What a prompt's text contains decides what it does:
//!
//! - anything: streams `echo: <text>` as message chunks and ends the turn;
//! - `permission`: first asks for permission and reports the outcome as a chunk;
//! - `block`: waits until the client cancels the session, writes `test-agent: session/cancel`
//!   to stderr, and ends the turn with stop reason `cancelled`;
//! - `stderr`: writes `test-agent stderr: <text>` to stderr;
//! - `crash`: exits at once with status 3, mid-prompt;
//! - `report`: sends what `session/new` received (`cwd`, `mcpServers`) as one JSON chunk;
//! - `read <path>` / `write <path> <text>`: asks the client's filesystem, chunk = result;
//! - `run <command>`: runs `/bin/sh -c <command>` in a client terminal (output capped at 64
//!   bytes), waits for it, chunk = `ran: <exit code>: <output>`;
//! - `tool <name> <json input>`: launches the first stdio MCP server `session/new` received,
//!   calls tool `<name>` with an MCP client (rmcp), chunk = `tool result: <text>` or
//!   `tool error: <text>`; `tools`: lists that server's tools, chunk = `tools: <JSON>`.
//!
//! It keeps each session's prompts in `$HOME/.agentos-builtin-agent/<session id>` (in a VM,
//! the VM's own home) and can load a session (ACP `session/load`, capability `loadSession`):
//! it replays each earlier prompt as a `history: <text>` message chunk, then answers. Started
//! with `--no-load-session`, it does not offer that, for clients' fallback paths.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use agent_client_protocol::schema::ProtocolVersion;
use agent_client_protocol::v1::ConnectionTo;
use agent_client_protocol::v1::schema::{
    AgentCapabilities, CancelNotification, ContentBlock, ContentChunk, CreateTerminalRequest,
    Implementation, InitializeRequest, InitializeResponse, LoadSessionRequest, LoadSessionResponse,
    McpCapabilities, McpServer, NewSessionRequest, NewSessionResponse, PermissionOption,
    PermissionOptionKind, PromptRequest, PromptResponse, ReadTextFileRequest,
    ReleaseTerminalRequest, RequestPermissionOutcome, RequestPermissionRequest,
    SessionConfigOption, SessionConfigOptionCategory, SessionConfigSelectOption, SessionMode,
    SessionModeState, SessionNotification, SessionUpdate, SetSessionConfigOptionRequest,
    SetSessionConfigOptionResponse, SetSessionModeRequest, SetSessionModeResponse, StopReason,
    TerminalOutputRequest, ToolCallUpdate, ToolCallUpdateFields, WaitForTerminalExitRequest,
    WriteTextFileRequest,
};
use agent_client_protocol::{Agent, Client, Stdio};
use tokio::sync::Notify;

/// What the agent remembers of one session.
struct Session {
    received: serde_json::Value,
    cancelled: Arc<Notify>,
    model: String,
    thought_level: String,
}

type Sessions = Arc<Mutex<HashMap<String, Session>>>;

fn config_options(session: &Session) -> Vec<SessionConfigOption> {
    let select = |id: &str, current: &str, category, values: [&str; 2]| {
        SessionConfigOption::select(
            id.to_owned(),
            id.to_owned(),
            current.to_owned(),
            values
                .map(|v| SessionConfigSelectOption::new(v.to_owned(), v.to_owned()))
                .to_vec(),
        )
        .category(category)
    };
    vec![
        select(
            "model",
            &session.model,
            SessionConfigOptionCategory::Model,
            ["small", "large"],
        ),
        select(
            "thought_level",
            &session.thought_level,
            SessionConfigOptionCategory::ThoughtLevel,
            ["low", "high"],
        ),
    ]
}

fn chunk(
    cx: &ConnectionTo<Client>,
    session_id: &str,
    text: String,
) -> agent_client_protocol::Result<()> {
    cx.send_notification(SessionNotification::new(
        session_id.to_owned(),
        SessionUpdate::AgentMessageChunk(ContentChunk::new(ContentBlock::from(text))),
    ))
}

/// Runs one prompt turn to its stop reason.
async fn turn(
    cx: ConnectionTo<Client>,
    sessions: Sessions,
    session_id: String,
    text: String,
) -> agent_client_protocol::Result<StopReason> {
    let (received, cancelled) = {
        let sessions = sessions.lock().unwrap();
        let session = &sessions[&session_id];
        (session.received.clone(), session.cancelled.clone())
    };
    if text.contains("stderr") {
        eprintln!("test-agent stderr: {text}");
    }
    if text.contains("crash") {
        std::process::exit(3);
    }
    remember(&session_id, &text);
    chunk(&cx, &session_id, format!("echo: {text}"))?;
    if text.contains("report") {
        chunk(&cx, &session_id, received.to_string())?;
    }
    if text.contains("permission") {
        let request = RequestPermissionRequest::new(
            session_id.clone(),
            ToolCallUpdate::new(
                "call-1".to_owned(),
                ToolCallUpdateFields::new().title("write a file".to_owned()),
            ),
            vec![
                PermissionOption::new(
                    "allow-once".to_owned(),
                    "Allow once".to_owned(),
                    PermissionOptionKind::AllowOnce,
                ),
                // A second option of the same kind: a client tells them apart by id.
                PermissionOption::new(
                    "allow-once-read-only".to_owned(),
                    "Allow once, read-only".to_owned(),
                    PermissionOptionKind::AllowOnce,
                ),
                PermissionOption::new(
                    "allow-always".to_owned(),
                    "Always allow".to_owned(),
                    PermissionOptionKind::AllowAlways,
                ),
                PermissionOption::new(
                    "reject-once".to_owned(),
                    "Reject".to_owned(),
                    PermissionOptionKind::RejectOnce,
                ),
            ],
        );
        let outcome = cx.send_request(request).block_task().await?.outcome;
        let outcome = match outcome {
            RequestPermissionOutcome::Selected(selected) => {
                format!("selected {}", selected.option_id)
            }
            _ => "cancelled".to_owned(),
        };
        chunk(&cx, &session_id, format!("permission: {outcome}"))?;
    }
    if let Some(path) = text.strip_prefix("read ") {
        let read = cx
            .send_request(ReadTextFileRequest::new(
                session_id.clone(),
                path.to_owned(),
            ))
            .block_task()
            .await;
        let line = match read {
            Ok(read) => format!("read: {}", read.content),
            Err(err) => format!("read failed: {}", err.message),
        };
        chunk(&cx, &session_id, line)?;
    }
    if let Some((path, content)) = text
        .strip_prefix("write ")
        .and_then(|rest| rest.split_once(' '))
    {
        cx.send_request(WriteTextFileRequest::new(
            session_id.clone(),
            path.to_owned(),
            content.to_owned(),
        ))
        .block_task()
        .await?;
        chunk(&cx, &session_id, format!("wrote {path}"))?;
    }
    if let Some(command) = text.strip_prefix("run ") {
        let terminal = cx
            .send_request(
                CreateTerminalRequest::new(session_id.clone(), "/bin/sh".to_owned())
                    .args(vec!["-c".to_owned(), command.to_owned()])
                    .output_byte_limit(64),
            )
            .block_task()
            .await?
            .terminal_id;
        let exit = cx
            .send_request(WaitForTerminalExitRequest::new(
                session_id.clone(),
                terminal.clone(),
            ))
            .block_task()
            .await?
            .exit_status;
        let output = cx
            .send_request(TerminalOutputRequest::new(
                session_id.clone(),
                terminal.clone(),
            ))
            .block_task()
            .await?;
        cx.send_request(ReleaseTerminalRequest::new(session_id.clone(), terminal))
            .block_task()
            .await?;
        let code = exit.exit_code.map_or("none".to_owned(), |c| c.to_string());
        let truncated = if output.truncated { " (truncated)" } else { "" };
        chunk(
            &cx,
            &session_id,
            format!("ran: {code}{truncated}: {}", output.output),
        )?;
    }
    if text == "tools" {
        let line = match list_tools(&received["mcpServers"]).await {
            Ok(tools) => format!("tools: {tools}"),
            Err(text) => format!("tools error: {text}"),
        };
        chunk(&cx, &session_id, line)?;
    }
    if let Some(call) = text.strip_prefix("tool ") {
        let (name, input) = call.split_once(' ').unwrap_or((call, "{}"));
        let line = match call_tool(&received["mcpServers"], name, input).await {
            Ok(text) => format!("tool result: {text}"),
            Err(text) => format!("tool error: {text}"),
        };
        chunk(&cx, &session_id, line)?;
    }
    if text.contains("block") {
        cancelled.notified().await;
        eprintln!("test-agent: session/cancel");
        return Ok(StopReason::Cancelled);
    }
    Ok(StopReason::EndTurn)
}

type McpClient = rmcp::service::RunningService<rmcp::RoleClient, ()>;

/// An MCP client of the first stdio server of `servers` (ACP's `McpServer`s as JSON).
async fn mcp_client(servers: &serde_json::Value) -> Result<McpClient, String> {
    use rmcp::ServiceExt;

    let server = servers
        .as_array()
        .and_then(|all| all.iter().find(|s| s.get("command").is_some()))
        .ok_or("no stdio MCP server in session/new")?;
    let mut command = tokio::process::Command::new(server["command"].as_str().unwrap_or_default());
    for arg in server["args"].as_array().into_iter().flatten() {
        command.arg(arg.as_str().unwrap_or_default());
    }
    let transport =
        rmcp::transport::TokioChildProcess::new(command).map_err(|e| format!("launch: {e}"))?;
    ().serve(transport)
        .await
        .map_err(|e| format!("connect: {e}"))
}

/// The server's tools as `[{ name, description, inputSchema }]`.
async fn list_tools(servers: &serde_json::Value) -> Result<String, String> {
    let client = mcp_client(servers).await?;
    let tools = client
        .list_all_tools()
        .await
        .map_err(|e| format!("list: {e}"));
    let _ = client.cancel().await;
    let tools: Vec<serde_json::Value> = tools?
        .into_iter()
        .map(|t| serde_json::json!({ "name": t.name, "description": t.description, "inputSchema": *t.input_schema }))
        .collect();
    Ok(serde_json::Value::from(tools).to_string())
}

/// Calls tool `name` with `input` (a JSON object); the error is the tool's error text.
async fn call_tool(servers: &serde_json::Value, name: &str, input: &str) -> Result<String, String> {
    use rmcp::model::CallToolRequestParams;

    let arguments = match serde_json::from_str(input) {
        Ok(serde_json::Value::Object(arguments)) => arguments,
        _ => return Err(format!("tool input is not a JSON object: {input}")),
    };
    let client = mcp_client(servers).await?;
    let result = client
        .call_tool(CallToolRequestParams::new(name.to_owned()).with_arguments(arguments))
        .await
        .map_err(|e| format!("call: {e}"));
    let _ = client.cancel().await;
    let result = result?;
    let text: Vec<&str> = result
        .content
        .iter()
        .filter_map(|block| Some(block.as_text()?.text.as_str()))
        .collect();
    let text = text.join("\n");
    if result.is_error == Some(true) {
        Err(text)
    } else {
        Ok(text)
    }
}

/// Where a session's prompts are kept, one per line.
fn history_file(session_id: &str) -> Option<std::path::PathBuf> {
    let home = std::env::var_os("HOME")?;
    Some(
        std::path::Path::new(&home)
            .join(".agentos-builtin-agent")
            .join(session_id),
    )
}

/// Appends a prompt to its session's history; a home it cannot write to keeps none.
fn remember(session_id: &str, text: &str) {
    use std::io::Write;
    let Some(file) = history_file(session_id) else {
        return;
    };
    let _ = std::fs::create_dir_all(file.parent().unwrap_or(&file));
    if let Ok(mut out) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
    {
        let _ = writeln!(out, "{}", text.replace('\n', " "));
    }
}

/// A session's prompts so far.
fn history(session_id: &str) -> Vec<String> {
    history_file(session_id)
        .and_then(|file| std::fs::read_to_string(file).ok())
        .map(|text| text.lines().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn prompt_text(prompt: &[ContentBlock]) -> String {
    prompt
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text(text) => Some(text.text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The session modes every session has.
fn modes() -> SessionModeState {
    SessionModeState::new(
        "ask".to_owned(),
        vec![
            SessionMode::new("ask".to_owned(), "Ask".to_owned()),
            SessionMode::new("code".to_owned(), "Code".to_owned()),
        ],
    )
}

/// A new session's state, remembering what `session/new` or `session/load` received.
fn session(cwd: &std::path::Path, mcp_servers: &[McpServer]) -> Session {
    Session {
        received: serde_json::json!({ "cwd": cwd, "mcpServers": mcp_servers }),
        cancelled: Arc::default(),
        model: "small".into(),
        thought_level: "low".into(),
    }
}

/// Serves one client on stdin and stdout until it closes them; `load_sessions` offers ACP
/// `session/load`.
pub async fn serve(load_sessions: bool) -> agent_client_protocol::Result<()> {
    let sessions = Sessions::default();
    let last_id = Arc::new(Mutex::new(0u32));
    let (for_new, for_load, for_prompt, for_cancel, for_mode, for_config) = (
        sessions.clone(),
        sessions.clone(),
        sessions.clone(),
        sessions.clone(),
        sessions.clone(),
        sessions.clone(),
    );
    Agent
        .v1()
        .name("agentos-builtin-agent")
        .on_receive_request(
            async move |init: InitializeRequest, responder, _cx| {
                responder.respond(
                    InitializeResponse::new(init.protocol_version.min(ProtocolVersion::V1))
                        .agent_info(Implementation::new(
                            "agentos-builtin-agent",
                            env!("CARGO_PKG_VERSION"),
                        ))
                        .agent_capabilities(
                            AgentCapabilities::new()
                                .load_session(load_sessions)
                                .mcp_capabilities(McpCapabilities::new().http(true)),
                        ),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |new: NewSessionRequest, responder, _cx| {
                // Unique across processes too: histories outlive the agent.
                let id = {
                    let mut last = last_id.lock().unwrap();
                    *last += 1;
                    let nanos = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos());
                    format!("test-session-{nanos:x}-{last}")
                };
                let session = session(&new.cwd, &new.mcp_servers);
                let options = config_options(&session);
                for_new.lock().unwrap().insert(id.clone(), session);
                responder.respond(
                    NewSessionResponse::new(id)
                        .modes(modes())
                        .config_options(options),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |load: LoadSessionRequest, responder, cx: ConnectionTo<Client>| {
                let id = load.session_id.to_string();
                for earlier in history(&id) {
                    chunk(&cx, &id, format!("history: {earlier}"))?;
                }
                let session = session(&load.cwd, &load.mcp_servers);
                let options = config_options(&session);
                for_load.lock().unwrap().insert(id, session);
                responder.respond(
                    LoadSessionResponse::new()
                        .modes(modes())
                        .config_options(options),
                )
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |prompt: PromptRequest, responder, cx: ConnectionTo<Client>| {
                // The turn waits on the client (permission, files, cancel), so it runs off the
                // dispatch loop.
                let sessions = for_prompt.clone();
                let session_id = prompt.session_id.to_string();
                if !sessions.lock().unwrap().contains_key(&session_id) {
                    return responder
                        .respond_with_error(agent_client_protocol::Error::invalid_params());
                }
                let text = prompt_text(&prompt.prompt);
                let turn_cx = cx.clone();
                cx.spawn(async move {
                    let stop = turn(turn_cx, sessions, session_id, text).await?;
                    responder.respond(PromptResponse::new(stop))
                })
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_notification(
            async move |cancel: CancelNotification, _cx| {
                if let Some(session) = for_cancel.lock().unwrap().get(cancel.session_id.0.as_ref())
                {
                    session.cancelled.notify_waiters();
                }
                Ok(())
            },
            agent_client_protocol::on_receive_notification!(),
        )
        .on_receive_request(
            async move |set: SetSessionModeRequest, responder, cx: ConnectionTo<Client>| {
                if !for_mode
                    .lock()
                    .unwrap()
                    .contains_key(set.session_id.0.as_ref())
                {
                    return responder
                        .respond_with_error(agent_client_protocol::Error::invalid_params());
                }
                cx.send_notification(SessionNotification::new(
                    set.session_id.clone(),
                    SessionUpdate::CurrentModeUpdate(
                        agent_client_protocol::v1::schema::CurrentModeUpdate::new(set.mode_id),
                    ),
                ))?;
                responder.respond(SetSessionModeResponse::new())
            },
            agent_client_protocol::on_receive_request!(),
        )
        .on_receive_request(
            async move |set: SetSessionConfigOptionRequest, responder, _cx| {
                let mut sessions = for_config.lock().unwrap();
                let Some(session) = sessions.get_mut(set.session_id.0.as_ref()) else {
                    return responder
                        .respond_with_error(agent_client_protocol::Error::invalid_params());
                };
                let value = set
                    .value
                    .as_value_id()
                    .map(|v| v.to_string())
                    .unwrap_or_default();
                match &*set.config_id.0 {
                    "model" => session.model = value,
                    "thought_level" => session.thought_level = value,
                    _ => {
                        return responder
                            .respond_with_error(agent_client_protocol::Error::invalid_params());
                    }
                }
                responder.respond(SetSessionConfigOptionResponse::new(config_options(session)))
            },
            agent_client_protocol::on_receive_request!(),
        )
        .connect_to(Stdio::new())
        .await
}
