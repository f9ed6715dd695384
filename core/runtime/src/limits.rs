//! Limits a host enforces on every incoming message, so that hostile input costs a typed
//! error instead of memory or stack.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{ActorError, Value};

/// What one message may contain. `Init` reports these to clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Limits {
    /// Largest encoded message, in bytes.
    pub max_message_bytes: u32,
    /// Deepest nesting of arrays and maps inside one argument.
    pub max_depth: u32,
    /// Most values (scalars and containers) in one message's arguments.
    pub max_values: u32,
    /// Largest single byte string.
    pub max_binary_bytes: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self::with_message_bytes(1 << 20)
    }
}

impl Limits {
    pub fn with_message_bytes(max_message_bytes: u32) -> Self {
        Self {
            max_message_bytes,
            max_depth: 64,
            max_values: 100_000,
            max_binary_bytes: max_message_bytes,
        }
    }

    /// Parsers stop recursing here; it is above `max_depth` so the precise check below can
    /// name the limit, and low enough that a hostile message cannot exhaust the stack.
    /// (Public, hidden, only so that `fuzz/` can compile the embedded host's frame decoding.)
    #[doc(hidden)]
    pub const PARSE_DEPTH: usize = 128;

    pub fn check_size(&self, bytes: usize) -> Result<(), ActorError> {
        if bytes > self.max_message_bytes as usize {
            return Err(ActorError::limit_exceeded(format!(
                "message of {bytes} bytes exceeds the limit of {} bytes",
                self.max_message_bytes
            )));
        }
        Ok(())
    }

    /// Checks the depth of each argument, the value count and byte string sizes.
    pub fn check_args(&self, args: &[Value]) -> Result<(), ActorError> {
        let mut count = 0u32;
        for (i, arg) in args.iter().enumerate() {
            let depth = self.walk(arg, &mut count)?;
            if depth > self.max_depth {
                return Err(ActorError::limit_exceeded(format!(
                    "argument #{} nests {depth} levels deep; the limit is {}",
                    i + 1,
                    self.max_depth
                )));
            }
        }
        Ok(())
    }

    fn walk(&self, value: &Value, count: &mut u32) -> Result<u32, ActorError> {
        *count += 1;
        if *count > self.max_values {
            return Err(ActorError::limit_exceeded(format!(
                "message holds more than {} values",
                self.max_values
            )));
        }
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Map(entries) => Box::new(entries.iter().flat_map(|(k, v)| [k, v])),
            Value::Tag(_, inner) => return self.walk(inner, count),
            Value::Bytes(b) if b.len() > self.max_binary_bytes as usize => {
                return Err(ActorError::limit_exceeded(format!(
                    "byte string of {} bytes exceeds the limit of {} bytes",
                    b.len(),
                    self.max_binary_bytes
                )));
            }
            _ => return Ok(0),
        };
        let mut deepest = 0;
        for child in children {
            deepest = deepest.max(self.walk(child, count)?);
        }
        Ok(deepest + 1)
    }
}
