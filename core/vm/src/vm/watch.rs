//! Filesystem change events: `watchFs` watches a VM path (inotify, through `notify`) and
//! reports what changed under it as `fsChanged` events, whoever changed it: an action, a
//! process, an agent. Changes are batched ([`BATCH`]), each batch naming every path once, and
//! bounded: a burst that overflows the queue or a batch ([`MAX_PATHS`]) is reported with
//! `overflow: true` (re-read the tree), not queued without end. Symlinks are not followed, so a
//! watch sees nothing of the host's. What is mounted below a watched directory is its own
//! tree: watch it separately.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use notify::{Config, Event, RecommendedWatcher, RecursiveMode, Watcher};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use ts_rs::TS;

use super::fs::{Filesystem, VmPath};
use crate::runtime::ActorError;

/// How long changes gather into one event.
const BATCH: Duration = Duration::from_millis(100);
/// Most paths one event names; past it the batch is reported as an overflow.
const MAX_PATHS: usize = 1000;
/// Changes waiting to be batched; past it they are dropped and the batch overflows.
const QUEUE: usize = 4096;
/// Most watches a VM holds at once.
const MAX_WATCHES: usize = 64;

/// Options of `watchFs`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct WatchOptions {
    /// Watch everything below a directory, not only its entries (default false).
    pub recursive: Option<bool>,
}

/// A watch `watchFs` set up.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WatchInfo {
    /// Pass it to `unwatchFs`; `fsChanged` events carry it.
    pub watch_id: String,
    /// The VM path watched.
    pub path: String,
}

/// What changed under a watch during one batch.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct FsChanged {
    pub watch_id: String,
    /// VM paths created, written, removed or renamed, each once, sorted.
    pub paths: Vec<String>,
    /// Changes were lost (too many at once): re-read what the watch covers.
    pub overflow: bool,
}

/// Where `fsChanged` events go.
pub trait Listener: Send + Sync + 'static {
    fn fs_changed(&self, event: &FsChanged);
}

/// One VM's watches. Dropping one stops it.
pub struct Watches {
    listener: Arc<dyn Listener>,
    last: AtomicU64,
    live: Mutex<HashMap<String, Live>>,
}

struct Live {
    _watcher: RecommendedWatcher,
    batches: tokio::task::JoinHandle<()>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.batches.abort();
    }
}

impl Watches {
    pub fn new(listener: Arc<dyn Listener>) -> Self {
        Self {
            listener,
            last: AtomicU64::new(0),
            live: Mutex::default(),
        }
    }

    /// Watches `path` in `fs`. Must be called within a tokio runtime.
    pub fn watch(
        &self,
        fs: &Filesystem,
        path: &str,
        options: WatchOptions,
    ) -> Result<WatchInfo, ActorError> {
        let vm_path = VmPath::parse(path)?;
        if lock(&self.live).len() >= MAX_WATCHES {
            return Err(ActorError::limit_exceeded(format!(
                "this VM already has {MAX_WATCHES} watches, its most: unwatch one first"
            )));
        }
        let host = fs.host_path(&vm_path)?;
        let watch_id = format!("w{}", self.last.fetch_add(1, Ordering::SeqCst) + 1);
        let (queue, changes) = mpsc::channel::<Event>(QUEUE);
        let overflow = Arc::new(AtomicBool::new(false));
        let lost = overflow.clone();
        let mut watcher = RecommendedWatcher::new(
            move |event: notify::Result<Event>| {
                if !event.is_ok_and(|event| queue.try_send(event).is_ok()) {
                    lost.store(true, Ordering::SeqCst);
                }
            },
            Config::default().with_follow_symlinks(false),
        )
        .map_err(|err| ActorError::internal(format!("watching {vm_path}: {err}")))?;
        let mode = if options.recursive.unwrap_or(false) {
            RecursiveMode::Recursive
        } else {
            RecursiveMode::NonRecursive
        };
        watcher
            .watch(&host, mode)
            .map_err(|err| ActorError::internal(format!("watching {vm_path}: {err}")))?;
        let batches = tokio::spawn(batch(
            Batcher {
                watch_id: watch_id.clone(),
                host,
                vm: PathBuf::from(vm_path.as_str()),
                overflow,
                listener: self.listener.clone(),
            },
            changes,
        ));
        lock(&self.live).insert(
            watch_id.clone(),
            Live {
                _watcher: watcher,
                batches,
            },
        );
        Ok(WatchInfo {
            watch_id,
            path: vm_path.as_str().to_owned(),
        })
    }

    pub fn unwatch(&self, watch_id: &str) -> Result<(), ActorError> {
        lock(&self.live)
            .remove(watch_id)
            .map(drop)
            .ok_or_else(|| ActorError::not_found(format!("no watch {watch_id}")))
    }
}

/// What one watch's batching task knows.
struct Batcher {
    watch_id: String,
    /// The watched host path, and the VM path it is.
    host: PathBuf,
    vm: PathBuf,
    overflow: Arc<AtomicBool>,
    listener: Arc<dyn Listener>,
}

impl Batcher {
    fn vm_path(&self, host: &Path) -> Option<String> {
        let rel = host.strip_prefix(&self.host).ok()?;
        Some(self.vm.join(rel).to_string_lossy().into_owned())
    }
}

/// Gathers changes for [`BATCH`] after the first, then reports them as one event.
async fn batch(watch: Batcher, mut changes: mpsc::Receiver<Event>) {
    while let Some(first) = changes.recv().await {
        tokio::time::sleep(BATCH).await;
        let mut paths = BTreeSet::new();
        let mut capped = false;
        let mut next = Some(first);
        while let Some(event) = next {
            // The kernel's own queue overflowed.
            capped |= event.need_rescan();
            for path in event.paths.iter().filter_map(|p| watch.vm_path(p)) {
                if paths.len() < MAX_PATHS {
                    paths.insert(path);
                } else {
                    capped = !paths.contains(&path) || capped;
                }
            }
            next = changes.try_recv().ok();
        }
        let overflow = watch.overflow.swap(false, Ordering::SeqCst) || capped;
        watch.listener.fs_changed(&FsChanged {
            watch_id: watch.watch_id.clone(),
            paths: paths.into_iter().collect(),
            overflow,
        });
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
