//! The protocol's frames (`docs/protocol.md`): `{ body: { tag, val } }`, mirroring RivetKit's
//! client protocol.

use serde::{Deserialize, Serialize};

use agentos_core::runtime::instance::Init;
use agentos_core::runtime::{ActorError, Encoding, Limits, Value, from_value, to_value};

#[derive(Serialize)]
struct Frame<T> {
    body: T,
}

/// Frames the host sends.
#[derive(Serialize)]
#[serde(tag = "tag", content = "val")]
pub enum ServerFrame<'a> {
    Init(Init<'a>),
    ActionResponse {
        id: u64,
        output: Value,
    },
    #[serde(rename_all = "camelCase")]
    Error {
        #[serde(flatten)]
        error: &'a ActorError,
        action_id: Option<u64>,
    },
    Event {
        name: &'a str,
        args: [Value; 1],
    },
}

impl ServerFrame<'_> {
    pub fn encode(&self, encoding: Encoding) -> Result<Vec<u8>, ActorError> {
        encoding.encode(&to_value(&Frame { body: self })?)
    }
}

/// Frames a client sends.
#[expect(
    clippy::enum_variant_names,
    reason = "the variants are the protocol's frame tags"
)]
#[derive(Deserialize)]
#[serde(tag = "tag", content = "val")]
pub enum ClientFrame {
    ActionRequest {
        id: u64,
        name: String,
        args: Vec<Value>,
    },
    #[serde(rename_all = "camelCase")]
    SubscriptionRequest { event_name: String, subscribe: bool },
    /// Stops the call `id` (its future is dropped: a process it runs is killed, a prompt's
    /// turn cancelled); unknown or finished calls are ignored.
    CancelRequest { id: u64 },
}

/// The request id of a raw frame, when one can be read without the envelope codec: errors
/// for frames that fail decoding or later checks still reach the call that sent them.
pub fn request_id(encoding: Encoding, bytes: &[u8]) -> Option<u64> {
    #[derive(Deserialize)]
    struct Id {
        id: u64,
    }
    #[derive(Deserialize)]
    struct Body {
        val: Id,
    }
    #[derive(Deserialize)]
    struct Outer {
        body: Body,
    }
    let outer: Outer = match encoding {
        Encoding::Json => serde_json::from_slice(bytes).ok()?,
        Encoding::Cbor => {
            ciborium::de::from_reader_with_recursion_limit(bytes, Limits::PARSE_DEPTH).ok()?
        }
    };
    Some(outer.body.val.id)
}

pub fn decode(frame: &Value) -> Result<ClientFrame, ActorError> {
    #[derive(Deserialize)]
    struct Outer {
        body: ClientFrame,
    }
    from_value::<Outer>(frame)
        .map(|o| o.body)
        .map_err(|msg| ActorError::invalid_input(format!("invalid frame: {msg}")))
}
