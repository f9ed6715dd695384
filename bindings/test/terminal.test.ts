import assert from "node:assert/strict";
import { describe, test } from "node:test";

import {
  ActorError,
  type ClientBase,
  type ShellExitLike,
  type TerminalSide,
  type TerminalSize,
  attachTerminal,
  connectTerminal,
  nodeTerminal,
  xtermTerminal,
} from "../src/index.js";
import { serial, shellEventRouter } from "../src/runtime/terminal.js";
import { ScreenStream, keyboard } from "./terminal-streams.js";

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);
const sorted = (calls: unknown[][]) => [...calls].sort((a, b) => String(a[0]).localeCompare(String(b[0])));
const tick = () => new Promise((resolve) => setImmediate(resolve));

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

// Shaped as the generator emits the shell API, so compiling `connectTerminal(client, …)`
// checks that a generated client satisfies the structural types.
interface ShellOptions {
  command?: string;
  args?: string[];
  env?: Record<string, string>;
  cwd?: string;
  cols?: number;
  rows?: number;
}
interface ShellInfo {
  shellId: string;
  pid: number;
  cols: number;
  rows: number;
  command: string[];
}
interface GeneratedEvents {
  snapshotChunk: { callId: string; data: Uint8Array };
  shellData: { shellId: string; data: Uint8Array; cursor: number };
  shellExit: ShellExitLike;
}
interface ShellActions {
  openShell(options?: ShellOptions): Promise<ShellInfo>;
  writeShell(shellId: string, data: string | Uint8Array): Promise<void>;
  resizeShell(shellId: string, cols: number, rows: number): Promise<void>;
  closeShell(shellId: string): Promise<void>;
  waitShell(shellId: string): Promise<ShellExitLike>;
  readShellOutput(
    shellId: string,
    options?: { after?: number },
  ): Promise<{ chunks: Array<{ cursor: number; data: Uint8Array }>; next: number; running: boolean }>;
}
type FakeClient = ShellActions & ClientBase<GeneratedEvents, Record<never, never>>;

/** A client whose host is this test: it records calls and raises events on demand. */
function fakeHost(maxMessageBytes = 1 << 20) {
  const listeners = new Map<string, Set<(payload: never) => void>>();
  const calls: unknown[][] = [];
  const opens = deferred<ShellInfo>();
  const waits = deferred<ShellExitLike>();
  let writes = deferred<void>();
  const client: FakeClient = {
    ready: Promise.resolve({
      actorId: "a",
      connectionId: "c1",
      contractHash: "h",
      contractVersion: "1.0.0",
      limits: { maxMessageBytes, maxDepth: 64, maxValues: 100_000, maxBinaryBytes: maxMessageBytes },
    }),
    on(event, handler) {
      const set = listeners.get(event) ?? new Set();
      listeners.set(event, set);
      const entry = (payload: never) => handler(payload);
      set.add(entry);
      return () => void set.delete(entry);
    },
    handle: () => assert.fail("no bridges"),
    close: () => {},
    openShell: async (options) => (calls.push(["openShell", options]), opens.promise),
    writeShell: async (shellId, data) => {
      calls.push(["writeShell", shellId, typeof data === "string" ? data : text(data)]);
      await writes.promise;
    },
    resizeShell: async (shellId, cols, rows) => void calls.push(["resizeShell", shellId, cols, rows]),
    closeShell: async (shellId) => void calls.push(["closeShell", shellId]),
    waitShell: async (shellId) => (calls.push(["waitShell", shellId]), waits.promise),
    readShellOutput: async (shellId, options) => {
      calls.push(["readShellOutput", shellId, options]);
      return { chunks: [], next: options?.after ?? 0, running: true };
    },
  };
  const emit = <K extends keyof GeneratedEvents>(event: K, payload: GeneratedEvents[K]) => {
    for (const listener of listeners.get(event) ?? []) (listener as (p: GeneratedEvents[K]) => void)(payload);
  };
  return {
    client,
    calls,
    opens,
    waits,
    emit,
    /** Lets pending writeShell calls return, and the next ones too until `holdWrites`. */
    releaseWrites: () => writes.resolve(),
    holdWrites: () => void (writes = deferred<void>()),
    listenerCount: () => [...listeners.values()].reduce((n, set) => n + set.size, 0),
  };
}

const info = (shellId: string, cols = 80, rows = 24): ShellInfo => ({
  shellId,
  pid: 42,
  cols,
  rows,
  command: ["/bin/sh"],
});

/** A terminal driven by the test. */
function memoryTerminal(size: TerminalSize = { cols: 80, rows: 24 }) {
  const output: string[] = [];
  const inputs = new Set<(data: Uint8Array | string) => void>();
  const resizes = new Set<(size: TerminalSize) => void>();
  const side: TerminalSide = {
    write: (data) => void output.push(text(data)),
    onInput: (handler) => (inputs.add(handler), () => void inputs.delete(handler)),
    size: () => size,
    onResize: (handler) => (resizes.add(handler), () => void resizes.delete(handler)),
  };
  return {
    side,
    output,
    type: (data: string) => inputs.forEach((handler) => handler(data)),
    resize(next: TerminalSize) {
      size = next;
      resizes.forEach((handler) => handler(next));
    },
    listenerCount: () => inputs.size + resizes.size,
  };
}

describe("shellEventRouter", () => {
  test("holds events until bound, then replays that shell's and drops the rest", () => {
    const seen: string[] = [];
    const router = shellEventRouter({
      data: (data) => seen.push(text(data)),
      exit: (exit) => seen.push(`exit ${exit.exitCode}`),
    });
    router.data({ shellId: "other", data: bytes("x"), cursor: 1 });
    router.data({ shellId: "s1", data: bytes("a"), cursor: 1 });
    assert.deepEqual(seen, []);
    router.bind("s1");
    assert.deepEqual(seen, ["a"]);
    router.data({ shellId: "other", data: bytes("y"), cursor: 2 });
    router.data({ shellId: "s1", data: bytes("b"), cursor: 2 });
    router.exit({ shellId: "other", exitCode: 1, signal: null });
    router.exit({ shellId: "s1", exitCode: 0, signal: null });
    router.data({ shellId: "s1", data: bytes("late"), cursor: 6 });
    router.exit({ shellId: "s1", exitCode: 9, signal: null });
    assert.deepEqual(seen, ["a", "b", "exit 0"]);
    assert.throws(() => router.bind("s2"), /already bound/);
  });

  test("an exit before the id is known is replayed", () => {
    const seen: unknown[] = [];
    const router = shellEventRouter({ data: () => seen.push("data"), exit: (exit) => seen.push(exit) });
    router.data({ shellId: "s1", data: bytes("bye"), cursor: 3 });
    router.exit({ shellId: "s1", exitCode: null, signal: "SIGKILL" });
    router.bind("s1");
    assert.deepEqual(seen, ["data", { shellId: "s1", exitCode: null, signal: "SIGKILL" }]);
  });

  test("bound after a cursor, output the terminal already shows is dropped, held or live", () => {
    const seen: string[] = [];
    const router = shellEventRouter({ data: (data) => seen.push(text(data)), exit: () => seen.push("exit") });
    router.data({ shellId: "s1", data: bytes("ab"), cursor: 2 });
    router.data({ shellId: "s1", data: bytes("cd"), cursor: 4 });
    router.bind("s1", 2);
    router.data({ shellId: "s1", data: bytes("cd"), cursor: 4 });
    router.data({ shellId: "s1", data: bytes("ef"), cursor: 6 });
    assert.deepEqual(seen, ["cd", "ef"]);
  });
});

describe("serial", () => {
  test("runs one value at a time and merges what waits", async () => {
    const runs: string[] = [];
    let release = deferred<void>();
    const push = serial<string>(
      (a, b) => a + b,
      async (value) => {
        runs.push(value);
        await release.promise;
      },
      (error) => assert.fail(String(error)),
    );
    push("a");
    push("b");
    push("c");
    assert.deepEqual(runs, ["a"]);
    release.resolve();
    await tick();
    assert.deepEqual(runs, ["a", "bc"]);
    release = deferred<void>();
    push("d");
    await tick();
    assert.deepEqual(runs, ["a", "bc", "d"]);
  });

  test("stops at the first failure and reports it once", async () => {
    const errors: unknown[] = [];
    const runs: number[] = [];
    const push = serial<number>(
      (_, next) => next,
      async (value) => {
        runs.push(value);
        throw new Error(`failed ${value}`);
      },
      (error) => errors.push(error),
    );
    push(1);
    push(2);
    await tick();
    push(3);
    await tick();
    assert.deepEqual(runs, [1]);
    assert.deepEqual(errors.map((e) => (e as Error).message), ["failed 1"]);
  });
});

describe("connectTerminal", () => {
  test("forwards output, input and resizes, and resolves on exit with nothing left subscribed", async () => {
    const host = fakeHost();
    const term = memoryTerminal({ cols: 120, rows: 30 });
    const done = connectTerminal(host.client, term.side, { command: "/bin/bash", env: { A: "1" } });
    await tick();
    assert.deepEqual(host.calls, [["openShell", { command: "/bin/bash", env: { A: "1" }, cols: 120, rows: 30 }]]);
    // Output and input before openShell answers are neither lost nor sent early.
    host.emit("shellData", { shellId: "s1", data: bytes("prompt$ "), cursor: 100 });
    host.emit("shellData", { shellId: "s0", data: bytes("not ours"), cursor: 200 });
    term.type("ls");
    host.opens.resolve(info("s1", 120, 30));
    await tick();
    assert.deepEqual(term.output, ["prompt$ "]);
    assert.deepEqual(sorted(host.calls.slice(1)), [["waitShell", "s1"], ["writeShell", "s1", "ls"]]);
    // Typed while a write is in flight: sent as one write once it returns.
    term.type(" -l");
    term.type("\r");
    await tick();
    assert.equal(host.calls.length, 3);
    host.releaseWrites();
    await tick();
    assert.deepEqual(host.calls.at(-1), ["writeShell", "s1", " -l\r"]);
    term.resize({ cols: 100, rows: 40 });
    await tick();
    assert.deepEqual(host.calls.at(-1), ["resizeShell", "s1", 100, 40]);
    host.emit("shellData", { shellId: "s1", data: bytes("total 0\r\n"), cursor: 300 });
    host.emit("shellExit", { shellId: "s1", exitCode: 3, signal: null });
    assert.deepEqual(await done, { exitCode: 3, signal: null });
    assert.deepEqual(term.output, ["prompt$ ", "total 0\r\n"]);
    assert.equal(host.listenerCount(), 0);
    assert.equal(term.listenerCount(), 0);
    assert.ok(!host.calls.some(([name]) => name === "closeShell"));
  });

  test("keeps input and resizes in the order they happened", async () => {
    const host = fakeHost();
    const term = memoryTerminal();
    const done = connectTerminal(host.client, term.side);
    host.opens.resolve(info("s1"));
    await tick();
    term.type("a");
    term.resize({ cols: 90, rows: 30 });
    term.resize({ cols: 100, rows: 40 });
    term.type("b");
    term.type("c");
    host.releaseWrites();
    await tick();
    assert.deepEqual(
      host.calls.filter(([name]) => name !== "waitShell"),
      [
        ["openShell", { cols: 80, rows: 24 }],
        ["writeShell", "s1", "a"],
        ["resizeShell", "s1", 100, 40],
        ["writeShell", "s1", "bc"],
      ],
    );
    host.emit("shellExit", { shellId: "s1", exitCode: 0, signal: null });
    await done;
  });

  test("splits a paste larger than half the message limit", async () => {
    const host = fakeHost(8);
    host.releaseWrites();
    const term = memoryTerminal();
    const done = connectTerminal(host.client, term.side);
    host.opens.resolve(info("s1"));
    await tick();
    term.type("0123456789");
    await tick();
    const writes = host.calls.filter(([name]) => name === "writeShell").map((call) => call[2]);
    assert.deepEqual(writes, ["0123", "4567", "89"]);
    host.waits.resolve({ shellId: "s1", exitCode: 0, signal: null });
    await done;
  });

  test("resolves when the shell exits before openShell answers", async () => {
    const host = fakeHost();
    const term = memoryTerminal();
    const done = connectTerminal(host.client, term.side, { command: "true" });
    host.emit("shellData", { shellId: "s1", data: bytes("bye"), cursor: 400 });
    host.emit("shellExit", { shellId: "s1", exitCode: 0, signal: null });
    host.opens.resolve(info("s1"));
    assert.deepEqual(await done, { exitCode: 0, signal: null });
    assert.deepEqual(term.output, ["bye"]);
  });

  test("resizes at once if the terminal changed size while the shell opened", async () => {
    const host = fakeHost();
    const term = memoryTerminal({ cols: 80, rows: 24 });
    const done = connectTerminal(host.client, term.side);
    term.resize({ cols: 90, rows: 20 });
    host.opens.resolve(info("s1", 80, 24));
    await tick();
    assert.deepEqual(
      host.calls.filter(([name]) => name === "resizeShell"),
      [["resizeShell", "s1", 90, 20]],
    );
    host.emit("shellExit", { shellId: "s1", exitCode: 0, signal: null });
    await done;
  });

  test("rejects when the connection drops, closing what it opened", async () => {
    const host = fakeHost();
    const term = memoryTerminal();
    const done = connectTerminal(host.client, term.side);
    host.opens.resolve(info("s1"));
    await tick();
    host.waits.reject(new ActorError("host", "disconnected", "connection closed"));
    await assert.rejects(done, (e: unknown) => e instanceof ActorError && e.code === "disconnected");
    assert.deepEqual(host.calls.at(-1), ["closeShell", "s1"]);
    assert.equal(host.listenerCount() + term.listenerCount(), 0);
  });

  test("rejects when the shell cannot be opened", async () => {
    const host = fakeHost();
    const term = memoryTerminal();
    const done = connectTerminal(host.client, term.side);
    host.opens.reject(new ActorError("agentos", "not_found", "no such command"));
    await assert.rejects(done, /no such command/);
    assert.equal(host.listenerCount() + term.listenerCount(), 0);
  });
});

describe("attachTerminal", () => {
  test("resizes the shell to the terminal and settles through waitShell", async () => {
    const host = fakeHost();
    const term = memoryTerminal({ cols: 132, rows: 50 });
    const done = attachTerminal(host.client, "s7", term.side);
    await tick();
    assert.deepEqual(sorted(host.calls), [
      ["readShellOutput", "s7", { after: 0 }],
      ["resizeShell", "s7", 132, 50],
      ["waitShell", "s7"],
    ]);
    // The shell had already exited, so no exit event comes.
    host.waits.resolve({ shellId: "s7", exitCode: null, signal: "SIGTERM" });
    assert.deepEqual(await done, { exitCode: null, signal: "SIGTERM" });
  });

  test("shows what the shell's log holds, then live output from where it ended, once", async () => {
    const host = fakeHost();
    const pages = [
      { chunks: [{ cursor: 3, data: bytes("abc") }], next: 3, running: true },
      { chunks: [{ cursor: 5, data: bytes("de") }], next: 5, running: true },
      { chunks: [], next: 5, running: true },
    ];
    host.client.readShellOutput = async (shellId, options) => {
      // Output that arrives while the log is read: held, and shown only past the log's end.
      host.emit("shellData", { shellId, data: bytes("de"), cursor: 5 });
      assert.equal(options?.after, [0, 3, 5][3 - pages.length]);
      return pages.shift()!;
    };
    const term = memoryTerminal();
    const done = attachTerminal(host.client, "s1", term.side);
    await tick();
    host.emit("shellData", { shellId: "s1", data: bytes("f"), cursor: 6 });
    assert.deepEqual(term.output, ["abc", "de", "f"]);
    host.waits.resolve({ shellId: "s1", exitCode: 0, signal: null });
    await done;
  });
});

describe("nodeTerminal", () => {
  test("reads input, writes output and follows the size of its streams", async () => {
    const input = keyboard();
    const output = new ScreenStream(90, 30);
    const term = nodeTerminal(input, output);
    const typed: string[] = [];
    const sizes: TerminalSize[] = [];
    const stopInput = term.onInput((data) => typed.push(typeof data === "string" ? data : text(data)));
    const stopResize = term.onResize((size) => sizes.push(size));
    input.write("ab");
    await tick();
    term.write(bytes("out"));
    output.resize(100, 40);
    assert.deepEqual(typed, ["ab"]);
    assert.equal(output.text(), "out");
    assert.deepEqual(term.size(), { cols: 100, rows: 40 });
    assert.deepEqual(sizes, [{ cols: 100, rows: 40 }]);
    stopInput();
    stopResize();
    assert.equal(input.listenerCount("data"), 0);
    assert.equal(output.listenerCount("resize"), 0);
    assert.ok(input.isPaused());
    term.restore();
  });

  test("takes a terminal that reports 0×0 as 80×24", () => {
    const term = nodeTerminal(keyboard(), new ScreenStream(0, 0));
    assert.deepEqual(term.size(), { cols: 80, rows: 24 });
    term.restore();
  });

  test("switches a TTY to raw mode until restored", () => {
    const modes: boolean[] = [];
    const tty = Object.assign(keyboard(), { isTTY: true, isRaw: false, setRawMode: (raw: boolean) => modes.push(raw) });
    const exitListeners = () => process.listenerCount("exit");
    const before = exitListeners();
    const term = nodeTerminal(tty, new ScreenStream());
    assert.equal(exitListeners(), before + 1);
    term.onInput(() => {});
    term.restore();
    assert.deepEqual(modes, [true, false]);
    assert.equal(tty.listenerCount("data"), 0);
    assert.equal(exitListeners(), before);
  });
});

describe("xtermTerminal", () => {
  test("maps an xterm.js Terminal, binary input included", () => {
    const handlers = { data: new Set<(d: string) => void>(), binary: new Set<(d: string) => void>() };
    const subscribe = (set: Set<(d: string) => void>) => (listener: (d: string) => void) => {
      set.add(listener);
      return { dispose: () => void set.delete(listener) };
    };
    const written: Array<string | Uint8Array> = [];
    const xterm = {
      cols: 80,
      rows: 24,
      write: (data: string | Uint8Array) => void written.push(data),
      onData: subscribe(handlers.data),
      onBinary: subscribe(handlers.binary),
      onResize: () => ({ dispose: () => {} }),
    };
    const term = xtermTerminal(xterm);
    const typed: Array<Uint8Array | string> = [];
    const stop = term.onInput((data) => typed.push(data));
    handlers.data.forEach((h) => h("é"));
    handlers.binary.forEach((h) => h("\x1b[M\xff"));
    assert.deepEqual(typed, ["é", new Uint8Array([0x1b, 0x5b, 0x4d, 0xff])]);
    stop();
    assert.equal(handlers.data.size + handlers.binary.size, 0);
    term.write(bytes("x"));
    assert.deepEqual(written, [bytes("x")]);
    assert.deepEqual(term.size(), { cols: 80, rows: 24 });
  });
});
