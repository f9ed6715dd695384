//! A connection's outgoing queue, bounded in bytes. Frames are encoded when queued, so the
//! queue knows exactly what it holds; a client that stops reading while its calls and
//! subscriptions keep producing frames fills it, and the connection is then closed with a
//! reason instead of buffering without end. Responses are never dropped on their own: a
//! connection that cannot take them all is closed whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use tokio::sync::{Notify, mpsc};

use super::actors::Outgoing;
use crate::runtime::{Encoding, Limits};

/// How many of the largest messages one connection may have queued.
const MESSAGES_QUEUED: usize = 8;

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
    budget: usize,
    overflowed: AtomicBool,
    closed: Notify,
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
        budget: (limits.max_message_bytes as usize).saturating_mul(MESSAGES_QUEUED),
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
    /// Encodes and queues `out`. Past the budget nothing more is queued and the connection
    /// is told to close ([`Outbox::overflowed`]).
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
        if queued > state.budget {
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
        let bytes = self.rx.recv().await?;
        self.state.queued.fetch_sub(bytes.len(), Ordering::AcqRel);
        Some(bytes)
    }

    /// Whether the connection closes because the client did not read.
    pub fn overflowed(&self) -> bool {
        self.state.overflowed.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::Value;

    fn event(bytes: usize) -> Outgoing {
        Outgoing::Event {
            name: "e".into(),
            payload: Value::Bytes(vec![0; bytes]),
        }
    }

    #[tokio::test]
    async fn a_client_that_does_not_read_fills_the_budget_and_no_more() {
        let limits = Limits::with_message_bytes(1024);
        let (outbox, mut inbox) = outbox(Encoding::Cbor, limits);
        for _ in 0..100 {
            outbox.send(event(512));
        }
        assert!(outbox.queued() <= 8 * 1024, "{}", outbox.queued());
        // The overflow is signalled and the writer stops.
        tokio::time::timeout(std::time::Duration::from_secs(1), outbox.overflowed())
            .await
            .expect("overflow signalled");
        assert!(inbox.overflowed());
        assert_eq!(inbox.recv().await, None);
    }

    #[tokio::test]
    async fn a_reading_client_gets_everything_in_order() {
        let limits = Limits::with_message_bytes(1024);
        let (outbox, mut inbox) = outbox(Encoding::Cbor, limits);
        for round in 0..50 {
            for _ in 0..4 {
                outbox.send(event(512));
            }
            for _ in 0..4 {
                assert!(inbox.recv().await.is_some(), "round {round}");
            }
        }
        assert_eq!(outbox.queued(), 0);
        assert!(!inbox.overflowed());
    }
}
