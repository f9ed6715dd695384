/**
 * The client object: one method per action of a {@link RuntimeContract}, plus `on`, `handle`,
 * `ready` and `close`. Generated code narrows it to the actor's typed interface.
 */
import { splitCallbacks } from "./callbacks.js";
import { type WireData, encodeFrame, decodeFrame } from "./codec.js";
import { type BridgeSpec, type RuntimeContract, checkContract } from "./contract.js";
import { AbortError, ActorError } from "./errors.js";
import { type ClientFrame, type InitInfo, type ServerFrame, isRecord, parseServerFrame } from "./frames.js";
import type { CloseInfo, Connection, Transport } from "./transport.js";
import { LARGE_REQUEST_HINTS } from "./transfer.js";

/**
 * Options of one call, in every generated method's trailing options (or `call`) argument:
 * aborting `signal` fails the call at once with an {@link AbortError} and stops it on the
 * host (a process it runs is killed, a prompt's turn cancelled).
 */
export interface CallOptions {
  signal?: AbortSignal;
}

/** The payload of an event raised by a callback parameter of call `callId`. */
export interface CallEvent<T> {
  callId: string;
  data: T;
}

/**
 * The payload of a bridge event: the host asks the client for an answer to `requestId`.
 * `callId` names the call that asks; the actor's own bridges (such as `toolCall`) have none.
 */
export interface BridgeRequest<T> {
  callId?: string;
  requestId: string;
  data: T;
}

type RequestOf<B> = B extends { request: infer R } ? R : unknown;
type ResponseOf<B> = B extends { response: infer R } ? R : unknown;

/** Answers one bridge request; a throw becomes the `{ err: message }` answer. */
export type BridgeHandler<B> = (
  request: RequestOf<B>,
  meta: BridgeRequest<RequestOf<B>>,
) => ResponseOf<B> | Promise<ResponseOf<B>>;

/**
 * What every client has besides its actions. `Events` maps event names to payload types,
 * `Bridges` maps bridge names to `{ request; response }`.
 */
export interface ClientBase<Events, Bridges> {
  /**
   * Resolves with the host's `Init` once connected; rejects with `host/contract_mismatch`
   * if the host serves another contract, or with the error that prevented connecting.
   */
  readonly ready: Promise<InitInfo>;
  /** Subscribes to an event; the returned function unsubscribes. */
  on<K extends keyof Events & string>(event: K, handler: (payload: Events[K]) => void): () => void;
  /** Answers a bridge's requests (one handler per bridge); the returned function stops. */
  handle<K extends keyof Bridges & string>(bridge: K, handler: BridgeHandler<Bridges[K]>): () => void;
  /** Closes the connection; pending and later calls reject with `host/disconnected`. */
  close(): void;
}

export interface ClientOptions {
  /**
   * Which hosts the client works with: `"compatible"` (the default), a host whose contract
   * has this client's major version and at least its minor (it may have more actions, events
   * and fields); `"exact"`, only the very contract it was generated from (equal hashes).
   */
  contract?: "compatible" | "exact";
  /**
   * Receives what no call can be failed with: `Error` frames the host could not attribute,
   * frames the client could not decode, and failures to answer a bridge request.
   */
  onError?: (error: ActorError) => void;
}

/**
 * What `createClient` knows statically. The action methods exist at run time, one per
 * contract action; generated code narrows this with `as` to the actor's typed interface
 * (an index signature for them here would make that `as` fail to compile).
 */
export type UntypedClient = ClientBase<
  Record<string, unknown>,
  Record<string, { request: unknown; response: unknown }>
>;

interface Session {
  connection: Connection;
  init: InitInfo;
}

type Listener = (payload: unknown) => void;

interface PendingCall {
  resolve: (output: unknown) => void;
  reject: (error: ActorError) => void;
}

/**
 * Connects at once through `transport` and returns the client synchronously; calls made
 * before the host's `Init` arrives wait for it. There is no reconnection: after a close,
 * create a new client.
 */
/**
 * Why this client cannot work with the host `init` describes, or undefined when it can. A
 * compatible host has the same major version (under 1.0, the same minor) and at least this
 * client's minor (and patch, at the same minor): whatever the client calls, it has.
 */
export function contractMismatch(
  contract: RuntimeContract,
  init: Pick<InitInfo, "contractHash" | "contractVersion">,
  mode: "compatible" | "exact",
): string | undefined {
  const host = `the host serves ${contract.actor} contract ${init.contractVersion} (${init.contractHash.slice(0, 12)})`;
  const client = `this client was generated for ${contract.version} (${contract.hash.slice(0, 12)})`;
  if (init.contractHash === contract.hash) return undefined;
  if (mode === "exact") return `${host}, but ${client} and asks for exactly that contract`;
  const [hostParts, clientParts] = [init.contractVersion, contract.version].map(semver);
  if (hostParts === undefined || clientParts === undefined) return `${host}, but ${client}`;
  const [hMajor, hMinor, hPatch] = hostParts;
  const [cMajor, cMinor, cPatch] = clientParts;
  if (hMajor !== cMajor || (cMajor === 0 && hMinor !== cMinor)) {
    return `${host}, but ${client}: a different major version, which may have broken what the client calls`;
  }
  if (hMinor < cMinor || (hMinor === cMinor && hPatch < cPatch)) {
    return `${host}, but ${client}: an older host, which may lack what the client calls`;
  }
  return undefined;
}

function semver(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

export function createClient(
  transport: Transport,
  contract: RuntimeContract,
  options: ClientOptions = {},
): UntypedClient {
  checkContract(contract);
  const report = (error: unknown) => options.onError?.(asActorError(error));

  const pending = new Map<number, PendingCall>();
  const listeners = new Map<string, Set<Listener>>();
  /** Events the host has been told to send us; kept in step with `listeners`. */
  const subscribed = new Set<string>();
  const handledBridges = new Set<string>();
  let live: Connection | undefined;
  let closedBy: ActorError | undefined;
  let initSeen = false;
  let nextId = 0;

  let resolveInit!: (init: InitInfo) => void;
  let rejectInit!: (error: ActorError) => void;
  const initReceived = new Promise<InitInfo>((resolve, reject) => {
    resolveInit = resolve;
    rejectInit = reject;
  });

  const opened = transport.open(onMessage, onClose);
  const session: Promise<Session> = Promise.all([opened, initReceived]).then(([connection, init]) => {
    if (closedBy) throw closedBy;
    const mismatch = contractMismatch(contract, init, options.contract ?? "compatible");
    if (mismatch !== undefined) {
      connection.close();
      throw new ActorError("host", "contract_mismatch", `${mismatch}; regenerate the client with cargo xtask codegen`, {
        metadata: {
          host: { version: init.contractVersion, hash: init.contractHash },
          client: { version: contract.version, hash: contract.hash },
        },
      });
    }
    live = connection;
    for (const event of listeners.keys()) syncSubscription(event);
    return { connection, init };
  });
  const ready = session.then((s) => s.init);
  // A failed connection surfaces through `ready` and every call; unobserved, it must not
  // become an unhandled rejection that kills the process.
  session.catch(() => {});
  ready.catch(() => {});

  function onMessage(data: WireData): void {
    let frame: ServerFrame;
    try {
      // Text is JSON and bytes are CBOR, so decoding does not wait for `open` to resolve.
      frame = parseServerFrame(decodeFrame(data, typeof data === "string" ? "json" : "cbor"));
    } catch (error) {
      report(error);
      return;
    }
    switch (frame.tag) {
      case "Init":
        if (initSeen) report(new ActorError("agentos", "invalid_input", "a second Init frame"));
        else resolveInit(frame.val);
        initSeen = true;
        return;
      case "ActionResponse": {
        const call = takePending(frame.val.id);
        if (call) call.resolve(frame.val.output);
        else report(new ActorError("agentos", "invalid_input", `a response to unknown call ${frame.val.id}`));
        return;
      }
      case "Error": {
        const { group, code, message, metadata, actionId } = frame.val;
        const error = new ActorError(group, code, message, { metadata, actionId: actionId ?? undefined });
        const call = actionId === null ? undefined : takePending(actionId);
        if (call) call.reject(error);
        else report(error);
        return;
      }
      case "Event":
        for (const listener of [...(listeners.get(frame.val.name) ?? [])]) {
          try {
            listener(frame.val.args[0]);
          } catch (error) {
            // Like an EventTarget: one failing handler neither stops the others nor the socket.
            queueMicrotask(() => {
              throw error;
            });
          }
        }
        return;
    }
  }

  function takePending(id: number) {
    const call = pending.get(id);
    pending.delete(id);
    return call;
  }

  function onClose({ code, reason }: CloseInfo): void {
    const detail = reason ? `code ${code}: ${reason}` : `code ${code}`;
    shutdown(new ActorError("host", "disconnected", `connection closed (${detail})`));
  }

  function shutdown(error: ActorError): void {
    if (closedBy) return;
    closedBy = error;
    live = undefined;
    rejectInit(error);
    for (const call of pending.values()) call.reject(error);
    pending.clear();
  }

  function send(connection: Connection, body: ClientFrame): void {
    connection.send(encodeFrame({ body }, connection.encoding));
  }

  /** Tells the host whether we want `eventName`, if that changed and we are connected. */
  function syncSubscription(eventName: string): void {
    const subscribe = listeners.has(eventName);
    if (!live || subscribe === subscribed.has(eventName)) return;
    if (subscribe) subscribed.add(eventName);
    else subscribed.delete(eventName);
    send(live, { tag: "SubscriptionRequest", val: { eventName, subscribe } });
  }

  /** Adds a listener; the host is subscribed while an event has at least one. */
  function listen(event: string, listener: Listener): () => void {
    // A fresh wrapper, so the same function added twice counts twice.
    const entry: Listener = (payload) => listener(payload);
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(entry);
    syncSubscription(event);
    return () => {
      if (!set.delete(entry)) return;
      if (set.size === 0) listeners.delete(event);
      syncSubscription(event);
    };
  }

  async function call(name: string, rawArgs: unknown[]): Promise<unknown> {
    // Only contract actions get here: the methods are built from `contract.actions`, and
    // `checkContract` made sure every bridge's respond action is one.
    const { args, callbacks, signal } = splitCallbacks(rawArgs, contract.actions[name]!);
    if (signal?.aborted) throw new AbortError(name, signal.reason);
    const { connection, init } = await session;
    if (closedBy) throw closedBy;
    if (signal?.aborted) throw new AbortError(name, signal.reason);
    const id = nextId++;
    // The host cannot attribute an error for a frame nested past its limit (reading the id
    // would mean walking the nesting), so such a call is refused here instead of hanging.
    const deep = args.findIndex((arg) => deeperThan(arg, init.limits.maxDepth));
    if (deep >= 0) {
      throw new ActorError(
        "agentos",
        "limit_exceeded",
        `${name}: argument #${deep + 1} nests deeper than ${init.limits.maxDepth} levels`,
        { actionId: id },
      );
    }
    const body: ClientFrame = { tag: "ActionRequest", val: { id, name, args } };
    const data = encodeFrame({ body }, connection.encoding);
    const size = typeof data === "string" ? textEncoder.encode(data).byteLength : data.byteLength;
    if (size > init.limits.maxMessageBytes) {
      throw new ActorError(
        "agentos",
        "limit_exceeded",
        `${name}: the request is ${size} bytes, the host accepts at most ${init.limits.maxMessageBytes}` +
          (LARGE_REQUEST_HINTS[name] ? `; ${LARGE_REQUEST_HINTS[name]}` : ""),
        { actionId: id },
      );
    }
    const callId = `${init.connectionId}:${id}`;
    // Subscribed before the request is sent, so no event of this call can be missed.
    const stops = callbacks.map(({ event, handler }) =>
      listen(event, (payload) => {
        if (isRecord(payload) && payload.callId === callId) handler(payload.data);
      }),
    );
    // Aborting fails the call at once and tells the host to stop it.
    const abort = () => {
      if (!pending.has(id)) return;
      pending.get(id)!.reject(new AbortError(name, signal!.reason));
      pending.delete(id);
      const cancel: ClientFrame = { tag: "CancelRequest", val: { id } };
      if (!closedBy) connection.send(encodeFrame({ body: cancel }, connection.encoding));
    };
    try {
      return await new Promise((resolve, reject) => {
        connection.send(data);
        pending.set(id, { resolve, reject });
        signal?.addEventListener("abort", abort, { once: true });
      });
    } finally {
      signal?.removeEventListener("abort", abort);
      for (const stop of stops) stop();
    }
  }

  async function answer(spec: BridgeSpec, handler: BridgeHandler<unknown>, payload: unknown): Promise<void> {
    if (!isRecord(payload) || typeof payload.requestId !== "string") {
      report(new ActorError("agentos", "invalid_input", `malformed request on bridge event ${spec.event}`));
      return;
    }
    let reply: { ok: unknown } | { err: string };
    try {
      const output = await handler(payload.data, payload as unknown as BridgeRequest<unknown>);
      // `undefined` would vanish from the object on the wire and leave `{}`.
      reply = { ok: output === undefined ? null : output };
    } catch (error) {
      reply = { err: error instanceof Error ? error.message : String(error) };
    }
    await call(spec.respondAction, [payload.requestId, reply]).catch(report);
  }

  const client = {
    ready,
    on: (event: string, handler: Listener) => listen(event, handler),
    handle(bridge: string, handler: BridgeHandler<unknown>): () => void {
      const spec = contract.bridges[bridge];
      if (!spec) throw new Error(`${contract.actor} has no bridge \`${bridge}\``);
      if (handledBridges.has(bridge)) throw new Error(`bridge \`${bridge}\` already has a handler`);
      handledBridges.add(bridge);
      const stop = listen(spec.event, (payload) => void answer(spec, handler, payload));
      let active = true;
      return () => {
        if (!active) return;
        active = false;
        stop();
        handledBridges.delete(bridge);
      };
    },
    close(): void {
      shutdown(new ActorError("host", "disconnected", "the client was closed"));
      opened.then((connection) => connection.close(), () => {});
    },
  };
  const actions = Object.fromEntries(
    Object.keys(contract.actions).map((name) => [name, (...args: unknown[]) => call(name, args)]),
  );
  return { ...actions, ...client };
}

const textEncoder = new TextEncoder();

/**
 * Whether `value` nests arrays and objects more than `limit` levels deep, counted as the host
 * counts them (bytes are a scalar). Recursion stops at `limit`, so hostile input is cheap.
 */
export function deeperThan(value: unknown, limit: number): boolean {
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return limit < 0;
  if (limit < 1) return true;
  const children: unknown[] = Array.isArray(value) ? value : Object.values(value);
  return children.some((child) => deeperThan(child, limit - 1));
}

function asActorError(error: unknown): ActorError {
  if (error instanceof ActorError) return error;
  return new ActorError("agentos", "internal", error instanceof Error ? error.message : String(error), {
    cause: error,
  });
}
