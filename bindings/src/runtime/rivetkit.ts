/**
 * The client over a real Rivet Engine: a {@link Transport} that rides a `rivetkit` actor
 * connection, so `createAgentOsClient(rivetkitTransport(…))` works exactly as over the
 * embedded host. The client's frames are answered locally: an `ActionRequest` becomes
 * `conn.action`, a `SubscriptionRequest` becomes `conn.on`, and the `Init` frame comes from the
 * actor's hidden `__agentosInit` action (its contract hash and limits), so a contract mismatch
 * is caught the same way. Errors arrive as rivetkit's group `user` with the original group and
 * metadata inside their metadata, and are turned back into the original error.
 *
 * `rivetkit` is loaded on first use, so apps on the embedded host need not install it.
 */
import { type Encoding, decodeFrame, encodeFrame } from "./codec.js";
import { encodeJsonCompat } from "./envelope.js";
import { ActorError } from "./errors.js";
import { type ClientFrame, type Frame, isRecord } from "./frames.js";
import type { Connection, Transport } from "./transport.js";

export interface RivetkitTransportOptions {
  /** The engine's endpoint, e.g. `http://127.0.0.1:6420`. */
  endpoint: string;
  namespace?: string;
  token?: string;
  /** The pool `agentos-rivet serve --pool` serves. */
  poolName?: string;
  actor?: string;
  /** Selects (and on first use creates) one VM. */
  key?: string | string[];
  /** rivetkit's wire encoding between client and engine. */
  encoding?: "bare" | "cbor" | "json";
  /**
   * How long opening retries while the engine has no runner for the pool yet (a host that
   * just started) or the actor is still being placed, in milliseconds. Default 75 s: the
   * engine's guard itself waits 30 s before answering `actor_ready_timeout`, and the first
   * actor on a fresh engine has been seen to need a second try.
   */
  readyTimeoutMs?: number;
}

/** Errors meaning the request never reached a ready actor, so retrying cannot repeat work. */
const TRANSIENT = ["no_runner_config_configured", "actor_ready_timeout", "Service Unavailable"];

/** The name of the hidden action that answers what the embedded host's `Init` frame says. */
export const INIT_ACTION = "__agentosInit";
/** The hidden action every call goes through as `[callId, action, ...args]`, so that the
 * events it raises carry the id this client filters them by. */
export const CALL_ACTION = "__agentosCall";
/** The hidden action that cancels a call made through {@link CALL_ACTION}, as `[callId]`:
 * rivetkit's protocol has no cancel frame. */
export const CANCEL_ACTION = "__agentosCancel";

/** The part of rivetkit's connection this module uses. */
interface RivetConn {
  action(opts: { name: string; args: unknown[] }): Promise<unknown>;
  on(event: string, callback: (...args: unknown[]) => void): () => void;
  dispose(): Promise<void>;
}
interface RivetClient {
  getOrCreate(name: string, key?: string | string[]): { connect(): RivetConn };
  dispose(): Promise<void>;
}

/** Frames between the transport and the client never leave the process: CBOR keeps bytes. */
const LOCAL: Encoding = "cbor";

export function rivetkitTransport(options: RivetkitTransportOptions): Transport {
  const { actor = "agentOS", key = "default", encoding = "bare" } = options;
  return {
    async open(onMessage, onClose) {
      const { createClient } = (await import("rivetkit/client")) as unknown as {
        createClient(config: Record<string, unknown>): RivetClient;
      };
      const client = createClient({
        endpoint: options.endpoint,
        namespace: options.namespace ?? "default",
        token: options.token ?? "dev",
        poolName: options.poolName ?? "default",
        encoding,
      });
      const deliver = (frame: Frame) => onMessage(encodeFrame(frame, LOCAL));
      const subscriptions = new Map<string, () => void>();
      let closed = false;
      let connectionId = "";

      const deadline = Date.now() + (options.readyTimeoutMs ?? 75_000);
      let conn: RivetConn;
      for (;;) {
        conn = client.getOrCreate(actor, key).connect();
        try {
          const init = await conn.action({ name: INIT_ACTION, args: [] });
          // Broadcast events reach every subscribed connection: call ids must be unique.
          connectionId = `r${Date.now().toString(36)}${Math.random().toString(36).slice(2)}`;
          deliver({ body: { tag: "Init", val: { ...(isRecord(init) ? init : {}), connectionId } } });
          break;
        } catch (error) {
          await conn.dispose().catch(() => undefined);
          const message = error instanceof Error ? error.message : String(error);
          if (Date.now() < deadline && TRANSIENT.some((t) => message.includes(t))) {
            await new Promise((resolve) => setTimeout(resolve, 250));
            continue;
          }
          await client.dispose().catch(() => undefined);
          throw fromRivet(error);
        }
      }

      const handle = (frame: ClientFrame) => {
        switch (frame.tag) {
          case "ActionRequest": {
            const { id, name } = frame.val;
            // rivetkit's Rust runtime decodes CBOR requests into JSON values and closes the
            // connection (`actor.invalid_request`) on a byte string; its envelopes pass.
            const args = encoding === "cbor" ? frame.val.args.map(encodeJsonCompat) : frame.val.args;
            conn.action({ name: CALL_ACTION, args: [`${connectionId}:${id}`, name, ...args] }).then(
              (output) => !closed && deliver({ body: { tag: "ActionResponse", val: { id, output } } }),
              (error) => {
                if (closed) return;
                const { group, code, message, metadata } = fromRivet(error);
                deliver({ body: { tag: "Error", val: { group, code, message, metadata, actionId: id } } });
              },
            );
            break;
          }
          case "CancelRequest": {
            // Nothing to answer: the client already failed the call.
            conn.action({ name: CANCEL_ACTION, args: [`${connectionId}:${frame.val.id}`] }).catch(() => undefined);
            break;
          }
          case "SubscriptionRequest": {
            const { eventName, subscribe } = frame.val;
            subscriptions.get(eventName)?.();
            subscriptions.delete(eventName);
            if (subscribe) {
              const off = conn.on(eventName, (...args) => {
                if (!closed) deliver({ body: { tag: "Event", val: { name: eventName, args } } });
              });
              subscriptions.set(eventName, off);
            }
            break;
          }
        }
      };

      const connection: Connection = {
        encoding: LOCAL,
        send(data) {
          handle(decodeFrame(data, LOCAL).body as ClientFrame);
        },
        close() {
          if (closed) return;
          closed = true;
          for (const off of subscriptions.values()) off();
          void Promise.allSettled([conn.dispose(), client.dispose()]).then(() =>
            onClose({ code: 1000, reason: "closed by the client" }),
          );
        },
      };
      return connection;
    },
  };
}

/** rivetkit's error as the original `ActorError` (group `user` carries it in its metadata). */
function fromRivet(error: unknown): ActorError {
  if (error instanceof ActorError) return error;
  const e = (isRecord(error) ? error : {}) as { group?: unknown; code?: unknown; message?: unknown; metadata?: unknown };
  const message = typeof e.message === "string" ? e.message : String(error);
  const group = typeof e.group === "string" ? e.group : "host";
  const code = typeof e.code === "string" ? e.code : "disconnected";
  if (group === "user" && isRecord(e.metadata) && typeof e.metadata.group === "string") {
    return new ActorError(e.metadata.group, code, message, { metadata: e.metadata.metadata ?? undefined, cause: error });
  }
  return new ActorError(group, code, message, { metadata: e.metadata, cause: error });
}
