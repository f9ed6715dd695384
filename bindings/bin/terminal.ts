#!/usr/bin/env node
/**
 * Opens a shell of an agentOS VM in this terminal and exits with the shell's exit code:
 *
 *   agentos-terminal --url ws://127.0.0.1:PORT --token TOKEN [--key VM] [-- COMMAND ARGS…]
 *
 * `--url` and `--token` default to AGENTOS_URL and AGENTOS_TOKEN. A shell killed by a signal
 * exits with 128 + the signal's number, as shells report it.
 */
import { constants } from "node:os";
import { parseArgs } from "node:util";

import { connectTerminal, createAgentOsClient, nodeTerminal, webSocketTransport } from "../src/index.js";

const usage = "usage: agentos-terminal --url URL --token TOKEN [--key VM] [-- COMMAND ARGS…]";

const { values, positionals } = parseArgs({
  options: {
    url: { type: "string", default: process.env.AGENTOS_URL },
    token: { type: "string", default: process.env.AGENTOS_TOKEN },
    key: { type: "string" },
    help: { type: "boolean", short: "h" },
  },
  allowPositionals: true,
});
if (values.help || !values.url || !values.token) {
  // Asked for, the usage is the answer (stdout); otherwise it explains the refusal (stderr).
  (values.help ? console.log : console.error)(usage);
  process.exit(values.help ? 0 : 2);
}

const client = createAgentOsClient(webSocketTransport({ url: values.url, token: values.token, key: values.key }));
const terminal = nodeTerminal();
const [command, ...args] = positionals;
const outcome = await connectTerminal(client, terminal, command === undefined ? {} : { command, args }).then(
  (end) => ({ end }),
  (error: unknown) => ({ error }),
);
terminal.restore();
client.close();
if ("end" in outcome) {
  const { exitCode, signal } = outcome.end;
  const number = signal === null ? undefined : constants.signals[signal as keyof typeof constants.signals];
  process.exitCode = exitCode ?? 128 + (number ?? 0);
} else {
  const { error } = outcome;
  console.error(`agentos-terminal: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
