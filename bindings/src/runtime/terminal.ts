/**
 * Connects an interactive terminal — a Node TTY, an xterm.js `Terminal`, or anything shaped
 * like a {@link TerminalSide} — to a shell in the VM: output goes to the terminal, keystrokes
 * and size changes go to the shell. The client types are structural so this file does not
 * depend on generated code, and Node-only APIs are touched only inside {@link nodeTerminal},
 * so the module also loads in a browser bundle.
 */

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The terminal end of a shell session. */
export interface TerminalSide {
  /** Shows the shell's output. */
  write(data: Uint8Array): void;
  /** Receives what the user types; the returned function unsubscribes. */
  onInput(handler: (data: Uint8Array | string) => void): () => void;
  size(): TerminalSize;
  /** Receives the new size whenever it changes; the returned function unsubscribes. */
  onResize(handler: (size: TerminalSize) => void): () => void;
}

/** The payload of a `shellData` event. */
export interface ShellDataLike {
  shellId: string;
  data: Uint8Array;
  /** The shell's output cursor after `data`. */
  cursor: number;
}

/** How a shell ended: the payload of `shellExit` and the result of `waitShell`. */
export interface ShellExitLike {
  shellId: string;
  exitCode: number | null;
  signal: string | null;
}

/** What a terminal session resolves with. */
export interface ShellEnd {
  exitCode: number | null;
  signal: string | null;
}

export interface ShellEventsLike {
  shellData: ShellDataLike;
  shellExit: ShellExitLike;
}

/** The part of a client that {@link attachTerminal} uses. */
export interface ShellAttacher {
  ready: Promise<{ limits: { maxMessageBytes: number } }>;
  on<K extends keyof ShellEventsLike>(event: K, handler: (payload: ShellEventsLike[K]) => void): () => void;
  writeShell(shellId: string, data: string | Uint8Array): Promise<void>;
  resizeShell(shellId: string, cols: number, rows: number): Promise<void>;
  waitShell(shellId: string): Promise<ShellExitLike>;
  readShellOutput(
    shellId: string,
    options?: { after?: number },
  ): Promise<{ chunks: Array<{ cursor: number; data: Uint8Array }>; next: number; running: boolean }>;
}

/** The part of a client that {@link connectTerminal} uses. */
export interface ShellOpener extends ShellAttacher {
  openShell(options: { cols: number; rows: number }): Promise<{ shellId: string; cols: number; rows: number }>;
  closeShell(shellId: string): Promise<void>;
}

/** The options of `openShell` other than the size, which comes from the terminal. */
export type TerminalShellOptions<C extends ShellOpener> = Omit<
  NonNullable<Parameters<C["openShell"]>[0]>,
  "cols" | "rows"
>;

/**
 * Opens a shell at the terminal's size and connects the two until the shell exits; resolves
 * with how it ended. Rejects if the shell cannot be opened, the connection is lost, or input
 * cannot be delivered (the shell is then closed).
 */
export async function connectTerminal<C extends ShellOpener>(
  client: C,
  terminal: TerminalSide,
  options?: TerminalShellOptions<C>,
): Promise<ShellEnd> {
  let shellId: string | undefined;
  try {
    return await session(client, terminal, async () => {
      const opened = await client.openShell({ ...options, ...terminal.size() });
      shellId = opened.shellId;
      return opened;
    });
  } catch (error) {
    if (shellId !== undefined) await client.closeShell(shellId).catch(() => {});
    throw error;
  }
}

/**
 * Connects the terminal to a shell that is already open (one a page opened before it was
 * reloaded, say), resizing the shell to the terminal, until the shell exits. The terminal
 * first shows what the shell's output log still holds (`readShellOutput`, the last
 * `--vm-output-log-kib`), then live output from exactly where that ended: no gap, no repeat.
 */
export function attachTerminal(client: ShellAttacher, shellId: string, terminal: TerminalSide): Promise<ShellEnd> {
  return session(client, terminal, async () => {
    let after = 0;
    for (;;) {
      const page = await client.readShellOutput(shellId, { after });
      for (const chunk of page.chunks) terminal.write(chunk.data);
      if (page.next === after) return { shellId, after };
      after = page.next;
    }
  });
}

async function session(
  client: ShellAttacher,
  terminal: TerminalSide,
  open: () => Promise<{ shellId: string; after?: number } & Partial<TerminalSize>>,
): Promise<ShellEnd> {
  let finish!: (end: ShellEnd) => void;
  let fail!: (error: unknown) => void;
  const ended = new Promise<ShellEnd>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const exited = ({ exitCode, signal }: ShellExitLike) => finish({ exitCode, signal });
  const router = shellEventRouter({ data: (data) => terminal.write(data), exit: exited });
  let shellId: string | undefined;
  // Input waits for the shell's id, so nothing typed while it opens is lost.
  let bound!: (shellId: string) => void;
  const known = new Promise<string>((resolve) => (bound = resolve));
  // One queue for input and resizes, so the shell sees them in the order they happened.
  const send = serial<TerminalOp[]>(
    (waiting, next) => coalesce([...waiting, ...next]),
    async (ops) => {
      const target = await known;
      const { limits } = await client.ready;
      // Half the message limit leaves room for the frame and JSON's base64 growth.
      const chunk = Math.max(1, Math.floor(limits.maxMessageBytes / 2));
      for (const op of ops) {
        if (!(op instanceof Uint8Array)) await client.resizeShell(target, op.cols, op.rows);
        else {
          for (let offset = 0; offset < op.byteLength; offset += chunk) {
            await client.writeShell(target, op.subarray(offset, offset + chunk));
          }
        }
      }
    },
    fail,
  );
  const stops = [
    client.on("shellData", router.data),
    client.on("shellExit", router.exit),
    terminal.onInput((data) => send([typeof data === "string" ? textEncoder.encode(data) : data])),
    // A resize while the shell opens is caught up with once it is open.
    terminal.onResize((size) => shellId !== undefined && send([size])),
  ];
  try {
    // Nothing settles `ended` before this: events are held and input waits until `bind`.
    const opened = await open();
    ({ shellId } = opened);
    router.bind(shellId, opened.after);
    bound(shellId);
    const size = terminal.size();
    if (size.cols !== opened.cols || size.rows !== opened.rows) send([size]);
    // Settles if the exit event was missed (an attached shell that had already exited) and
    // fails the session when the connection drops.
    client.waitShell(shellId).then(exited, fail);
    return await ended;
  } finally {
    for (const stop of stops) stop();
  }
}

/**
 * Routes shell events to one shell whose id is not known yet: a shell's first output can
 * arrive before `openShell` answers. Events are held until `bind`, which replays those of
 * that shell and drops the rest, and output up to cursor `after` (what the terminal already
 * shows); after it, other shells' events are ignored, and so is everything after the exit.
 */
export function shellEventRouter(handlers: {
  data: (data: Uint8Array) => void;
  exit: (exit: ShellExitLike) => void;
}): { data(event: ShellDataLike): void; exit(event: ShellExitLike): void; bind(shellId: string, after?: number): void } {
  type Held = { kind: "data"; event: ShellDataLike } | { kind: "exit"; event: ShellExitLike };
  let held: Held[] = [];
  let shellId: string | undefined;
  let shown = 0;
  let exited = false;
  const deliver = (item: Held) => {
    if (exited || item.event.shellId !== shellId) return;
    if (item.kind === "data") {
      if (item.event.cursor > shown) {
        shown = item.event.cursor;
        handlers.data(item.event.data);
      }
    } else {
      exited = true;
      handlers.exit(item.event);
    }
  };
  const receive = (item: Held) => (shellId === undefined ? held.push(item) : deliver(item));
  return {
    data: (event) => receive({ kind: "data", event }),
    exit: (event) => receive({ kind: "exit", event }),
    bind(id, after = 0) {
      if (shellId !== undefined) throw new Error(`already bound to shell ${shellId}`);
      shellId = id;
      shown = after;
      const replay = held;
      held = [];
      replay.forEach(deliver);
    },
  };
}

/**
 * Runs `run` on one value at a time, in order. Values that arrive while a run is in flight
 * are merged into one with `merge`; the first failure goes to `onError` and drops what was
 * waiting. The host runs each call as its own task, so only waiting for the previous call
 * keeps writes in order.
 */
export function serial<T>(
  merge: (waiting: T, next: T) => T,
  run: (value: T) => Promise<void>,
  onError: (error: unknown) => void,
): (value: T) => void {
  let waiting: { value: T } | undefined;
  let running = false;
  let failed = false;
  async function drain(): Promise<void> {
    running = true;
    try {
      for (let next = waiting; next; next = waiting) {
        waiting = undefined;
        await run(next.value);
      }
    } catch (error) {
      failed = true;
      waiting = undefined;
      onError(error);
    } finally {
      running = false;
    }
  }
  return (value) => {
    if (failed) return;
    waiting = waiting ? { value: merge(waiting.value, value) } : { value };
    if (!running) void drain();
  };
}

/** Input to write, or a size to resize to. */
type TerminalOp = Uint8Array | TerminalSize;

/** Joins adjacent input and keeps only the last of adjacent resizes. */
function coalesce(ops: TerminalOp[]): TerminalOp[] {
  const out: TerminalOp[] = [];
  for (const op of ops) {
    const last = out.at(-1);
    if (last === undefined || last instanceof Uint8Array !== op instanceof Uint8Array) out.push(op);
    else if (last instanceof Uint8Array && op instanceof Uint8Array) out[out.length - 1] = concatBytes(last, op);
    else out[out.length - 1] = op;
  }
  return out;
}

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

const textEncoder = new TextEncoder();

interface ExitEmitter {
  once(event: "exit", listener: () => void): unknown;
  off(event: "exit", listener: () => void): unknown;
}

/** The part of a Node readable stream (`process.stdin`) that {@link nodeTerminal} uses. */
export interface NodeInputLike {
  isTTY?: boolean;
  isRaw?: boolean;
  setRawMode?(mode: boolean): unknown;
  on(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  off(event: "data", listener: (chunk: Uint8Array | string) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

/** The part of a Node writable stream (`process.stdout`) that {@link nodeTerminal} uses. */
export interface NodeOutputLike {
  columns?: number;
  rows?: number;
  write(data: Uint8Array): unknown;
  on(event: "resize", listener: () => void): unknown;
  off(event: "resize", listener: () => void): unknown;
}

/**
 * A terminal over Node streams, by default the process's own. A TTY input is switched to raw
 * mode, so keys such as Ctrl-C go to the shell; `restore` (also run when the process exits)
 * switches it back and stops reading. A stream that is not a TTY has a size of 80×24 unless
 * it has `columns` and `rows`; so does a TTY that reports 0×0 (some CI runners and container
 * consoles do), which no shell can be opened with.
 */
export function nodeTerminal(
  input: NodeInputLike = process.stdin,
  output: NodeOutputLike = process.stdout,
): TerminalSide & { restore(): void } {
  const wasRaw = input.isRaw ?? false;
  if (input.isTTY) input.setRawMode?.(true);
  const listeners = new Set<(chunk: Uint8Array | string) => void>();
  const node = (globalThis as { process?: ExitEmitter }).process;
  const restore = () => {
    node?.off("exit", restore);
    for (const listener of listeners) input.off("data", listener);
    listeners.clear();
    input.pause();
    if (input.isTTY) input.setRawMode?.(wasRaw);
  };
  node?.once("exit", restore);
  return {
    write: (data) => void output.write(data),
    onInput(handler) {
      const listener = (chunk: Uint8Array | string) => handler(chunk);
      listeners.add(listener);
      input.on("data", listener);
      input.resume();
      return () => {
        if (!listeners.delete(listener)) return;
        input.off("data", listener);
        // A paused stdin lets the process exit.
        if (listeners.size === 0) input.pause();
      };
    },
    size: () => streamSize(output),
    onResize(handler) {
      const listener = () => handler(streamSize(output));
      output.on("resize", listener);
      return () => void output.off("resize", listener);
    },
    restore,
  };
}

/** A stream's size, 80×24 where it reports none or 0. */
function streamSize(output: NodeOutputLike): TerminalSize {
  return { cols: output.columns || 80, rows: output.rows || 24 };
}

interface Disposable {
  dispose(): void;
}

/** The part of an `@xterm/xterm` `Terminal` that {@link xtermTerminal} uses. */
export interface XtermLike {
  readonly cols: number;
  readonly rows: number;
  write(data: string | Uint8Array): void;
  onData(listener: (data: string) => void): Disposable;
  /** Non-UTF-8 input (some mouse reports), one character per byte. */
  onBinary?(listener: (data: string) => void): Disposable;
  onResize(listener: (size: TerminalSize) => void): Disposable;
}

/** A terminal over an xterm.js `Terminal`. */
export function xtermTerminal(term: XtermLike): TerminalSide {
  return {
    write: (data) => term.write(data),
    onInput(handler) {
      const subscriptions = [
        term.onData(handler),
        term.onBinary?.((data) => handler(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))),
      ];
      return () => subscriptions.forEach((s) => s?.dispose());
    },
    size: () => ({ cols: term.cols, rows: term.rows }),
    onResize(handler) {
      const subscription = term.onResize(handler);
      return () => subscription.dispose();
    },
  };
}
