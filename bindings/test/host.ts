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
  token: string;
  dataDir: string;
  stop(): Promise<void>;
}

const BIN = process.env.AGENTOS_BIN ?? fileURLToPath(new URL("../../../target/debug/agentos", import.meta.url));

export async function startHost(extraArgs: string[] = []): Promise<Host> {
  const dataDir = mkdtempSync(join(tmpdir(), "agentos-e2e-"));
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
  return { url, token, dataDir, stop: () => stop(child, dataDir) };
}

async function stop(child: ChildProcess, dataDir: string): Promise<void> {
  child.removeAllListeners("exit");
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
  rmSync(dataDir, { recursive: true, force: true });
}
