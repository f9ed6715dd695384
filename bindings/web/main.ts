/**
 * The console of one VM in the browser: its files, a shell, an agent session and its
 * processes, all through one client. `agentos serve --web-root bindings/web` serves it at
 * `/terminal/`; its parameters come from the fragment only (`#token=…&key=…`), which the
 * browser never sends to a server: `token`, optional `key` (the VM, default `default`) and
 * `url` (the host, default the page's own). A token in the query string is refused, since
 * the request line (and any log of it) carries it.
 */
import "@xterm/xterm/css/xterm.css";
import "./console.css";

import { createAgentOsClient, webSocketTransport } from "@agentos/client";

import { byId } from "./dom.js";
import { filePanel } from "./files.js";
import { processPanel } from "./processes.js";
import { sessionPanel } from "./session.js";
import { statusLine } from "./status.js";
import { createTerminal, runShell } from "./terminal.js";

const term = createTerminal(byId("terminal", HTMLDivElement));
const status = statusLine(byId("status", HTMLElement));

const params = new URLSearchParams(location.hash.slice(1));
const url = params.get("url") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
const token = params.get("token");
const key = params.get("key") ?? undefined;
if (new URLSearchParams(location.search).has("token")) {
  term.write("Token refused: use #token=TOKEN, not ?token=\r\n");
  status.error("Token refused", "use #token=TOKEN, not ?token=");
} else if (token) {
  byId("vm", HTMLElement).textContent = `VM ${key ?? "default"}`;
  const client = createAgentOsClient(webSocketTransport({ url, token, key }), {
    onError: (error) => status.error("host", error),
  });
  client.ready.catch((error: unknown) => status.error("connect", error));
  void runShell(client, term, key ?? "default");
  filePanel(client, status);
  sessionPanel(client, status);
  processPanel(client, status);
} else {
  term.write("Open this page with #token=TOKEN (and optionally &key=VM&url=ws://HOST:PORT).\r\n");
}
