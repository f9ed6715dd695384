/**
 * The terminal panel: xterm.js, sized to its panel, running a shell of the VM. The shell
 * outlives the page: its id is kept in the tab's session storage, so a reload attaches to it
 * again and shows its recent screen (`attachTerminal` replays the shell's output log) instead
 * of starting another. The terminal is `window.term` and how the shell ended is
 * `window.shellEnd` once it has, for tests.
 */
import { FitAddon } from "@xterm/addon-fit";
import { Terminal } from "@xterm/xterm";

import { type AgentOsClient, type ShellEnd, attachTerminal, xtermTerminal } from "@agentos/client";

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

/**
 * Runs the VM's shell for this tab in `term` until it ends: the one a previous load of the
 * page opened, while it runs, or a new one. The client stays open for the other panels.
 */
export async function runShell(client: AgentOsClient, term: Terminal, key: string): Promise<void> {
  const slot = `agentos-shell:${key}`;
  try {
    const kept = sessionStorage.getItem(slot);
    const running = kept !== null && (await client.listShells()).some((shell) => shell.shellId === kept);
    const shellId = running ? kept : (await client.openShell({ cols: term.cols, rows: term.rows })).shellId;
    sessionStorage.setItem(slot, shellId);
    const end = await attachTerminal(client, shellId, xtermTerminal(term));
    sessionStorage.removeItem(slot);
    window.shellEnd = end;
    term.write(`\r\n[shell exited: ${end.signal ?? `code ${end.exitCode}`}]\r\n`);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    window.shellEnd = { error: message };
    term.write(`\r\n[${message}]\r\n`);
  }
}
