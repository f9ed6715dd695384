//! A connection's outgoing queue, bounded in bytes. Frames are encoded when queued, so the
//! queue knows exactly what it holds. A client that reads, if more slowly than its calls and
//! subscriptions produce (a snapshot or a fast process streaming to it), may fall behind by
//! [`SOFT_MESSAGES`] of the largest messages, and by up to [`HARD_MESSAGES`] while it keeps
//! taking frames; one that stops reading, or falls further behind, is closed with a reason
//! instead of buffered without end. Responses are never dropped on their own: a connection
//! that cannot take them all is closed whole.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{Notify, mpsc};

use super::actors::Outgoing;
use agentos_core::runtime::{Encoding, Limits};

/// How many of the largest messages a connection may have queued in any case.
const SOFT_MESSAGES: usize = 8;
/// How many it may have queued while its client keeps reading.
const HARD_MESSAGES: usize = 64;
/// How long a client with more than [`SOFT_MESSAGES`] queued may take no frame at all.
const STALL: Duration = Duration::from_secs(5);

/// The sending side, shared by the connection's calls and its actor's event fan-out.
#[derive(Clone)]
pub struct Outbox {
    tx: mpsc::UnboundedSender<Vec<u8>>,
    state: Arc<State>,
    encoding: Encoding,
    limits: Limits,
}

struct State {
    queued: AtomicUsize,
    soft: usize,
    hard: usize,
    /// When the writer last took a frame: the client was reading then.
    last_taken: Mutex<Instant>,
    overflowed: AtomicBool,
    closed: Notify,
}

impl State {
    /// Whether a queue of `queued` bytes is more than this client may have waiting.
    fn too_far_behind(&self, queued: usize) -> bool {
        let stalled = || {
            self.last_taken
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .elapsed()
                > STALL
        };
        queued > self.hard || (queued > self.soft && stalled())
    }
}

/// The receiving side, for the connection's writer.
pub struct Inbox {
    rx: mpsc::UnboundedReceiver<Vec<u8>>,
    state: Arc<State>,
}

pub fn outbox(encoding: Encoding, limits: Limits) -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let state = Arc::new(State {
        queued: AtomicUsize::new(0),
        soft: (limits.max_message_bytes as usize).saturating_mul(SOFT_MESSAGES),
        hard: (limits.max_message_bytes as usize).saturating_mul(HARD_MESSAGES),
        last_taken: Mutex::new(Instant::now()),
        overflowed: AtomicBool::new(false),
        closed: Notify::new(),
    });
    let outbox = Outbox {
        tx,
        state: state.clone(),
        encoding,
        limits,
    };
    (outbox, Inbox { rx, state })
}

impl Outbox {
    /// Encodes and queues `out`. Past what the client may have waiting nothing more is
    /// queued and the connection is told to close ([`Outbox::overflowed`]).
    pub fn send(&self, out: Outgoing) {
        if self.state.overflowed.load(Ordering::Acquire) {
            return;
        }
        let bytes = match out.encode(self.encoding, self.limits) {
            Ok(bytes) => bytes,
            Err(err) => return tracing::error!(%err, "frame did not encode"),
        };
        self.send_bytes(bytes);
    }

    pub fn send_bytes(&self, bytes: Vec<u8>) {
        let state = &self.state;
        if state.overflowed.load(Ordering::Acquire) {
            return;
        }
        let queued = state.queued.fetch_add(bytes.len(), Ordering::AcqRel) + bytes.len();
        if state.too_far_behind(queued) {
            state.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
            if !state.overflowed.swap(true, Ordering::AcqRel) {
                tracing::warn!(queued, "a client stopped reading; closing its connection");
                state.closed.notify_waiters();
            }
            return;
        }
        let len = bytes.len();
        if self.tx.send(bytes).is_err() {
            // The writer is gone: so is the connection.
            state.queued.fetch_sub(len, Ordering::AcqRel);
        }
    }

    /// Resolves once the queue overflowed: the connection must close.
    pub async fn overflowed(&self) {
        // Created before the check, it sees a `notify_waiters` that comes after.
        let closed = self.state.closed.notified();
        if !self.state.overflowed.load(Ordering::Acquire) {
            closed.await;
        }
    }

    /// Bytes queued and not yet written.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.state.queued.load(Ordering::Acquire)
    }
}

impl Inbox {
    /// The next frame to write; `None` once every sender is gone or the queue overflowed.
    pub async fn recv(&mut self) -> Option<Vec<u8>> {
        if self.state.overflowed.load(Ordering::Acquire) {
            return None;
        }
        *self
            .state
            .last_taken
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
        let bytes = self.rx.recv().await?;
        self.state.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
        Some(bytes)
    }

    /// Takes nothing more: what is queued still comes out of [`recv`](Self::recv), then
    /// `None`, whatever calls are still running.
    pub fn stop_taking(&mut self) {
        self.rx.close();
    }

    /// Whether the connection closes because the client did not read.
    pub fn overflowed(&self) -> bool {
        self.state.overflowed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentos_core::runtime::Value;

    fn event(bytes: usize) -> Outgoing {
        Outgoing::Event {
            name: "e".into(),
            payload: Value::Bytes(vec![0; bytes]),
        }
    }

    #[tokio::test]
    async fn a_client_far_behind_is_closed_at_the_hard_limit() {
        let limits = Limits::with_message_bytes(1024);
        let (outbox, mut inbox) = outbox(Encoding::Cbor, limits);
        for _ in 0..200 {
            outbox.send(event(512));
        }
        assert!(
            outbox.queued() <= HARD_MESSAGES * 1024,
            "{}",
            outbox.queued()
        );
        // The overflow is signalled and the writer stops.
        tokio::time::timeout(Duration::from_secs(1), outbox.overflowed())
            .await
            .expect("overflow signalled");
        assert!(inbox.overflowed());
        assert_eq!(inbox.recv().await, None);
    }

    #[tokio::test]
    async fn a_client_that_stopped_reading_is_closed_past_the_soft_limit() {
        let limits = Limits::with_message_bytes(1024);
        let (outbox, inbox) = outbox(Encoding::Cbor, limits);
        for _ in 0..20 {
            outbox.send(event(512));
        }
        assert!(!inbox.overflowed(), "it may still be reading");
        // It took no frame for longer than the stall allows.
        *outbox.state.last_taken.lock().unwrap() = Instant::now() - STALL * 2;
        outbox.send(event(512));
        assert!(inbox.overflowed());
        assert!(outbox.queued() <= 21 * 1024, "{}", outbox.queued());
    }

    #[tokio::test]
    async fn a_reading_client_gets_everything_in_order() {
        let limits = Limits::with_message_bytes(1024);
        let (outbox, mut inbox) = outbox(Encoding::Cbor, limits);
        // Behind by more than the soft limit at times, but reading.
        for round in 0..50 {
            for _ in 0..30 {
                outbox.send(event(512));
            }
            for _ in 0..30 {
                assert!(inbox.recv().await.is_some(), "round {round}");
            }
        }
        assert_eq!(outbox.queued(), 0);
        assert!(!inbox.overflowed());
    }
}
