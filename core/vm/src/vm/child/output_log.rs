//! A program's recent output, kept so that a client that reconnects reads what it missed
//! (`readProcessOutput`, `readShellOutput`) and goes on from the live events without a gap or
//! a duplicate. Positions are cursors: how many bytes the program had written, all streams
//! together, after a piece of output. Every output event carries its cursor; a read returns
//! the output after a cursor. The log is bounded: past its size the oldest output goes, and a
//! read that asks for it says how many bytes it missed.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::runtime::{Bytes, SafeU64};
use crate::vm::process::ProcessStream;

/// Options of `readProcessOutput` and `readShellOutput`.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, Default)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct OutputReadOptions {
    /// The cursor of the last output the client has (an event's `cursor`, or a page's
    /// `next`); default 0, the start.
    pub after: Option<SafeU64>,
    /// Most bytes of output in the answer (default and most: what one message holds).
    pub max_bytes: Option<u32>,
}

/// A piece of output and the cursor after it.
#[serde_with::skip_serializing_none]
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
#[ts(optional_fields)]
pub struct OutputChunk {
    pub cursor: SafeU64,
    /// For a process: the stream it was written to.
    pub stream: Option<ProcessStream>,
    pub data: Bytes,
}

/// The output after a cursor.
#[derive(Serialize, Deserialize, TS, Debug, Clone, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OutputPage {
    pub chunks: Vec<OutputChunk>,
    /// The cursor to read after next: the last chunk's, or `after` when there is nothing new.
    pub next: SafeU64,
    /// Bytes after `after` that the log no longer holds (it keeps the newest only).
    pub missed: SafeU64,
    /// Whether the program still runs, so more may come.
    pub running: bool,
}

/// One program's log.
pub(in crate::vm) struct OutputLog {
    inner: Mutex<Inner>,
    max_bytes: usize,
}

#[derive(Default)]
struct Inner {
    /// Each chunk with the cursor after it, oldest first.
    chunks: VecDeque<(u64, Option<ProcessStream>, Vec<u8>)>,
    kept: usize,
    /// The cursor after the last byte written.
    end: u64,
    running: bool,
}

impl OutputLog {
    fn new(max_bytes: usize) -> Self {
        Self {
            inner: Mutex::new(Inner {
                running: true,
                ..Inner::default()
            }),
            max_bytes,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `data` and returns its cursor.
    pub(in crate::vm) fn append(&self, stream: Option<ProcessStream>, data: &[u8]) -> SafeU64 {
        let mut inner = self.lock();
        inner.end += data.len() as u64;
        let end = inner.end;
        inner.chunks.push_back((end, stream, data.to_vec()));
        inner.kept += data.len();
        while inner.kept > self.max_bytes {
            let Some((_, _, oldest)) = inner.chunks.pop_front() else {
                break;
            };
            inner.kept -= oldest.len();
        }
        SafeU64::new(end).unwrap_or_default()
    }

    /// The program ended: nothing more comes.
    pub(in crate::vm) fn close(&self) {
        self.lock().running = false;
    }

    /// At most `max_bytes` of the output after cursor `after` (a chunk that straddles it is
    /// cut there, and one past the limit is cut too, its cursor moved accordingly).
    pub(in crate::vm) fn read(&self, after: u64, max_bytes: usize) -> OutputPage {
        let inner = self.lock();
        let after = after.min(inner.end);
        let oldest = inner.end - inner.kept as u64;
        let mut pos = after.max(oldest);
        let mut budget = max_bytes;
        let mut chunks = Vec::new();
        for (end, stream, data) in &inner.chunks {
            if *end <= pos {
                continue;
            }
            if budget == 0 {
                break;
            }
            let start = end - data.len() as u64;
            let skip = usize::try_from(pos - start).unwrap_or(0);
            let take = (data.len() - skip).min(budget);
            budget -= take;
            pos = start + (skip + take) as u64;
            chunks.push(OutputChunk {
                cursor: SafeU64::new(pos).unwrap_or_default(),
                stream: *stream,
                data: Bytes(data[skip..skip + take].to_vec()),
            });
        }
        OutputPage {
            chunks,
            next: SafeU64::new(pos).unwrap_or_default(),
            missed: SafeU64::new(oldest.saturating_sub(after)).unwrap_or_default(),
            running: inner.running,
        }
    }
}

/// The logs of one kind of program (processes, shells), by number: those running, and the
/// last [`ENDED_KEPT`] that ended.
pub(in crate::vm) struct OutputLogs {
    logs: Mutex<BTreeMap<u64, Arc<OutputLog>>>,
    ended: Mutex<VecDeque<u64>>,
    max_bytes: usize,
}

/// How many ended programs' logs are kept.
const ENDED_KEPT: usize = 16;

impl OutputLogs {
    /// Logs of at most `max_bytes` each.
    pub(in crate::vm) fn new(max_bytes: usize) -> Self {
        Self {
            logs: Mutex::default(),
            ended: Mutex::default(),
            max_bytes,
        }
    }

    /// A new log for program `number`.
    pub(in crate::vm) fn start(&self, number: u64) -> Arc<OutputLog> {
        let log = Arc::new(OutputLog::new(self.max_bytes));
        lock(&self.logs).insert(number, log.clone());
        log
    }

    /// Program `number` ended: its log is kept among the last ended ones.
    pub(in crate::vm) fn end(&self, number: u64, log: &OutputLog) {
        log.close();
        let mut ended = lock(&self.ended);
        ended.push_back(number);
        if ended.len() > ENDED_KEPT
            && let Some(forgotten) = ended.pop_front()
        {
            lock(&self.logs).remove(&forgotten);
        }
    }

    pub(in crate::vm) fn get(&self, number: u64) -> Option<Arc<OutputLog>> {
        lock(&self.logs).get(&number).cloned()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(page: &OutputPage) -> Vec<(u64, &[u8])> {
        page.chunks
            .iter()
            .map(|c| (c.cursor.get(), &c.data.0[..]))
            .collect()
    }

    #[test]
    fn reads_after_a_cursor_cut_to_the_limit_and_say_what_was_missed() {
        let log = OutputLog::new(8);
        assert_eq!(log.append(None, b"abc").get(), 3);
        assert_eq!(log.append(None, b"defg").get(), 7);
        let page = log.read(0, 100);
        assert_eq!(texts(&page), [(3, &b"abc"[..]), (7, &b"defg"[..])]);
        assert_eq!(
            (page.next.get(), page.missed.get(), page.running),
            (7, 0, true)
        );
        // A chunk that straddles the cursor is cut there, and one past the limit too.
        assert_eq!(
            texts(&log.read(1, 100)),
            [(3, &b"bc"[..]), (7, &b"defg"[..])]
        );
        let page = log.read(1, 3);
        assert_eq!(texts(&page), [(3, &b"bc"[..]), (4, &b"d"[..])]);
        assert_eq!(texts(&log.read(page.next.get(), 100)), [(7, &b"efg"[..])]);
        // Nothing new: `next` stays.
        assert_eq!(log.read(7, 100).next.get(), 7);
        // Past the size, the oldest chunks go; a read from before them says how much it missed.
        log.append(None, b"hij");
        let page = log.read(0, 100);
        assert_eq!(texts(&page), [(7, &b"defg"[..]), (10, &b"hij"[..])]);
        assert_eq!(page.missed.get(), 3);
        log.close();
        assert!(!log.read(0, 100).running);
    }

    #[test]
    fn ended_programs_logs_are_kept_for_the_last_few() {
        let logs = OutputLogs::new(16);
        for number in 1..=(ENDED_KEPT as u64 + 1) {
            let log = logs.start(number);
            log.append(None, b"x");
            logs.end(number, &log);
        }
        assert!(logs.get(1).is_none());
        assert!(logs.get(2).is_some());
    }
}
