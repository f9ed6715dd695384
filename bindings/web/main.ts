/**
 * The browser terminal page: an xterm.js terminal filling the window, connected to a shell in
 * a VM. `agentos serve --web-root bindings/web` serves it at `/terminal/`; its parameters come
 * from the fragment only (`#token=…&key=…`), which the browser never sends to a server: `token`,
 * optional `key` (the VM, default `default`) and `url` (the host, default the page's own). A
 * token in the query string is refused, since the request line (and any log of it) carries it.
 * The terminal is `window.term`; how the shell ended is `window.shellEnd` once it has.
 */
import "@xterm/xterm/css/xterm.css";
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

import { type ShellEnd, connectTerminal, createAgentOsClient, webSocketTransport, xtermTerminal } from "@agentos/client";

declare global {
  interface Window {
    term: Terminal;
    shellEnd?: ShellEnd | { error: string };
  }
}

const term = new Terminal({ cursorBlink: true });
const fit = new FitAddon();
term.loadAddon(fit);
term.open(document.getElementById("terminal")!);
fit.fit();
addEventListener("resize", () => fit.fit());
window.term = term;
term.focus();

const params = new URLSearchParams(location.hash.slice(1));
const url = params.get("url") ?? `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`;
const token = params.get("token");
if (new URLSearchParams(location.search).has("token"))
  term.write("Token refused: use #token=TOKEN, not ?token=\r\n");
else if (token) void run(url, token, params.get("key") ?? undefined);
else term.write("Open this page with #token=TOKEN (and optionally &key=VM&url=ws://HOST:PORT).\r\n");

async function run(url: string, token: string, key: string | undefined): Promise<void> {
  const client = createAgentOsClient(webSocketTransport({ url, token, key }), {
    onError: (error) => console.error(error),
  });
  try {
    const end = await connectTerminal(client, xtermTerminal(term));
    window.shellEnd = end;
    term.write(`\r\n[shell exited: ${end.signal ?? `code ${end.exitCode}`}]\r\n`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    window.shellEnd = { error: message };
    term.write(`\r\n[${message}]\r\n`);
  } finally {
    client.close();
  }
}
