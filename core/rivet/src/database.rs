//! The actor's own SQLite database in the engine's storage (`ctx.sql()`), as the
//! [`Database`] its instance keeps its state in: every write is in the engine once the call
//! returns, so a runner killed with SIGKILL loses none of it, and the actor finds it again on
//! whichever runner the engine starts it next.

use std::future::Future;

use agentos_core::runtime::ActorError;
use agentos_core::runtime::database::{Cell, Database};
use rivetkit::{BindParam, ColumnValue, SqliteDb};
use tokio::runtime::Handle;

pub(crate) struct EngineDatabase {
    sql: SqliteDb,
    /// The runtime the engine's connection runs on.
    runtime: Handle,
}

impl EngineDatabase {
    /// Call within the runtime that serves the actor.
    pub(crate) fn new(sql: SqliteDb) -> Self {
        Self {
            sql,
            runtime: Handle::current(),
        }
    }

    /// Waits for `request` on the calling thread, which may be one of the runtime's own
    /// workers (its other work moves to another thread meanwhile).
    fn wait<T>(&self, request: impl Future<Output = anyhow::Result<T>>) -> Result<T, ActorError> {
        tokio::task::block_in_place(|| self.runtime.block_on(request))
            .map_err(|e| ActorError::internal(format!("the actor's database: {e:#}")))
    }
}

fn bind(params: Vec<Cell>) -> Option<Vec<BindParam>> {
    Some(
        params
            .into_iter()
            .map(|cell| match cell {
                Cell::Null => BindParam::Null,
                Cell::Integer(n) => BindParam::Integer(n),
                Cell::Text(text) => BindParam::Text(text),
                Cell::Blob(bytes) => BindParam::Blob(bytes),
            })
            .collect(),
    )
}

fn cell(value: ColumnValue) -> Result<Cell, ActorError> {
    Ok(match value {
        ColumnValue::Null => Cell::Null,
        ColumnValue::Integer(n) => Cell::Integer(n),
        ColumnValue::Text(text) => Cell::Text(text),
        ColumnValue::Blob(bytes) => Cell::Blob(bytes),
        // No column of the schema holds one.
        ColumnValue::Float(x) => {
            return Err(ActorError::internal(format!(
                "the actor's database holds a float ({x}) where none belongs"
            )));
        }
    })
}

impl Database for EngineDatabase {
    fn execute_batch(&self, sql: &str) -> Result<(), ActorError> {
        self.wait(self.sql.exec(sql)).map(drop)
    }

    fn execute(&self, sql: &str, params: Vec<Cell>) -> Result<u64, ActorError> {
        self.wait(self.sql.execute(sql, bind(params)))
            .map(|done| done.changes.max(0) as u64)
    }

    fn query(&self, sql: &str, params: Vec<Cell>) -> Result<Vec<Vec<Cell>>, ActorError> {
        self.wait(self.sql.query(sql, bind(params)))?
            .rows
            .into_iter()
            .map(|row| row.into_iter().map(cell).collect())
            .collect()
    }
}
