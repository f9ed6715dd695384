/**
 * Starts the real `agentos serve` binary on a free loopback port with a fresh data
 * directory, for end-to-end tests; {@link startTestHost} starts either host kind. Build it first (`cargo build -p agentos-host --bin agentos`;
 * `scripts/setup.sh` does) or point AGENTOS_BIN at it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { after, before, describe } from "node:test";
import { fileURLToPath } from "node:url";

import { type Encoding, type Transport, webSocketTransport } from "../src/index.js";
import { startEngine, startRivetHost } from "./engine.js";
import { recorded } from "./wire.js";

export interface Host {
  url: string;
  /** The host process's pid. */
  pid: number;
  token: string;
  dataDir: string;
  /** Stops the host and deletes its data directory unless `keepData`. */
  stop(options?: { keepData?: boolean }): Promise<void>;
}

const BIN = process.env.AGENTOS_BIN ?? fileURLToPath(new URL("../../../target/debug/agentos", import.meta.url));

/** The repository's root directory. */
export const REPO = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * What every test host may mount (`hostDir` mounts, overlay lowers): the temporary directory,
 * where the suites make theirs. The host's data directory is there too; the host refuses it
 * whatever it allows.
 */
export const HOST_PATH_ARGS: readonly string[] = ["--allow-host-path", tmpdir()];

/** The deterministic ACP agent of `core/agent/` as a program of its own (built by `scripts/setup.sh`). */
export const TEST_AGENT =
  process.env.AGENTOS_TEST_AGENT ?? fileURLToPath(new URL("../../../target/debug/agentos-test-agent", import.meta.url));

/**
 * Starts a host; give it the `dataDir` of a stopped one (`keepData`) to restart that one, and
 * `command` to run another binary that serves a surface on the embedded host.
 */
export async function startHost(
  extraArgs: string[] = [],
  dataDir = mkdtempSync(join(tmpdir(), "agentos-e2e-")),
  command: readonly string[] = [BIN, "serve"],
): Promise<Host> {
  const token = `t${Math.random().toString(36).slice(2)}`;
  const [bin, ...subcommand] = command;
  const child = spawn(bin!, [...subcommand, "--port", "0", "--data-dir", dataDir, ...HOST_PATH_ARGS, ...extraArgs], {
    env: { ...process.env, AGENTOS_TOKEN: token },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("AGENTOS_URL=")) resolve(line.slice("AGENTOS_URL=".length));
    });
  });
  return { url, pid: child.pid!, token, dataDir, stop: (options) => stop(child, options?.keepData ? undefined : dataDir) };
}

async function stop(child: ChildProcess, dataDir: string | undefined): Promise<void> {
  child.removeAllListeners("exit");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
}

/** The hosts the end-to-end suites run over: both unless `AGENTOS_E2E_HOSTS` names some. */
export type HostKind = "embedded" | "rivet";
export const HOST_KINDS = (process.env.AGENTOS_E2E_HOSTS ?? "embedded,rivet").split(",") as HostKind[];

/** A host of either kind, as a suite sees it: a transport per actor key. */
export interface TestHost {
  kind: HostKind;
  /** The host process's pid. */
  pid: number;
  dataDir: string;
  /** Where clients reach the host: the embedded host's own address, or the engine's. */
  origin: string;
  transport(key: string, encoding?: Encoding): Transport;
  stop(): Promise<void>;
}

/** The binary and subcommand that serve on each kind of host. */
export type HostCommands = Record<HostKind, readonly string[]>;

/**
 * `agentos serve`, or a fresh Rivet Engine with `agentos-rivet serve` on it; `extraArgs` go
 * to either binary (they share their flags). `commands` serves another surface instead (an
 * app's that extends the core's).
 */
export async function startTestHost(kind: HostKind, extraArgs: string[] = [], commands?: HostCommands): Promise<TestHost> {
  if (kind === "embedded") {
    const host = await startHost(extraArgs, undefined, commands?.embedded);
    return {
      kind,
      pid: host.pid,
      dataDir: host.dataDir,
      origin: host.url.replace(/^ws/, "http"),
      transport: (key, encoding) => recorded(webSocketTransport({ url: host.url, token: host.token, key, encoding })),
      stop: host.stop,
    };
  }
  const engine = await startEngine();
  try {
    const host = await startRivetHost(engine, [...HOST_PATH_ARGS, ...extraArgs], commands?.rivet);
    return {
      kind,
      pid: host.pid,
      dataDir: host.dataDir,
      origin: engine.endpoint,
      transport: (key, encoding) => recorded(host.transport(key, encoding)),
      async stop() {
        await host.stop();
        await engine.stop();
      },
    };
  } catch (error) {
    await engine.stop();
    throw error;
  }
}

/** What {@link describeOnEachHost} starts each host with; see {@link startTestHost}. */
export interface TestHostOptions {
  /** Flags for either binary. */
  args?: string[];
  /** The binaries that serve another surface instead of the core's. */
  commands?: HostCommands;
}

/**
 * One suite per kind of {@link HOST_KINDS}, titled `${title} on ${kind}`: a fresh host of that
 * kind starts before the suite's own `before` hooks and stops after its `after` hooks (node:test
 * runs both in the order they were registered), so clients the suite opens close first.
 * `suite` registers the hooks and tests; they read the host through `host()`.
 */
export function describeOnEachHost(title: string, options: TestHostOptions, suite: (host: () => TestHost) => void): void {
  for (const kind of HOST_KINDS)
    describe(`${title} on ${kind}`, () => {
      let started: TestHost | undefined;
      before(async () => {
        started = await startTestHost(kind, options.args, options.commands);
      });
      suite(() => {
        if (started === undefined) throw new Error(`the ${kind} host has not started`);
        return started;
      });
      after(async () => {
        await started?.stop();
      });
    });
}
