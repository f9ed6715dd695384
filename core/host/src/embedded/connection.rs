//! One WebSocket connection: reads frames, runs each action as its own task, and writes
//! responses and subscribed events through one queue so that a call's events always precede
//! its response. The queue is bounded ([`outbox`]): a client that stops reading is closed
//! with a reason.

use std::time::Duration;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

use axum::extract::ws::{CloseFrame, Message, WebSocket, close_code};
use futures_util::{SinkExt, StreamExt};
use tokio_util::sync::CancellationToken;

use super::actors::{Actor, Caller, Outgoing};
use super::frames::{self, ClientFrame, ServerFrame};
use super::outbox::{self, Outbox};
use agentos_core::runtime::instance::Init;
use agentos_core::runtime::{ActorError, CallContext, Encoding, Limits, Value};

static NEXT_CONNECTION: AtomicU64 = AtomicU64::new(1);

pub async fn run(
    socket: WebSocket,
    actor: Arc<Actor>,
    encoding: Encoding,
    limits: Limits,
    stopping: CancellationToken,
) {
    let conn = NEXT_CONNECTION.fetch_add(1, Ordering::Relaxed);
    let connection_id = format!("c{conn}");
    let (mut sink, mut stream) = socket.split();
    let (tx, mut inbox) = outbox::outbox(encoding, limits);
    let init = ServerFrame::Init(Init {
        actor_id: &actor.id,
        connection_id: &connection_id,
        contract_hash: &actor.contract.hash,
        contract_version: &actor.contract.version,
        limits,
    });
    match init.encode(encoding) {
        Ok(bytes) => tx.send_bytes(bytes),
        Err(err) => tracing::error!(%err, "frame did not encode"),
    }
    actor.subscribers.attach(conn, tx.clone());

    let host_stopping = stopping.clone();
    let writer = tokio::spawn(async move {
        let mut stopping_seen = false;
        loop {
            // Once the host stops, what is queued (its `vmShutdown` included) still goes out;
            // answers of calls still running do not.
            let next = tokio::select! {
                next = inbox.recv() => next,
                () = host_stopping.cancelled(), if !stopping_seen => {
                    stopping_seen = true;
                    inbox.stop_taking();
                    continue;
                }
            };
            let Some(bytes) = next else { break };
            if sink.send(message(encoding, bytes)).await.is_err() {
                return;
            }
        }
        let close = if inbox.overflowed() {
            Some((
                close_code::POLICY,
                "the client did not read what it asked for; its queue is full",
            ))
        } else if host_stopping.is_cancelled() {
            Some((close_code::AWAY, "the host is stopping"))
        } else {
            None
        };
        if let Some((code, reason)) = close {
            let close = Message::Close(Some(CloseFrame {
                code,
                reason: reason.into(),
            }));
            // A client that reads nothing may not take this either.
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.send(close)).await;
        }
    });

    let running = Running::default();
    let state = Conn {
        actor: &actor,
        conn,
        connection_id: &connection_id,
        encoding,
        limits,
        tx: &tx,
        running: &running,
    };
    loop {
        let msg = tokio::select! {
            msg = stream.next() => msg,
            () = tx.overflowed() => break,
            () = stopping.cancelled() => break,
        };
        let Some(Ok(msg)) = msg else { break };
        let bytes = match msg {
            Message::Binary(b) => b.to_vec(),
            Message::Text(t) => t.as_bytes().to_vec(),
            Message::Close(_) => break,
            Message::Ping(_) | Message::Pong(_) => continue,
        };
        if let Some(reply) = handle(&bytes, &state) {
            tx.send(reply);
        }
    }
    actor.subscribers.detach(conn);
    drop(tx);
    // In-flight calls hold their own senders; the writer ends when the last one finishes.
    let _ = writer.await;
    if stopping.is_cancelled() {
        // The writer sent our Close: read until the client's answers it, as the closing
        // handshake asks, so that the host's exit does not reset a socket with that answer
        // unread (the client would see code 1006 rather than the reason).
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            while let Some(Ok(_)) = stream.next().await {}
        })
        .await;
    }
    actor.touch();
}

fn message(encoding: Encoding, bytes: Vec<u8>) -> Message {
    match encoding {
        Encoding::Cbor => Message::Binary(bytes.into()),
        Encoding::Json => Message::Text(
            String::from_utf8(bytes)
                .expect("JSON encoding yields UTF-8")
                .into(),
        ),
    }
}

/// Handles one frame; returns an immediate reply, or spawns the action that will reply.
/// The connection's calls still running, by request id, for `CancelRequest`.
type Running = Arc<Mutex<HashMap<u64, AbortHandle>>>;

fn lock(running: &Running) -> std::sync::MutexGuard<'_, HashMap<u64, AbortHandle>> {
    running
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What one frame is handled with: the connection's state.
struct Conn<'a> {
    actor: &'a Arc<Actor>,
    conn: u64,
    connection_id: &'a str,
    encoding: Encoding,
    limits: Limits,
    tx: &'a Outbox,
    running: &'a Running,
}

fn handle(bytes: &[u8], c: &Conn<'_>) -> Option<Outgoing> {
    let Conn {
        actor,
        conn,
        connection_id,
        encoding,
        limits,
        tx,
        running,
    } = *c;
    let error = |error: ActorError| {
        let action_id = frames::request_id(encoding, bytes);
        Some(Outgoing::Error { error, action_id })
    };
    if let Err(err) = limits.check_size(bytes.len()) {
        return error(err);
    }
    let value: Value = match encoding.decode(bytes) {
        Ok(v) => v,
        Err(err) => return error(err),
    };
    match frames::decode(&value) {
        Err(err) => error(err),
        Ok(ClientFrame::SubscriptionRequest {
            event_name,
            subscribe,
        }) => {
            actor.subscribers.subscribe(conn, event_name, subscribe);
            None
        }
        Ok(ClientFrame::CancelRequest { id }) => {
            if let Some(call) = lock(running).remove(&id) {
                call.abort();
            }
            None
        }
        Ok(ClientFrame::ActionRequest { id, name, args }) => {
            if let Err(err) = limits.check_args(&args) {
                return error(err);
            }
            let caller = Caller {
                subscribers: actor.subscribers.clone(),
                conn,
            };
            let ctx = CallContext::new(
                format!("{connection_id}:{id}"),
                Arc::new(caller),
                actor.bridges.clone(),
                limits,
            );
            let (actor, tx, calls) = (actor.clone(), tx.clone(), running.clone());
            let call = tokio::spawn(async move { actor.surface.dispatch(&name, args, &ctx).await });
            lock(running).insert(id, call.abort_handle());
            tokio::spawn(async move {
                // A panicking action fails its own call, not the connection or the actor.
                let result = call.await.unwrap_or_else(|e| {
                    Err(if e.is_cancelled() {
                        ActorError::cancelled()
                    } else {
                        ActorError::internal(format!("action failed: {e}"))
                    })
                });
                lock(&calls).remove(&id);
                tx.send(Outgoing::Response { id, result });
            });
            None
        }
    }
}
