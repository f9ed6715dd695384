/**
 * A real Rivet Engine and a real `agentos-rivet serve` for end-to-end tests: the engine from
 * the lockfile (`@rivetkit/engine-cli-linux-x64-musl`), bound to loopback on free ports with a
 * fresh storage directory and telemetry off, started by hand (see docs/rivetkit.md: an engine
 * rivetkit spawns itself gets development tuning), stopped with SIGTERM at the end. Build the
 * host first (`cargo build -p agentos-rivet`; `scripts/setup.sh` does) or point
 * AGENTOS_RIVET_BIN at it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { rivetkitTransport, type Transport } from "../src/index.js";

const ENGINE =
  process.env.RIVET_ENGINE_BINARY_PATH ??
  fileURLToPath(new URL("../../node_modules/@rivetkit/engine-cli-linux-x64-musl/rivet-engine", import.meta.url));
const BIN = process.env.AGENTOS_RIVET_BIN ?? fileURLToPath(new URL("../../../target/debug/agentos-rivet", import.meta.url));

export interface Engine {
  endpoint: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startEngine(): Promise<Engine> {
  const storage = mkdtempSync(join(tmpdir(), "agentos-engine-"));
  const [guard, peer, metrics] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(ENGINE, ["start"], {
    env: {
      ...process.env,
      RIVET__GUARD__HOST: "127.0.0.1",
      RIVET__GUARD__PORT: String(guard),
      RIVET__API_PEER__HOST: "127.0.0.1",
      RIVET__API_PEER__PORT: String(peer),
      RIVET__METRICS__HOST: "127.0.0.1",
      RIVET__METRICS__PORT: String(metrics),
      RIVET__FILE_SYSTEM__PATH: storage,
      RIVET__TELEMETRY__ENABLED: "false",
    },
    stdio: ["ignore", "ignore", process.env.AGENTOS_ENGINE_LOG ? "inherit" : "ignore"],
  });
  const endpoint = `http://127.0.0.1:${guard}`;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`rivet-engine exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${endpoint}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGTERM");
      throw new Error("rivet-engine did not become healthy in 30 s");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    endpoint,
    async stop() {
      child.kill("SIGTERM");
      await exited;
      rmSync(storage, { recursive: true, force: true });
    },
  };
}

export interface RivetHost {
  endpoint: string;
  poolName: string;
  /** The host process's pid. */
  pid: number;
  dataDir: string;
  transport(key: string, encoding?: "bare" | "cbor" | "json"): Transport;
  stop(): Promise<void>;
}

let pools = 0;

/** `agentos-rivet serve` (or `command`) on `engine` under a pool of its own. */
export async function startRivetHost(
  engine: Engine,
  extraArgs: string[] = [],
  command: readonly string[] = [BIN, "serve"],
): Promise<RivetHost> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentos-rivet-e2e-"));
  const poolName = `agentos-e2e-${process.pid}-${++pools}`;
  const [bin, ...subcommand] = command;
  const child = spawn(
    bin!,
    [...subcommand, "--endpoint", engine.endpoint, "--pool", poolName, "--data-dir", dataDir, ...extraArgs],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${command.join(" ")} exited with ${code}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (line.startsWith("AGENTOS_RIVET_POOL=")) resolve();
    });
  });
  return {
    endpoint: engine.endpoint,
    poolName,
    pid: child.pid!,
    dataDir,
    transport: (key, encoding) =>
      rivetkitTransport({ endpoint: engine.endpoint, poolName, key: `${poolName}-${key}`, encoding }),
    stop: () => stop(child, dataDir),
  };
}

async function stop(child: ChildProcess, dataDir: string): Promise<void> {
  child.removeAllListeners("exit");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
}
