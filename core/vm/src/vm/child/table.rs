//! The table of one kind of the VM's supervised programs (spawned processes, shells): those
//! running, each with the channel to the task that supervises it, and the last ones ended,
//! so that questions about them still get answers. Numbers count from 1, never reused.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use nix::sys::signal::Signal;
use tokio::sync::watch;

use super::supervise::Stop;
use crate::runtime::ActorError;

/// How many ended programs a table keeps; past it the oldest are forgotten (unknown, as if
/// never started).
const EXITS_KEPT: usize = 256;

/// Running programs, each with its data `L`, and ended ones, each as its end `E`. Every
/// method takes `&self`. Dropping the table kills every program still running.
pub(in crate::vm) struct Table<L, E> {
    rows: Arc<Mutex<Rows<L, E>>>,
    /// What the table holds, in the plural ("shells"), for its errors.
    what: &'static str,
    /// How many may run at once: each holds descriptors and a task of the host's.
    max_running: usize,
}

pub(in crate::vm) struct Rows<L, E> {
    /// The last number handed out.
    last: u64,
    running: BTreeMap<u64, Running<L, E>>,
    /// The oldest dropped first past `EXITS_KEPT`.
    ended: BTreeMap<u64, E>,
}

struct Running<L, E> {
    data: L,
    stop: watch::Sender<Stop>,
    end: watch::Receiver<Option<E>>,
}

/// What a table knows about a number.
pub(in crate::vm) enum Found<'a, L, E> {
    Running(&'a L),
    Ended(&'a E),
}

/// A program just registered: the requests its supervisor acts on, and where the supervisor
/// reports its end.
pub(in crate::vm) struct Entry<L, E> {
    pub stop: watch::Receiver<Stop>,
    pub end: End<L, E>,
}

/// Reports a program's end: it moves to the ended list, and whoever waits gets it.
pub(in crate::vm) struct End<L, E> {
    number: u64,
    rows: Arc<Mutex<Rows<L, E>>>,
    sender: watch::Sender<Option<E>>,
}

impl<L, E: Clone> Table<L, E> {
    pub(in crate::vm) fn new(what: &'static str, max_running: usize) -> Self {
        Self {
            rows: Arc::new(Mutex::new(Rows {
                last: 0,
                running: BTreeMap::new(),
                ended: BTreeMap::new(),
            })),
            what,
            max_running,
        }
    }

    /// Refuses another program while the most already run.
    pub(in crate::vm) fn check_room(&self) -> Result<(), ActorError> {
        let (running, max, what) = (self.lock().running.len(), self.max_running, self.what);
        if running >= max {
            return Err(ActorError::limit_exceeded(format!(
                "this VM already runs {running} {what}, its most (end one first)"
            ))
            .with_metadata(serde_json::json!({ "limit": what, "max": max })));
        }
        Ok(())
    }

    /// Registers a running program under the next number, which `make` turns into its data
    /// and a value for the caller; a number `make` refuses is not used up.
    pub(in crate::vm) fn insert<R>(
        &self,
        make: impl FnOnce(u64) -> Result<(L, R), ActorError>,
    ) -> Result<(R, Entry<L, E>), ActorError> {
        let (stop_tx, stop) = watch::channel(Stop::Run);
        let (sender, end) = watch::channel(None);
        let mut rows = self.lock();
        let number = rows.last + 1;
        let (data, kept) = make(number)?;
        rows.last = number;
        rows.running.insert(
            number,
            Running {
                data,
                stop: stop_tx,
                end,
            },
        );
        let end = End {
            number,
            rows: self.rows.clone(),
            sender,
        };
        Ok((kept, Entry { stop, end }))
    }

    pub(in crate::vm) fn lock(&self) -> MutexGuard<'_, Rows<L, E>> {
        self.rows.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How the program ends: at once for one that has, else once it does. `None` for a
    /// number the table does not know.
    pub(in crate::vm) fn wait(
        &self,
        number: u64,
    ) -> Option<impl Future<Output = Result<E, ActorError>> + use<L, E>> {
        self.ending(number, None)
    }

    /// Asks a running program to stop with `signal` (everything is killed after a grace
    /// period; asking again changes nothing), then as [`wait`](Self::wait).
    pub(in crate::vm) fn stop(
        &self,
        number: u64,
        signal: Signal,
    ) -> Option<impl Future<Output = Result<E, ActorError>> + use<L, E>> {
        self.ending(number, Some(signal))
    }

    fn ending(
        &self,
        number: u64,
        ask: Option<Signal>,
    ) -> Option<impl Future<Output = Result<E, ActorError>> + use<L, E>> {
        let rows = self.lock();
        let ending = match (rows.ended.get(&number), rows.running.get(&number)) {
            (Some(ended), _) => Ending::Ended(ended.clone()),
            (None, Some(running)) => {
                if let Some(signal) = ask {
                    running.stop.send_if_modified(|stop| {
                        let run = *stop == Stop::Run;
                        if run {
                            *stop = Stop::Ask(signal);
                        }
                        run
                    });
                }
                Ending::Running(running.end.clone())
            }
            (None, None) => return None,
        };
        let what = self.what;
        Some(async move {
            let mut end = match ending {
                Ending::Ended(ended) => return Ok(ended),
                Ending::Running(end) => end,
            };
            end.wait_for(Option::is_some)
                .await
                .ok()
                .and_then(|end| end.clone())
                .ok_or_else(|| {
                    ActorError::internal(format!(
                        "a task of the VM's {what} ended without reporting an exit"
                    ))
                })
        })
    }
}

/// A program's end, or where it will arrive.
enum Ending<E> {
    Ended(E),
    Running(watch::Receiver<Option<E>>),
}

impl<L, E> Rows<L, E> {
    pub(in crate::vm) fn find(&self, number: u64) -> Option<Found<'_, L, E>> {
        match self.running.get(&number) {
            Some(running) => Some(Found::Running(&running.data)),
            None => self.ended.get(&number).map(Found::Ended),
        }
    }

    pub(in crate::vm) fn running_mut(&mut self, number: u64) -> Option<&mut L> {
        self.running
            .get_mut(&number)
            .map(|running| &mut running.data)
    }

    /// The running programs, by number.
    pub(in crate::vm) fn running(&self) -> impl Iterator<Item = &L> {
        self.running.values().map(|running| &running.data)
    }

    /// The ended programs still kept, by number.
    pub(in crate::vm) fn ended(&self) -> impl Iterator<Item = &E> {
        self.ended.values()
    }
}

impl<L, E: Clone> End<L, E> {
    /// Moves the program to the ended list, forgetting the oldest past `EXITS_KEPT`, then
    /// tells whoever waits.
    pub(in crate::vm) fn send(self, end: E) {
        {
            let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
            rows.running.remove(&self.number);
            rows.ended.insert(self.number, end.clone());
            while rows.ended.len() > EXITS_KEPT {
                rows.ended.pop_first();
            }
        }
        self.sender.send_replace(Some(end));
    }
}

impl<L, E> Drop for Table<L, E> {
    fn drop(&mut self) {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        for running in rows.running.values() {
            running.stop.send_replace(Stop::Kill);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_keeps_the_last_exits_only() {
        let table = Table::<(), u32>::new("processes", usize::MAX);
        for _ in 1..=EXITS_KEPT as u32 + 10 {
            let (number, entry) = table.insert(|number| Ok(((), number as u32))).unwrap();
            entry.end.send(number);
        }
        let list = &table.lock().ended;
        assert_eq!(list.len(), EXITS_KEPT);
        assert_eq!(list.keys().next(), Some(&11));
    }
}
