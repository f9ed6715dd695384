//! The VM's mount table on disk, so that mounts outlive the host: each mount's point,
//! driver and options, written when it is mounted and deleted when it is unmounted, and
//! mounted again when the VM next opens ([`Mounts`]).

use super::fs::{Filesystem, MountDriver, MountInfo, MountOptions, MountRestored, VmPath};
use super::store::{Store, columns};
use crate::runtime::{ActorError, params};

pub struct MountStore {
    store: Store,
    /// The VM whose mounts these are.
    vm: String,
}

impl MountStore {
    pub fn new(store: Store, vm: String) -> Self {
        Self { store, vm }
    }

    pub fn save(&self, mount: &MountInfo) -> Result<(), ActorError> {
        let driver = serde_json::to_string(&mount.driver)
            .map_err(|e| ActorError::internal(format!("a mount did not encode: {e}")))?;
        self.store
            .execute(
                "INSERT OR REPLACE INTO mounts (vm, path, driver_json, read_only)
                 VALUES (?1, ?2, ?3, ?4)",
                params![&self.vm, &mount.path, driver, mount.read_only],
            )
            .map(drop)
    }

    pub fn remove(&self, path: &str) -> Result<(), ActorError> {
        self.store
            .execute(
                "DELETE FROM mounts WHERE vm = ?1 AND path = ?2",
                params![&self.vm, path],
            )
            .map(drop)
    }

    /// The saved mounts, parents before what is mounted inside them.
    pub fn all(&self) -> Result<Vec<(String, MountDriver, MountOptions)>, ActorError> {
        let rows = self.store.query(
            "SELECT path, driver_json, read_only FROM mounts WHERE vm = ?1 ORDER BY path",
            params![&self.vm],
        )?;
        rows.into_iter()
            .map(|row| {
                let [path, driver, read_only] = columns(row)?;
                let path = path.text()?;
                let driver = serde_json::from_str(&driver.text()?)
                    .map_err(|e| ActorError::internal(format!("saved mount {path}: {e}")))?;
                let options = MountOptions {
                    read_only: Some(read_only.integer()? != 0),
                };
                Ok((path, driver, options))
            })
            .collect()
    }
}

/// The VM's mounts as the actions see them: the filesystem's table, kept in a [`MountStore`]
/// and mounted again from it when the VM opens. What could not come back as it was is
/// reported in `listMounts`, never dropped in silence.
pub struct Mounts {
    store: MountStore,
    /// Mounts from before a restart that are not as they were, by path.
    restored: std::sync::Mutex<std::collections::BTreeMap<String, MountInfo>>,
}

impl Mounts {
    /// Mounts again what `store` holds. A memory mount comes back empty; a host directory
    /// that is gone or no longer allowed stays on record, unmounted.
    pub fn restore(store: MountStore, fs: &Filesystem) -> Result<Self, ActorError> {
        let mut restored = std::collections::BTreeMap::new();
        for (path, driver, options) in store.all()? {
            let read_only = options.read_only.unwrap_or(false);
            let outcome = match fs.mount(&path, driver.clone(), options) {
                Ok(_) if driver == MountDriver::Memory => Some(MountRestored::Empty),
                Ok(_) => None,
                Err(err) => {
                    tracing::warn!(%path, %err, "a saved mount did not come back");
                    Some(MountRestored::Unavailable {
                        reason: err.message,
                    })
                }
            };
            if let Some(outcome) = outcome {
                let info = MountInfo {
                    path: path.clone(),
                    driver,
                    read_only,
                    restored: Some(outcome),
                };
                restored.insert(path, info);
            }
        }
        Ok(Self {
            store,
            restored: std::sync::Mutex::new(restored),
        })
    }

    pub fn mount(
        &self,
        fs: &Filesystem,
        path: &str,
        driver: MountDriver,
        options: MountOptions,
    ) -> Result<MountInfo, ActorError> {
        if self.lock().contains_key(path) {
            return Err(ActorError::already_exists(format!(
                "a mount made before the host restarted is on record at {path}; unmount it first"
            )));
        }
        let info = fs.mount(path, driver, options)?;
        if let Err(err) = self.store.save(&info) {
            // Not on record means not mounted: a restart would lose it unseen.
            let _ = fs.unmount(&info.path);
            return Err(err);
        }
        Ok(info)
    }

    pub fn unmount(&self, fs: &Filesystem, path: &str) -> Result<(), ActorError> {
        let point = VmPath::parse(path)?.to_string();
        let was_restored = self.lock().remove(&point);
        match was_restored {
            Some(info) if matches!(info.restored, Some(MountRestored::Unavailable { .. })) => {}
            _ => fs.unmount(&point)?,
        }
        self.store.remove(&point)
    }

    /// The filesystem's mounts and those that could not come back, sorted by path.
    pub fn list(&self, fs: &Filesystem) -> Vec<MountInfo> {
        let restored = self.lock();
        let mut all: Vec<MountInfo> = fs
            .list_mounts()
            .into_iter()
            .map(|info| restored.get(&info.path).cloned().unwrap_or(info))
            .collect();
        all.extend(
            restored
                .values()
                .filter(|info| matches!(info.restored, Some(MountRestored::Unavailable { .. })))
                .cloned(),
        );
        all.sort_by(|a, b| a.path.cmp(&b.path));
        all
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, MountInfo>> {
        self.restored
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
