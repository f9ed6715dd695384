/**
 * Starts the real `agentos serve` binary on a free loopback port with a fresh data
 * directory, for end-to-end tests. Build it first (`cargo build -p agentos-core --bin agentos`;
 * `scripts/setup.sh` does) or point AGENTOS_BIN at it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

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

/** The deterministic ACP agent of `test-agent/` (built by `scripts/setup.sh`). */
export const TEST_AGENT =
  process.env.AGENTOS_TEST_AGENT ?? fileURLToPath(new URL("../../../target/debug/agentos-test-agent", import.meta.url));

/** Starts a host; give it the `dataDir` of a stopped one (`keepData`) to restart that one. */
export async function startHost(extraArgs: string[] = [], dataDir = mkdtempSync(join(tmpdir(), "agentos-e2e-"))): Promise<Host> {
  const token = `t${Math.random().toString(36).slice(2)}`;
  const child = spawn(BIN, ["serve", "--port", "0", "--data-dir", dataDir, ...extraArgs], {
    env: { ...process.env, AGENTOS_TOKEN: token },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`agentos serve exited with ${code}`)));
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
