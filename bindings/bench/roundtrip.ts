/**
 * Round trip of one small action (`exists("/")`), one run, side by side: through the generated
 * client on the embedded host and on a real Rivet Engine (`agentos-rivet serve`, cbor and bare),
 * and, on the same engine, a plain rivetkit TypeScript actor with the same trivial action called
 * through rivetkit's own client: the floor a user would get without agentOS. Prints the median
 * and p90 per row in microseconds, and ours on the engine as a ratio of that floor.
 *
 *   npm run build --prefix bindings && node bindings/dist/bench/roundtrip.js [CALLS]
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

import { createAgentOsClient } from "../src/index.js";
import { startEngine, startRivetHost } from "../test/engine.js";
import { startHost } from "../test/host.js";
import { webSocketTransport, type Transport } from "../src/index.js";

const calls = Number(process.argv[2] ?? 500);
const WARMUP = 50;

interface Row {
  medianUs: number;
  p90Us: number;
}

async function time(call: () => Promise<unknown>): Promise<Row> {
  for (let i = 0; i < WARMUP; i++) await call();
  const times: number[] = [];
  for (let i = 0; i < calls; i++) {
    const start = process.hrtime.bigint();
    await call();
    times.push(Number(process.hrtime.bigint() - start) / 1e3);
  }
  times.sort((a, b) => a - b);
  return {
    medianUs: Math.round(times[Math.floor(calls / 2)]!),
    p90Us: Math.round(times[Math.floor(calls * 0.9)]!),
  };
}

async function generated(transport: Transport): Promise<Row> {
  const client = createAgentOsClient(transport);
  try {
    await client.ready;
    return await time(() => client.exists("/"));
  } finally {
    client.close();
  }
}

/** The plain TypeScript actor of `ts-actor.ts`, on `endpoint` under `poolName`. */
async function tsActor(endpoint: string, poolName: string): Promise<Row> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./ts-actor.js", import.meta.url)), endpoint, poolName], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`ts-actor exited with ${code}`)));
      createInterface({ input: child.stdout! }).on("line", (line) => line === "READY" && resolve());
    });
    const { createClient } = await import("rivetkit/client");
    const client = createClient({ endpoint, namespace: "default", token: "dev", poolName, encoding: "bare" });
    const conn = client.getOrCreate("bench", "bench").connect();
    try {
      return await time(() => conn.action({ name: "exists", args: ["/"] }));
    } finally {
      await conn.dispose();
      await client.dispose();
    }
  } finally {
    child.removeAllListeners("exit");
    child.kill("SIGTERM");
  }
}

const rows: Record<string, Row> = {};
const embedded = await startHost();
try {
  rows["embedded (cbor)"] = await generated(
    webSocketTransport({ url: embedded.url, token: embedded.token, key: "bench", encoding: "cbor" }),
  );
} finally {
  await embedded.stop();
}
const engine = await startEngine();
try {
  const host = await startRivetHost(engine);
  try {
    rows["engine, agentOS (cbor)"] = await generated(host.transport("bench", "cbor"));
    rows["engine, agentOS (bare)"] = await generated(host.transport("bench-bare", "bare"));
  } finally {
    await host.stop();
  }
  rows["engine, plain TypeScript actor (bare)"] = await tsActor(engine.endpoint, `ts-actor-${process.pid}`);
} finally {
  await engine.stop();
}
const floor = rows["engine, plain TypeScript actor (bare)"]!.medianUs;
console.log(JSON.stringify({ calls, rows, agentOsBareOverFloor: +(rows["engine, agentOS (bare)"]!.medianUs / floor).toFixed(2) }, null, 2));
