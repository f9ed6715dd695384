/**
 * Spawned processes through a real host and the generated client: stdin streamed while the
 * process runs, output and exit as `processOutput` / `processExit` events, signals, stop,
 * the process table and the OS processes behind it, a terminal for `pty`, and typed errors.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import {
  ActorError,
  createAgentOsClient,
  type AgentOsClient,
  type ProcessNode,
} from "../src/index.js";
import { eventually } from "./expect.js";
import { describeOnEachHost } from "./host.js";

/** One process's output, by stream, as the events deliver it. */
function outputOf(vm: AgentOsClient) {
  const chunks = new Map<string, Uint8Array[]>();
  const stop = vm.on("processOutput", ({ pid, stream, data }) => {
    assert.ok(data instanceof Uint8Array);
    const key = `${pid}:${stream}`;
    chunks.set(key, [...(chunks.get(key) ?? []), data]);
  });
  const text = (pid: number, stream: "stdout" | "stderr" = "stdout") =>
    Buffer.concat(chunks.get(`${pid}:${stream}`) ?? []).toString("utf8");
  return {
    text,
    async waitFor(pid: number, pattern: RegExp): Promise<void> {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(text(pid))) {
        if (Date.now() > deadline) assert.fail(`${pattern} never appeared in ${JSON.stringify(text(pid))}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop,
  };
}

const code = (expected: string) => (e: unknown) => e instanceof ActorError && e.code === expected;

describeOnEachHost("spawned processes", {}, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("spawn"));
  });
  after(() => {
    vm?.close();
  });

  test("a client that disconnects while a process prints 10,000 lines reads on from its cursor, every line once", async () => {
    // Another connection to the same VM, which goes away mid-output.
    const first = createAgentOsClient(host().transport("spawn"));
    const seen: Uint8Array[] = [];
    let cursor = 0;
    const stop = first.on("processOutput", ({ data, cursor: after }) => {
      seen.push(data);
      cursor = after;
    });
    // Half the lines, then a wait for /spawn-go, which the test writes once the first client
    // is gone, then the rest: the disconnect falls mid-output whatever the timing.
    const script =
      'for i in $(seq 1 5000); do echo "line $i"; done; while [ ! -e /spawn-go ]; do sleep 0.05; done; ' +
      'for i in $(seq 5001 10000); do echo "line $i"; done';
    const { pid } = await first.spawn("sh", ["-c", script]);
    await eventually(() => (seen.length > 0 ? true : undefined), "the first output");
    // What the first client has is exactly up to `cursor`: nothing arrives once it stops.
    stop();
    first.close();
    let page = await vm.readProcessOutput(pid, { after: cursor });
    assert.ok(page.running);
    await vm.writeFile("/spawn-go", "");
    for (;;) {
      for (const chunk of page.chunks) seen.push(chunk.data);
      if (!page.running && page.chunks.length === 0) break;
      if (page.chunks.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      page = await vm.readProcessOutput(pid, { after: page.next });
    }
    assert.equal(page.missed, 0);
    const lines = Buffer.concat(seen).toString("utf8").split("\n");
    assert.equal(lines.pop(), "");
    assert.deepEqual(lines, Array.from({ length: 10_000 }, (_, i) => `line ${i + 1}`));
    await vm.delete("/spawn-go");
    await assert.rejects(vm.readProcessOutput(99_999), code("not_found"));
  });

  test("stdin streams into a running process; output and exit arrive as events", async () => {
    const out = outputOf(vm);
    const exits: unknown[] = [];
    const stopExits = vm.on("processExit", (exit) => exits.push(exit));
    try {
      await vm.mkdir("/data");
      const proc = await vm.spawn("/bin/sh", ["-c", 'echo "start $NAME in $(pwd)"; cat; echo done >&2'], {
        env: { NAME: "cat" },
        cwd: "/data",
        streamStdin: true,
      });
      assert.deepEqual(proc.command, ["/bin/sh", "-c", 'echo "start $NAME in $(pwd)"; cat; echo done >&2']);
      assert.equal(proc.running, true);
      await out.waitFor(proc.pid, /start cat in \/data/);
      await vm.writeProcessStdin(proc.pid, "first line\n");
      await out.waitFor(proc.pid, /first line/);
      await vm.writeProcessStdin(proc.pid, new TextEncoder().encode("second 'quoted' line\n"));
      await out.waitFor(proc.pid, /second 'quoted' line/);
      await vm.closeProcessStdin(proc.pid);
      const exit = await vm.waitProcess(proc.pid);
      assert.equal(exit.exitCode, 0);
      assert.equal(out.text(proc.pid, "stderr"), "done\n");
      await assert.rejects(vm.writeProcessStdin(proc.pid, "late\n"), (e: unknown) => e instanceof ActorError);
      const deadline = Date.now() + 5_000;
      while (exits.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual(exits, [exit]);
      assert.equal((await vm.getProcess(proc.pid)).running, false);
    } finally {
      out.stop();
      stopExits();
    }
  });

  test("killProcess delivers the named signal; stopProcess ends the process", async () => {
    const killed = await vm.spawn("/bin/sleep", ["60"]);
    await vm.killProcess(killed.pid, "SIGKILL");
    assert.equal((await vm.waitProcess(killed.pid)).signal, "SIGKILL");

    const stopped = await vm.spawn("/bin/sleep", ["60"]);
    const end = await vm.stopProcess(stopped.pid);
    assert.equal(end.signal, "SIGTERM");
    await assert.rejects(vm.killProcess(stopped.pid, "SIGBOGUS"), code("invalid_input"));
  });

  test("the table and the OS processes behind it", async () => {
    const parent = await vm.spawn("/bin/sh", ["-c", "sleep 30 & sleep 31; wait"]);
    try {
      const listed = await vm.listProcesses();
      assert.ok(listed.some((p) => p.pid === parent.pid && p.running));
      const deadline = Date.now() + 5_000;
      let sleeps: string[] = [];
      while (sleeps.length < 2 && Date.now() < deadline) {
        const all = await vm.allProcesses();
        sleeps = all.filter((p) => p.pid === parent.pid && p.command[0] === "sleep").map((p) => p.command[1]!);
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.deepEqual(sleeps.sort(), ["30", "31"]);
      const tree = await vm.processTree();
      const root = tree.find((node) => node.process.pid === parent.pid);
      assert.ok(root, "the spawned process is a root of the tree");
      const names = (node: ProcessNode): string[] => [node.process.command[0] ?? "", ...node.children.flatMap(names)];
      assert.deepEqual(names(root).filter((n) => n === "sleep").length, 2);
    } finally {
      await vm.killProcess(parent.pid, "SIGKILL");
      await vm.waitProcess(parent.pid);
    }
  });

  test("a pty process sees a terminal of the given size", async () => {
    const out = outputOf(vm);
    try {
      const proc = await vm.spawn("/bin/sh", ["-c", "test -t 0 && stty size"], { pty: { cols: 77, rows: 11 } });
      assert.equal(proc.pty, true);
      assert.equal((await vm.waitProcess(proc.pid)).exitCode, 0);
      assert.match(out.text(proc.pid), /11 77/);
    } finally {
      out.stop();
    }
  });

  test("a timeout kills the process tree and reports it", async () => {
    const proc = await vm.spawn("/bin/sh", ["-c", "(sleep 60; echo late) & sleep 60"], { timeout: 300 });
    const exit = await vm.waitProcess(proc.pid);
    assert.equal(exit.timedOut, true);
    assert.equal(exit.signal, "SIGKILL");
  });

  test("unknown pids are not found and the connection keeps working", async () => {
    await assert.rejects(vm.waitProcess(999_999), code("not_found"));
    await assert.rejects(vm.getProcess(999_999), code("not_found"));
    await assert.rejects(vm.spawn("/bin/true", [], { cwd: "/../etc" }), code("path_escape"));
    assert.ok(Array.isArray(await vm.listProcesses()));
  });
});
