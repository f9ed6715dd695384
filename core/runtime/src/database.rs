//! The durable SQL database a host lends an instance for the state that must outlive it: the
//! embedded host's SQLite file, or the actor's own database in the Rivet Engine's storage,
//! which survives the runner. Both speak SQLite's dialect; the instance sees only this trait.

use crate::ActorError;

/// A parameter of a statement, or a value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Text(String),
    Blob(Vec<u8>),
}

/// A SQLite database. Calls block the calling thread until the statement is durable, for a
/// round trip where the database is remote: never make one while holding a lock that async
/// code also takes (a runtime worker stuck on that lock can hold up the very task that
/// carries the answer; `core/rivet/tests/durable_cron.rs` hung that way).
pub trait Database: Send + Sync {
    /// Runs statements that take no parameters, such as a schema.
    fn execute_batch(&self, sql: &str) -> Result<(), ActorError>;
    /// Runs one statement and says how many rows it changed.
    fn execute(&self, sql: &str, params: Vec<Cell>) -> Result<u64, ActorError>;
    /// Runs one query and returns its rows.
    fn query(&self, sql: &str, params: Vec<Cell>) -> Result<Vec<Vec<Cell>>, ActorError>;
}

impl Cell {
    pub fn text(self) -> Result<String, ActorError> {
        match self {
            Cell::Text(text) => Ok(text),
            other => Err(other.mismatch("text")),
        }
    }

    pub fn integer(self) -> Result<i64, ActorError> {
        match self {
            Cell::Integer(n) => Ok(n),
            other => Err(other.mismatch("an integer")),
        }
    }

    pub fn blob(self) -> Result<Vec<u8>, ActorError> {
        match self {
            Cell::Blob(bytes) => Ok(bytes),
            other => Err(other.mismatch("bytes")),
        }
    }

    pub fn optional_text(self) -> Result<Option<String>, ActorError> {
        match self {
            Cell::Null => Ok(None),
            other => other.text().map(Some),
        }
    }

    pub fn optional_integer(self) -> Result<Option<i64>, ActorError> {
        match self {
            Cell::Null => Ok(None),
            other => other.integer().map(Some),
        }
    }

    fn mismatch(&self, wanted: &str) -> ActorError {
        ActorError::internal(format!("a stored value is {self:?}, not {wanted}"))
    }
}

impl From<&str> for Cell {
    fn from(text: &str) -> Self {
        Cell::Text(text.to_owned())
    }
}

impl From<String> for Cell {
    fn from(text: String) -> Self {
        Cell::Text(text)
    }
}

impl From<&String> for Cell {
    fn from(text: &String) -> Self {
        Cell::Text(text.clone())
    }
}

impl From<Vec<u8>> for Cell {
    fn from(bytes: Vec<u8>) -> Self {
        Cell::Blob(bytes)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Self {
        Cell::Integer(n)
    }
}

impl From<u32> for Cell {
    fn from(n: u32) -> Self {
        Cell::Integer(n.into())
    }
}

impl From<u64> for Cell {
    fn from(n: u64) -> Self {
        Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Cell {
    fn from(b: bool) -> Self {
        Cell::Integer(b.into())
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(value: Option<T>) -> Self {
        value.map_or(Cell::Null, Into::into)
    }
}

/// Statement parameters from values of mixed types: `params![vm, id, run_count]`.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        vec![$($crate::database::Cell::from($value)),*]
    };
}
