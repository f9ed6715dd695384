//! What the fuzz targets share: the embedded host's frame decoding, the generated positional
//! argument decoding of every `agentOS` action, and the invariants each target asserts.
//!
//! Every function here either returns normally or panics; a panic is a finding (libFuzzer
//! saves the input under `fuzz/artifacts/<target>/`).

use agentos_core::AgentOs;
use agentos_core::agent_os_actions as dto;
use agentos_core::runtime::{
    ActionArgs, ActorError, Args, Encoding, Limits, MAX_SAFE_INTEGER, Surface, Value,
};

/// The embedded host's frames (`core/host/src/embedded/frames.rs`), compiled here from the
/// host's own source: the module is private to the host, and this keeps the fuzzed code the
/// shipped code rather than a copy, without building the host's server.
#[allow(dead_code, unreachable_pub)]
#[path = "../../core/host/src/embedded/frames.rs"]
pub mod frames;

/// Splits the first byte off as a selector (0 for an empty input).
pub fn split(data: &[u8]) -> (u8, &[u8]) {
    match data.split_first() {
        Some((first, rest)) => (*first, rest),
        None => (0, data),
    }
}

/// The encoding a selector bit picks.
pub fn encoding(selector: u8) -> Encoding {
    if selector & 1 == 0 {
        Encoding::Cbor
    } else {
        Encoding::Json
    }
}

/// Decodes one positional argument array for `T` the way the generated dispatcher does, and
/// when that succeeds checks that the DTO goes back onto the wire and decodes again (in CBOR
/// always; in JSON whenever JSON can carry it, integers above 2^53 being the exception).
fn decode_dto<T: ActionArgs>(args: Vec<Value>) -> Result<(), ActorError> {
    let dto = T::from_args(Args::new(T::NAME, args))?;
    let again = dto
        .into_args()
        .unwrap_or_else(|e| panic!("{}: a decoded DTO does not re-encode: {e}", T::NAME));
    let wire = Value::Array(again);
    for encoding in [Encoding::Cbor, Encoding::Json] {
        let bytes = match encoding.encode(&wire) {
            Ok(bytes) => bytes,
            Err(_) if encoding == Encoding::Json => continue,
            Err(e) => panic!(
                "{}: re-encoded arguments do not encode as CBOR: {e}",
                T::NAME
            ),
        };
        let Value::Array(values) = encoding.decode(&bytes).unwrap_or_else(|e| {
            panic!(
                "{}: {encoding:?} does not decode what it encoded: {e}",
                T::NAME
            )
        }) else {
            panic!("{}: an encoded array decoded as something else", T::NAME)
        };
        if let Err(e) = T::from_args(Args::new(T::NAME, values)) {
            panic!(
                "{}: arguments it produced do not decode again ({encoding:?}): {e}",
                T::NAME
            );
        }
    }
    Ok(())
}

macro_rules! actions {
    ($($dto:ident),* $(,)?) => {
        /// Wire names of every action of the `agentOS` surface, and of the bridge answer.
        pub const ACTIONS: &[&str] = &[$(<dto::$dto as ActionArgs>::NAME),*];

        /// Decodes `args` for the action named `name` as its generated dispatcher does
        /// (`unknown_action` for a name the surface does not have).
        pub fn decode_args(name: &str, args: Vec<Value>) -> Result<(), ActorError> {
            $(
                if name == <dto::$dto as ActionArgs>::NAME {
                    return decode_dto::<dto::$dto>(args);
                }
            )*
            Err(ActorError::unknown_action(name))
        }
    };
}

actions!(
    MountFs,
    UnmountFs,
    ListMounts,
    ReadFile,
    ReadTextFile,
    WriteFile,
    ReadFiles,
    WriteFiles,
    Mkdir,
    Readdir,
    ReaddirRecursive,
    Stat,
    Exists,
    Move,
    Delete,
    SnapshotRootFilesystem,
    UploadChunk,
    Exec,
    ExecArgv,
    Spawn,
    WriteProcessStdin,
    CloseProcessStdin,
    ResizeProcess,
    WaitProcess,
    KillProcess,
    StopProcess,
    ListProcesses,
    GetProcess,
    AllProcesses,
    ProcessTree,
    SandboxInfo,
    OpenShell,
    WriteShell,
    ResizeShell,
    CloseShell,
    WaitShell,
    ListShells,
    ListAgents,
    CreateSession,
    Prompt,
    CancelSession,
    RespondPermission,
    CloseSession,
    DestroySession,
    GetSessionEvents,
    ListPersistedSessions,
    ListSessions,
    SetSessionMode,
    GetSessionModes,
    GetSessionConfigOptions,
    SetSessionConfigOption,
    SetSessionModel,
    SetSessionThoughtLevel,
    GetSessionCapabilities,
    GetSessionAgentInfo,
    RawSessionSend,
    RawSend,
    ScheduleCron,
    ListCronJobs,
    CancelCronJob,
    RegisterToolkit,
    ListToolkits,
    UnregisterToolkit,
    RestoreRootFilesystem,
    RespondToolCall,
    Checkpoint,
    ReadFileRange,
    WriteFileFromUpload,
    ListPendingPermissions,
    GetRuntimeHealth,
    ReadProcessOutput,
    ReadShellOutput,
    WatchFs,
    UnwatchFs,
    GetSession,
    ResumeSession,
    VmFetch,
    CreateSignedPreviewUrl,
    ExpireSignedPreviewUrl,
);

/// Panics unless [`ACTIONS`] names exactly the actions of `AgentOs`'s contract: the list above
/// is written by hand (a DTO type per action), and this keeps it from falling behind the
/// surface. The targets that use it call this from their `init`, so CI's short run catches it.
pub fn check_action_list() {
    let contract: std::collections::BTreeSet<&str> = AgentOs::contract()
        .actions
        .iter()
        .filter(|a| a.alias_of.is_none())
        .map(|a| a.name.as_str())
        .collect();
    let listed: std::collections::BTreeSet<&str> = ACTIONS.iter().copied().collect();
    let missing: Vec<_> = contract.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&contract).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "fuzz/src/lib.rs `actions!` is out of date: add {missing:?}, remove {extra:?}"
    );
}

/// One incoming frame through the embedded host's path (`connection.rs`, `handle`): size
/// check, decode, frame decode, argument limits, then the named action's argument decoding.
/// Whatever error results must encode as the `Error` frame the host would answer with.
pub fn handle_frame(encoding: Encoding, bytes: &[u8]) {
    let limits = Limits::default();
    let Err(error) = frame_outcome(encoding, bytes, limits) else {
        return;
    };
    let action_id = frames::request_id(encoding, bytes);
    let reply = frames::ServerFrame::Error {
        error: &error,
        action_id,
    }
    .encode(encoding);
    if let Err(e) = reply {
        // A JSON id above 2^53 cannot go back as a JSON number (no JavaScript client can send
        // one); every other error reply must encode.
        let unsafe_id =
            encoding == Encoding::Json && action_id.is_some_and(|id| id > MAX_SAFE_INTEGER);
        assert!(
            unsafe_id,
            "the error reply to a frame does not encode: {e} (error: {error})"
        );
    }
}

fn frame_outcome(encoding: Encoding, bytes: &[u8], limits: Limits) -> Result<(), ActorError> {
    limits.check_size(bytes.len())?;
    let value = encoding.decode(bytes)?;
    match frames::decode(&value)? {
        frames::ClientFrame::SubscriptionRequest { .. }
        | frames::ClientFrame::CancelRequest { .. } => Ok(()),
        frames::ClientFrame::ActionRequest { name, args, .. } => {
            limits.check_args(&args)?;
            decode_args(&name, args)
        }
    }
}

/// A value with its map entries sorted, or `None` when JSON cannot carry it exactly (tags,
/// non-finite floats, non-text or repeated keys, integers beyond 2^53): the values for which
/// `Json.decode(Json.encode(v)) == v` should hold, compared in this form.
pub fn json_canonical(value: &Value) -> Option<Value> {
    Some(match value {
        Value::Tag(..) => return None,
        Value::Float(f) if !f.is_finite() => return None,
        Value::Integer(i) if i128::from(*i).unsigned_abs() > u128::from(MAX_SAFE_INTEGER) => {
            return None;
        }
        Value::Array(items) => {
            Value::Array(items.iter().map(json_canonical).collect::<Option<_>>()?)
        }
        Value::Map(entries) => {
            let mut out = entries
                .iter()
                .map(|(k, v)| match k {
                    Value::Text(k) => Some((k.clone(), json_canonical(v)?)),
                    _ => None,
                })
                .collect::<Option<Vec<_>>>()?;
            out.sort_by(|a, b| a.0.cmp(&b.0));
            if out.windows(2).any(|w| w[0].0 == w[1].0) {
                return None;
            }
            Value::Map(out.into_iter().map(|(k, v)| (Value::Text(k), v)).collect())
        }
        other => other.clone(),
    })
}

/// Equality in which NaN equals NaN (`Value`'s `PartialEq` follows IEEE 754, where it does
/// not, so every round trip of a NaN would look like a change).
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => x == y || (x.is_nan() && y.is_nan()),
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| same(x, y))
        }
        (Value::Map(xs), Value::Map(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .zip(ys)
                    .all(|((xk, xv), (yk, yv))| same(xk, yk) && same(xv, yv))
        }
        (Value::Tag(xt, x), Value::Tag(yt, y)) => xt == yt && same(x, y),
        _ => a == b,
    }
}

/// Whether a value holds a CBOR tag anywhere (CBOR decoding rewrites some tags).
pub fn has_tag(value: &Value) -> bool {
    match value {
        Value::Tag(..) => true,
        Value::Array(items) => items.iter().any(has_tag),
        Value::Map(entries) => entries.iter().any(|(k, v)| has_tag(k) || has_tag(v)),
        _ => false,
    }
}

pub mod snapshot;
