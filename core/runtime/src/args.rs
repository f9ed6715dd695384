//! Positional arguments, as RivetKit sends them: `mountFs(path, driver, options?)` arrives as
//! `[path, driver, options]`. Generated DTOs decode through [`Args`] so that every error names
//! the action, the parameter and its position.

use serde::de::DeserializeOwned;

use super::{ActorError, Value, from_value};

/// The positional arguments of one call.
pub struct Args {
    action: &'static str,
    values: Vec<Value>,
}

impl Args {
    pub fn new(action: &'static str, values: Vec<Value>) -> Self {
        Self { action, values }
    }

    /// Decodes argument `index`. A missing or `null` argument is accepted only where
    /// `optional` (the parameter is an `Option`).
    pub fn take<T: DeserializeOwned>(
        &mut self,
        index: usize,
        name: &str,
        optional: bool,
    ) -> Result<T, ActorError> {
        let value = self
            .values
            .get_mut(index)
            .map_or(Value::Null, |v| std::mem::replace(v, Value::Null));
        if value.is_null() && !optional {
            return Err(self.error(index, name, "missing required argument"));
        }
        from_value(&value).map_err(|msg| self.error(index, name, &msg))
    }

    /// Rejects arguments beyond `arity`; trailing `null`/`undefined` count as absent.
    pub fn finish(self, arity: usize) -> Result<(), ActorError> {
        let extra = self
            .values
            .iter()
            .skip(arity)
            .filter(|v| !v.is_null())
            .count();
        if extra > 0 {
            return Err(ActorError::invalid_input(format!(
                "{}: takes {arity} argument(s) but {} were given",
                self.action,
                self.values.len()
            ))
            .with_metadata(serde_json::json!({ "action": self.action, "arity": arity })));
        }
        Ok(())
    }

    fn error(&self, index: usize, name: &str, problem: &str) -> ActorError {
        ActorError::invalid_input(format!(
            "{}: argument #{} `{name}`: {problem}",
            self.action,
            index + 1
        ))
        .with_metadata(serde_json::json!({
            "action": self.action, "argument": name, "position": index + 1
        }))
    }
}

/// A generated action DTO: named fields, positional on the wire.
pub trait ActionArgs: Sized {
    /// The action's wire name.
    const NAME: &'static str;
    /// Decodes the positional arguments.
    fn from_args(args: Args) -> Result<Self, ActorError>;
    /// Encodes the fields as positional arguments, for Rust callers.
    fn into_args(self) -> Result<Vec<Value>, ActorError>;
}
