/**
 * How the client reaches a host. The client only needs an ordered, message-oriented pipe, so
 * tests or other hosts can supply their own {@link Transport}; {@link webSocketTransport} is
 * the one for the embedded host.
 */
import type { Encoding, WireData } from "./codec.js";
import { ActorError } from "./errors.js";

export interface CloseInfo {
  code: number;
  reason: string;
}

/** One open connection. Frames are sent in order; `data` is text for JSON, bytes for CBOR. */
export interface Connection {
  readonly encoding: Encoding;
  send(data: WireData): void;
  close(): void;
}

export interface Transport {
  /**
   * Opens a connection, rejecting with an `ActorError` if that fails. Once it resolves,
   * `onMessage` receives every message in order and `onClose` is called once at the end.
   */
  open(onMessage: (data: WireData) => void, onClose: (info: CloseInfo) => void): Promise<Connection>;
}

export interface WebSocketTransportOptions {
  /** The host's base URL, `ws(s)://` or `http(s)://`. */
  url: string;
  actor?: string;
  /** Selects (and on first use creates) one VM on the host. */
  key?: string;
  /** Bearer token. Browsers send it as a subprotocol, so it must be a valid HTTP token there. */
  token: string;
  encoding?: Encoding;
}

/**
 * Connects to `${url}/actors/${actor}/${key}/connect`. Uses the global `WebSocket` where there
 * is one (browsers, Node 22+), authenticating by subprotocol since browsers cannot set
 * headers; otherwise the `ws` package with an `Authorization` header.
 */
export function webSocketTransport(options: WebSocketTransportOptions): Transport {
  const { actor = "agentOS", key = "default", token, encoding = "cbor" } = options;
  const base = options.url.replace(/^http/, "ws").replace(/\/+$/, "");
  const url =
    `${base}/actors/${encodeURIComponent(actor)}/${encodeURIComponent(key)}` +
    `/connect?encoding=${encoding}`;
  return {
    open(onMessage, onClose) {
      const Global = (globalThis as { WebSocket?: BrowserSocketClass }).WebSocket;
      const target = { url, token, encoding, onMessage, onClose };
      return Global ? openGlobal(Global, target) : openWithWs(target);
    },
  };
}

interface Target {
  url: string;
  token: string;
  encoding: Encoding;
  onMessage: (data: WireData) => void;
  onClose: (info: CloseInfo) => void;
}

/** The part of the WHATWG WebSocket this module uses (no DOM lib in this package). */
interface BrowserSocket {
  binaryType: string;
  onopen: (() => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  send(data: WireData): void;
  close(): void;
}
type BrowserSocketClass = new (url: string, protocols: string[]) => BrowserSocket;

function openGlobal(WebSocket: BrowserSocketClass, t: Target): Promise<Connection> {
  const socket = new WebSocket(t.url, ["agentos.v1", `agentos.bearer.${t.token}`]);
  socket.binaryType = "arraybuffer";
  return new Promise((resolve, reject) => {
    let opened = false;
    socket.onopen = () => {
      opened = true;
      resolve(connection(t.encoding, socket));
    };
    socket.onmessage = ({ data }) =>
      t.onMessage(typeof data === "string" ? data : new Uint8Array(data as ArrayBuffer));
    // A browser hides the HTTP status of a refused upgrade (401 included) behind code 1006.
    socket.onclose = ({ code, reason }) => {
      if (opened) t.onClose({ code, reason });
      else reject(connectError(t.url, `closed with code ${code}; is the token right?`));
    };
  });
}

async function openWithWs(t: Target): Promise<Connection> {
  const { default: WebSocket } = await import("ws");
  const socket = new WebSocket(t.url, { headers: { Authorization: `Bearer ${t.token}` } });
  return new Promise((resolve, reject) => {
    let opened = false;
    socket.on("unexpected-response", (_request, response) => {
      const status = response.statusCode ?? 0;
      reject(
        status === 401
          ? new ActorError("host", "unauthorized", `${t.url}: the host rejected the token (HTTP 401)`)
          : connectError(t.url, `HTTP ${status}`),
      );
      socket.terminate();
    });
    socket.on("error", (error) => reject(connectError(t.url, error.message)));
    socket.on("open", () => {
      opened = true;
      resolve(connection(t.encoding, socket));
    });
    // The default binaryType ("nodebuffer") delivers every message as one Buffer.
    socket.on("message", (data, isBinary) => {
      const bytes = data as Buffer;
      t.onMessage(isBinary ? bytes : bytes.toString("utf8"));
    });
    socket.on("close", (code, reason) => {
      if (opened) t.onClose({ code, reason: reason.toString("utf8") });
      else reject(connectError(t.url, `closed with code ${code}`));
    });
  });
}

function connection(
  encoding: Encoding,
  socket: { send(data: WireData): void; close(): void },
): Connection {
  return { encoding, send: (data) => socket.send(data), close: () => socket.close() };
}

function connectError(url: string, detail: string): ActorError {
  return new ActorError("host", "disconnected", `could not connect to ${url}: ${detail}`);
}
