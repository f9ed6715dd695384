/**
 * The VM's own network through a real host and the generated client. On both hosts: a Node
 * server started with `spawn` in the VM answers `vmFetch` (status, headers, body, a POSTed
 * body); another VM's `vmFetch` to the same port does not reach it; a process in the VM
 * reaches neither the host's API port nor the outside. On the embedded host: a signed
 * preview URL opens a page served in the VM in Chromium, whose WebSocket echo round-trips
 * through the same URL; a token expired by action gets 404 and one past its time 410, with
 * nothing proxied; a token outlives a restart of the host.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { createAgentOsClient, webSocketTransport, type AgentOsClient } from "../src/index.js";
import { NO_CHROMIUM, launchChromium, screenshot } from "./chromium.js";
import { eventually, isError } from "./expect.js";
import { describeOnEachHost, startHost, type Host } from "./host.js";

const PORT = 8000;

/**
 * The VM's server: a page whose script opens a WebSocket to its own URL plus `echo` and
 * titles itself with what comes back; a POST answered with its body; `/count`, how many
 * requests it has had; and a WebSocket echo of small text frames (a handshake and unmasking,
 * so that it needs no package).
 */
const SERVER = `
const http = require("http"), crypto = require("crypto");
let count = 0;
const page = "<!doctype html><title>loading</title><h1>served from the VM</h1><script>" +
  "const ws = new WebSocket(location.href.replace(/^http/, 'ws') + 'echo');" +
  "ws.onopen = () => ws.send('ping'); ws.onmessage = (e) => { document.title = 'echo:' + e.data; };</script>";
const server = http.createServer((req, res) => {
  count += 1;
  if (req.url === "/count") return res.end(String(count));
  if (req.method === "POST") {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    return req.on("end", () => { res.writeHead(201, { "content-type": "application/octet-stream" }); res.end(Buffer.concat(chunks)); });
  }
  res.writeHead(200, { "content-type": "text/html", "x-served-by": "vm", "x-host-seen": req.headers.host });
  res.end(page);
});
server.on("upgrade", (req, socket) => {
  count += 1;
  const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  socket.write("HTTP/1.1 101 Switching Protocols\\r\\nUpgrade: websocket\\r\\nConnection: Upgrade\\r\\nSec-WebSocket-Accept: " + accept + "\\r\\n\\r\\n");
  socket.on("data", (frame) => {
    const length = frame[1] & 127, mask = frame.subarray(2, 6);
    const data = Buffer.from(frame.subarray(6, 6 + length).map((b, i) => b ^ mask[i % 4]));
    socket.write(Buffer.concat([Buffer.from([0x81, data.length]), data]));
  });
});
server.listen(${PORT}, "127.0.0.1");
`;

/** Starts the server in `vm` and waits until `vmFetch` reaches it. */
async function serve(vm: AgentOsClient): Promise<void> {
  await vm.mkdir("/srv", { recursive: true });
  await vm.writeFile("/srv/server.js", SERVER);
  await vm.spawn("node", ["/srv/server.js"]);
  await eventually(
    () => vm.vmFetch(PORT, "/count").then(() => true, () => undefined),
    "the VM's server",
    30_000,
  );
}

/** What a Python one-liner in the VM gets from `url`: its body, or the error. */
async function getFromVm(vm: AgentOsClient, url: string): Promise<string> {
  const script = `import urllib.request as u\ntry: print(u.urlopen('${url}', timeout=5).read().decode())\nexcept Exception as e: print(type(e).__name__, e)`;
  return (await vm.exec(`python3 -c "${script}"`)).stdout;
}

describeOnEachHost("the VM's network", {}, (host) => {
  let vm: AgentOsClient;
  let other: AgentOsClient;
  before(async () => {
    vm = createAgentOsClient(host().transport("network"));
    other = createAgentOsClient(host().transport("network-other"));
    await serve(vm);
  });
  after(() => {
    vm?.close();
    other?.close();
  });

  test("vmFetch reaches a server the VM started, and another VM's does not", async () => {
    const page = await vm.vmFetch(PORT, `http://localhost:${PORT}/index.html`);
    assert.equal(page.status, 200);
    assert.equal(page.statusText, "OK");
    assert.equal(page.headers["x-served-by"], "vm");
    assert.equal(page.headers["x-host-seen"], `localhost:${PORT}`);
    assert.match(new TextDecoder().decode(page.body), /served from the VM/);
    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    const posted = await vm.vmFetch(PORT, "/upload", { method: "POST", headers: { "x-a": "b" }, body: bytes });
    assert.equal(posted.status, 201);
    assert.deepEqual(posted.body, bytes);
    await assert.rejects(other.vmFetch(PORT, "/count"), isError("not_found", /no process of the VM listens/));
    assert.match(await getFromVm(other, `http://127.0.0.1:${PORT}/count`), /^URLError/);
    assert.match(await getFromVm(vm, `http://127.0.0.1:${PORT}/count`), /^\d+\n$/);
  });

  test("a process in the VM reaches neither the host's API port nor the outside", async () => {
    const apiPort = new URL(host().origin).port;
    assert.match(await getFromVm(vm, `http://127.0.0.1:${apiPort}/health`), /Connection refused/);
    assert.match(await getFromVm(vm, "http://1.1.1.1/"), /unreachable/);
  });

  test("bad requests are typed errors", async () => {
    await assert.rejects(vm.vmFetch(PORT, "/", { method: "NOT A METHOD" }), isError("invalid_input"));
    await assert.rejects(vm.vmFetch(70_000, "/"), isError("invalid_input"));
    if (host().kind === "rivet")
      await assert.rejects(vm.createSignedPreviewUrl(PORT), isError("unsupported", /vmFetch/));
  });
});

describe("signed preview URLs on the embedded host", { skip: NO_CHROMIUM }, () => {
  let host: Host;
  let vm: AgentOsClient;
  const origin = () => host.url.replace(/^ws/, "http");
  const connect = () =>
    createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "preview-host" }));
  before(async () => {
    host = await startHost();
    vm = connect();
    await serve(vm);
  });
  after(async () => {
    vm?.close();
    await host?.stop();
  });

  test("Chromium opens a page served in the VM, and its WebSocket echoes through the same URL", async () => {
    const url = await vm.createSignedPreviewUrl(PORT, 600);
    assert.equal(url.port, PORT);
    assert.equal(url.path, `/actors/agentOS/preview-host/preview/${url.token}/`);
    assert.ok(url.expiresAt > Date.now() + 590_000 && url.expiresAt <= Date.now() + 600_000);
    const { browser, close } = await launchChromium();
    try {
      const page = await browser.newPage();
      await page.goto(`${origin()}${url.path}`);
      assert.equal(await page.textContent("h1"), "served from the VM");
      await page.waitForFunction("document.title.startsWith('echo:')");
      assert.equal(await page.title(), "echo:ping");
      await screenshot(page, "preview.png");
    } finally {
      await close();
    }
  });

  test("an expired token gets 410 and one expired by action 404, and neither is proxied", async () => {
    const count = async () => Number(new TextDecoder().decode((await vm.vmFetch(PORT, "/count")).body));
    const short = await vm.createSignedPreviewUrl(PORT, 1);
    const ended = await vm.createSignedPreviewUrl(PORT);
    assert.equal((await fetch(`${origin()}${ended.path}count`)).status, 200);
    await vm.expireSignedPreviewUrl(ended.token);
    const before = await count();
    assert.equal((await fetch(`${origin()}${ended.path}count`)).status, 404);
    await eventually(() => (Date.now() > short.expiresAt ? true : undefined), "the short token's end", 5_000);
    assert.equal((await fetch(`${origin()}${short.path}count`)).status, 410);
    assert.equal((await fetch(`${origin()}/actors/agentOS/preview-host/preview/nosuchtoken/`)).status, 404);
    assert.equal((await fetch(`${origin()}/actors/agentOS/never-made/preview/x/`)).status, 404);
    assert.equal(await count(), before + 1, "only this count request reached the server");
    await assert.rejects(vm.createSignedPreviewUrl(PORT, 0), isError("invalid_input"));
    await assert.rejects(vm.createSignedPreviewUrl(PORT, 86_401), isError("invalid_input"));
  });

  test("a token outlives a restart of the host", async () => {
    const url = await vm.createSignedPreviewUrl(PORT);
    vm.close();
    await host.stop({ keepData: true });
    host = await startHost([], host.dataDir);
    vm = connect();
    await serve(vm);
    const answer = await fetch(`${origin()}${url.path}count`);
    assert.equal(answer.status, 200);
    assert.match(await answer.text(), /^\d+$/);
  });
});
