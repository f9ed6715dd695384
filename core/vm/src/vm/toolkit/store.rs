//! The toolkits registered through `registerToolkit`, on record so that the VM has them again
//! when it next opens (on another runner too, where the host lends its database). Toolkits
//! from the host's configuration are not: the configuration brings them back.

use super::ToolkitSpec;
use crate::runtime::{ActorError, params};
use crate::vm::store::{Store, columns};

pub struct ToolkitStore {
    store: Store,
    /// The VM whose toolkits these are.
    vm: String,
}

impl ToolkitStore {
    pub fn new(store: Store, vm: String) -> Self {
        Self { store, vm }
    }

    pub fn save(&self, spec: &ToolkitSpec) -> Result<(), ActorError> {
        let json = serde_json::to_string(spec)
            .map_err(|e| ActorError::internal(format!("a toolkit did not encode: {e}")))?;
        self.store
            .execute(
                "INSERT OR REPLACE INTO toolkits (vm, name, spec_json) VALUES (?1, ?2, ?3)",
                params![&self.vm, &spec.name, json],
            )
            .map(drop)
    }

    pub fn delete(&self, name: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "DELETE FROM toolkits WHERE vm = ?1 AND name = ?2",
                params![&self.vm, name],
            )
            .map(drop)
    }

    /// Every saved toolkit of this VM, by name.
    pub fn all(&self) -> Result<Vec<ToolkitSpec>, ActorError> {
        let rows = self.store.query(
            "SELECT spec_json FROM toolkits WHERE vm = ?1 ORDER BY name",
            params![&self.vm],
        )?;
        rows.into_iter()
            .map(|row| {
                let [json] = columns(row)?;
                serde_json::from_str(&json.text()?)
                    .map_err(|e| ActorError::internal(format!("a stored toolkit: {e}")))
            })
            .collect()
    }
}
