/**
 * The client half of the shell throughput benchmark (`cargo bench -p agentos-core --bench
 * shell`, which starts the host and measures the raw PTY baseline): opens a shell that writes
 * `bytes` bytes and times their arrival as `shellData` events, from `openShell` to `shellExit`.
 * Prints `{ "bytes": received, "seconds": elapsed }`.
 *
 *   node dist/bench/shell-throughput.js URL TOKEN BYTES
 */
import { createAgentOsClient, webSocketTransport } from "../src/index.js";

const [url, token, bytes] = process.argv.slice(2);
if (!url || !token || !bytes) {
  console.error("usage: shell-throughput.js URL TOKEN BYTES");
  process.exit(2);
}
const client = createAgentOsClient(webSocketTransport({ url, token, key: "bench-shell" }));
await client.ready;
let received = 0;
let exited!: () => void;
const done = new Promise<void>((resolve) => (exited = resolve));
client.on("shellData", ({ data }) => (received += data.byteLength));
client.on("shellExit", () => exited());
const start = process.hrtime.bigint();
await client.openShell({ command: "/bin/sh", args: ["-c", `yes 0123456789abcdef | head -c ${bytes}`] });
await done;
const seconds = Number(process.hrtime.bigint() - start) / 1e9;
console.log(JSON.stringify({ bytes: received, seconds }));
client.close();
