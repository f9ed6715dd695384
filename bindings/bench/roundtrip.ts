/**
 * Round trip of one small action (`exists("/")`) through the generated client over each host:
 * the embedded host, and a real Rivet Engine with `agentos-rivet serve` behind the real
 * `rivetkit` client (bare encoding, and cbor for both). One run, after the test helpers built
 * and started them; prints the median and p90 per host in microseconds.
 *
 *   npm run build --prefix bindings && node bindings/dist/bench/roundtrip.js [CALLS]
 */
import { createAgentOsClient } from "../src/index.js";
import { startTestHost, type HostKind } from "../test/host.js";

const calls = Number(process.argv[2] ?? 500);
const rows: Record<string, { medianUs: number; p90Us: number }> = {};
for (const [kind, encoding] of [["embedded", "cbor"], ["rivet", "cbor"], ["rivet", "bare"]] as [HostKind, string][]) {
  const host = await startTestHost(kind);
  try {
    const client = createAgentOsClient(host.transport("bench", encoding as "cbor"));
    await client.ready;
    for (let i = 0; i < 50; i++) await client.exists("/");
    const times: number[] = [];
    for (let i = 0; i < calls; i++) {
      const start = process.hrtime.bigint();
      await client.exists("/");
      times.push(Number(process.hrtime.bigint() - start) / 1e3);
    }
    times.sort((a, b) => a - b);
    rows[`${kind} (${encoding})`] = {
      medianUs: Math.round(times[Math.floor(calls / 2)]!),
      p90Us: Math.round(times[Math.floor(calls * 0.9)]!),
    };
    client.close();
  } finally {
    await host.stop();
  }
}
console.log(JSON.stringify(rows, null, 2));
