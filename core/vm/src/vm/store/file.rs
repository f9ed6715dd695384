//! A [`Database`] in a SQLite file on the host's disk. Several connections (the host's, each
//! VM's) write to the same file, so it uses WAL and waits up to 5 s for another's write.

use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{Connection, ToSql};

use crate::runtime::ActorError;
use crate::runtime::database::{Cell, Database};

pub struct SqliteFile {
    conn: Mutex<Connection>,
    /// The file's name, for errors.
    name: String,
}

impl SqliteFile {
    pub fn open(path: &Path) -> Result<Self, ActorError> {
        let name = path.file_name().map_or_else(
            || path.display().to_string(),
            |name| name.to_string_lossy().into_owned(),
        );
        let error = |e: rusqlite::Error| ActorError::internal(format!("{name}: {e}"));
        let conn = Connection::open(path).map_err(error)?;
        conn.busy_timeout(Duration::from_secs(5)).map_err(error)?;
        conn.execute_batch("PRAGMA journal_mode = WAL;")
            .map_err(error)?;
        Ok(Self {
            conn: Mutex::new(conn),
            name,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn error(&self, e: rusqlite::Error) -> ActorError {
        ActorError::internal(format!("{}: {e}", self.name))
    }
}

/// A parameter as rusqlite binds it.
struct Param(Cell);

impl ToSql for Param {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match &self.0 {
            Cell::Null => ToSqlOutput::Owned(Value::Null),
            Cell::Integer(n) => ToSqlOutput::Owned(Value::Integer(*n)),
            Cell::Text(text) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Cell::Blob(bytes) => ToSqlOutput::Borrowed(ValueRef::Blob(bytes)),
        })
    }
}

impl Database for SqliteFile {
    fn execute_batch(&self, sql: &str) -> Result<(), ActorError> {
        self.lock().execute_batch(sql).map_err(|e| self.error(e))
    }

    fn execute(&self, sql: &str, params: Vec<Cell>) -> Result<u64, ActorError> {
        let params = rusqlite::params_from_iter(params.into_iter().map(Param));
        self.lock()
            .execute(sql, params)
            .map(|changed| changed as u64)
            .map_err(|e| self.error(e))
    }

    fn query(&self, sql: &str, params: Vec<Cell>) -> Result<Vec<Vec<Cell>>, ActorError> {
        let conn = self.lock();
        let mut query = conn.prepare(sql).map_err(|e| self.error(e))?;
        let columns = query.column_count();
        let params = rusqlite::params_from_iter(params.into_iter().map(Param));
        let rows = query
            .query_map(params, |row| {
                (0..columns)
                    .map(|i| {
                        Ok(match row.get_ref(i)? {
                            ValueRef::Null => Cell::Null,
                            ValueRef::Integer(n) => Cell::Integer(n),
                            // No column of the schema holds one.
                            ValueRef::Real(_) => {
                                return Err(rusqlite::Error::InvalidColumnType(
                                    i,
                                    String::new(),
                                    rusqlite::types::Type::Real,
                                ));
                            }
                            ValueRef::Text(text) => {
                                Cell::Text(String::from_utf8_lossy(text).into_owned())
                            }
                            ValueRef::Blob(bytes) => Cell::Blob(bytes.to_vec()),
                        })
                    })
                    .collect()
            })
            .map_err(|e| self.error(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.error(e))
    }
}
