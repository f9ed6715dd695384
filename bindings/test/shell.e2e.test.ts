/**
 * Shells on real PTYs through a real host and the generated client: output as `shellData`
 * bytes, the terminal size as `stty` sees it before and after `resizeShell`, the exit as one
 * `shellExit` and from `waitShell`, and clear errors for shells that do not exist.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { ActorError, attachTerminal, createAgentOsClient, nodeTerminal, type AgentOsClient } from "../src/index.js";
import { describeOnEachHost } from "./host.js";
import { ScreenStream, keyboard } from "./terminal-streams.js";

/** Collects one shell's output as text and waits for a pattern to appear in it. */
function screen(vm: AgentOsClient) {
  const chunks: Uint8Array[] = [];
  let shellId: string | undefined;
  const stop = vm.on("shellData", (event) => {
    assert.ok(event.data instanceof Uint8Array);
    if (shellId === undefined || event.shellId === shellId) chunks.push(event.data);
  });
  const text = () => Buffer.concat(chunks).toString("utf8");
  return {
    follow(id: string) {
      shellId = id;
    },
    text,
    async waitFor(pattern: RegExp): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(text())) {
        if (Date.now() > deadline) assert.fail(`${pattern} never appeared in ${JSON.stringify(text())}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop,
  };
}

describeOnEachHost("shells", {}, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("shells"));
  });
  after(() => {
    vm?.close();
  });

  test("stty size follows resizeShell, and the exit arrives once", async () => {
    await vm.mkdir("/home/dev", { recursive: true });
    const out = screen(vm);
    const exits: unknown[] = [];
    const stopExits = vm.on("shellExit", (exit) => exits.push(exit));
    try {
      const shell = await vm.openShell({ cwd: "/home/dev", env: { PS1: "$ ", WHO: "dev" }, cols: 90, rows: 30 });
      out.follow(shell.shellId);
      assert.deepEqual(
        { cols: shell.cols, rows: shell.rows, command: shell.command },
        { cols: 90, rows: 30, command: ["/bin/sh"] },
      );
      assert.deepEqual(
        (await vm.listShells()).map((s) => s.shellId),
        [shell.shellId],
      );

      await vm.writeShell(shell.shellId, 'stty size; echo "$WHO in $(pwd) as $TERM"\r');
      await out.waitFor(/30 90/);
      await out.waitFor(/dev in \/home\/dev as xterm-256color/);

      await vm.resizeShell(shell.shellId, 120, 50);
      assert.deepEqual(
        (await vm.listShells()).map(({ cols, rows }) => ({ cols, rows })),
        [{ cols: 120, rows: 50 }],
      );
      await vm.writeShell(shell.shellId, new TextEncoder().encode("stty size\r"));
      await out.waitFor(/50 120/);

      await vm.writeShell(shell.shellId, "exit 4\r");
      assert.deepEqual(await vm.waitShell(shell.shellId), { shellId: shell.shellId, exitCode: 4, signal: null });
      assert.deepEqual(await vm.listShells(), []);
      // The event may trail the answer to waitShell by a moment.
      const deadline = Date.now() + 5_000;
      while (exits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(exits, [{ shellId: shell.shellId, exitCode: 4, signal: null }]);
    } finally {
      out.stop();
      stopExits();
    }
  });

  test("closeShell hangs up a running program", async () => {
    const shell = await vm.openShell({ command: "/bin/sleep", args: ["60"] });
    await vm.closeShell(shell.shellId);
    const end = await vm.waitShell(shell.shellId);
    assert.equal(end.exitCode, null);
    assert.equal(end.signal, "SIGHUP");
  });

  test("unknown shells and empty sizes are refused, and the connection keeps working", async () => {
    await assert.rejects(vm.writeShell("sh999", "x"), (e: unknown) => e instanceof ActorError && e.code === "not_found");
    await assert.rejects(vm.waitShell("sh999"), (e: unknown) => e instanceof ActorError && e.code === "not_found");
    await assert.rejects(
      vm.openShell({ cols: 0, rows: 10 }),
      (e: unknown) => e instanceof ActorError && e.code === "invalid_input",
    );
    await assert.rejects(
      vm.openShell({ cwd: "/../etc" }),
      (e: unknown) => e instanceof ActorError && e.code === "path_escape",
    );
    assert.deepEqual(await vm.listShells(), []);
  });

  test("a terminal that attaches to a running shell shows its recent output, then goes on without a repeat", async () => {
    const shell = await vm.openShell({ cols: 80, rows: 24 });
    const out = screen(vm);
    out.follow(shell.shellId);
    await vm.writeShell(shell.shellId, "echo before-$((1+1))\r");
    await out.waitFor(/before-2/);
    out.stop();
    // Another connection, as a page reloaded in a browser would be.
    const other = createAgentOsClient(host().transport("shells"));
    const view = new ScreenStream(80, 24);
    const terminal = nodeTerminal(keyboard(), view);
    const done = attachTerminal(other, shell.shellId, terminal);
    await view.waitFor(/before-2/);
    await other.writeShell(shell.shellId, "echo after-$((2+2))\r");
    await view.waitFor(/after-4/);
    // Shown once: the typed line reads `before-$((1+1))`, the output `before-2`.
    assert.equal(view.text().match(/before-2/g)?.length, 1, view.text());
    await vm.writeShell(shell.shellId, "exit 0\r");
    assert.deepEqual(await done, { exitCode: 0, signal: null });
    terminal.restore();
    other.close();
  });
});
