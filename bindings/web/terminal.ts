/**
 * The terminal panel: xterm.js, sized to its panel, running a shell of the VM. The terminal
 * is `window.term` and how the shell ended is `window.shellEnd` once it has, for tests.
 */
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

import { type AgentOsClient, type ShellEnd, connectTerminal, xtermTerminal } from "@agentos/client";

declare global {
  interface Window {
    term: Terminal;
    shellEnd?: ShellEnd | { error: string };
  }
}

/** Opens the terminal in `container`; it follows the container's size (the shell's too). */
export function createTerminal(container: HTMLElement): Terminal {
  const term = new Terminal({ cursorBlink: true });
  const fit = new FitAddon();
  term.loadAddon(fit);
  term.open(container);
  fit.fit();
  // The panel changes size with the window and the layout, not only on `resize`.
  new ResizeObserver(() => fit.fit()).observe(container);
  window.term = term;
  term.focus();
  return term;
}

/** Runs a shell in `term` until it ends; the client stays open for the other panels. */
export async function runShell(client: AgentOsClient, term: Terminal): Promise<void> {
  try {
    const end = await connectTerminal(client, xtermTerminal(term));
    window.shellEnd = end;
    term.write(`\r\n[shell exited: ${end.signal ?? `code ${end.exitCode}`}]\r\n`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    window.shellEnd = { error: message };
    term.write(`\r\n[${message}]\r\n`);
  }
}
