/**
 * Processes through a real host and the generated client, under bubblewrap: every exec
 * option, timeouts that kill a whole tree, argv passed untouched, callbacks kept apart per
 * call, and what the sandbox lets a process see.
 */
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";

import { ActorError, createAgentOsClient, type AgentOsClient } from "../src/index.js";
import { describeOnEachHost } from "./host.js";

const text = (chunks: Uint8Array[]): string => Buffer.concat(chunks).toString("utf8");

describeOnEachHost("processes in the sandbox", {}, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("processes"));
  });
  after(() => {
    vm?.close();
  });

  test("the host reports bubblewrap, without network", async () => {
    const info = await vm.sandboxInfo();
    assert.equal(info.mode, "bubblewrap");
    assert.equal(info.available, true);
    assert.equal(info.network, false);
    assert.match(info.version ?? "", /bubblewrap/);
    // The host's defaults, in a cgroup of the VM's own (v1 hierarchies on this machine).
    assert.deepEqual(info.limits, { pidsMax: 1024, memoryMaxMib: 2048, cpuWeight: 100 }, info.limitsUnavailable);
  });

  test("exec honours env, cwd, stdin as text or bytes, exit codes and stderr", async () => {
    await vm.mkdir("/work");
    const r = await vm.exec('pwd; echo "$GREETING"; cat', {
      cwd: "/work",
      env: { GREETING: "hi there" },
      stdin: "from stdin",
    });
    assert.deepEqual([r.exitCode, r.signal, r.timedOut], [0, null, false]);
    assert.equal(r.stdout, "/work\nhi there\nfrom stdin");
    const bytes = await vm.exec("od -An -tx1", { stdin: new Uint8Array([0, 255, 10]) });
    assert.equal(bytes.stdout.trim(), "00 ff 0a");
    const failed = await vm.exec("echo oops >&2; exit 7");
    assert.deepEqual([failed.exitCode, failed.stderr, failed.stdout], [7, "oops\n", ""]);
  });

  test("a timeout kills the whole tree, a grandchild holding stdout included, and returns", async () => {
    const started = Date.now();
    const r = await vm.exec("sh -c 'sleep 30; echo late' & echo started; wait", { timeout: 500 });
    const took = Date.now() - started;
    assert.equal(r.timedOut, true);
    assert.equal(r.stdout, "started\n");
    assert.ok(took < 5_000, `returned after ${took} ms`);
  });

  test("execArgv passes arguments with spaces and quotes untouched", async () => {
    const args = ["a b", `c'd"e`, "$HOME", "*", ""];
    const r = await vm.execArgv(["printf", "[%s]", ...args]);
    assert.equal(r.stdout, args.map((a) => `[${a}]`).join(""));
  });

  test("two concurrent execs each receive only their own output", async () => {
    const chunks: Record<string, Uint8Array[]> = { a: [], b: [] };
    const script = (tag: string) => `for i in 1 2 3 4 5; do echo ${tag}$i; sleep 0.02; done`;
    const [a, b] = await Promise.all(
      (["a", "b"] as const).map((tag) => vm.exec(script(tag), { onStdout: (data) => chunks[tag]!.push(data) })),
    );
    assert.equal(text(chunks.a!), "a1\na2\na3\na4\na5\n");
    assert.equal(text(chunks.b!), "b1\nb2\nb3\nb4\nb5\n");
    assert.equal(a!.stdout, text(chunks.a!));
    assert.equal(b!.stdout, text(chunks.b!));
  });

  test("output beyond maxOutputBytes is flagged; callbacks still get all of it", async () => {
    let streamed = 0;
    const r = await vm.exec("yes | head -c 100000", {
      maxOutputBytes: 1000,
      onStdout: (data) => void (streamed += data.byteLength),
    });
    assert.equal(r.stdout.length, 1000);
    assert.equal(r.stdoutTruncated, true);
    assert.equal(streamed, 100_000);
  });

  test("a process sees the VM's files and mounts, and nothing of the host", async () => {
    await vm.writeFile("/hello.txt", "written through writeFile");
    assert.equal((await vm.exec("cat /hello.txt")).stdout, "written through writeFile");

    await vm.mountFs("/mnt/mem", { type: "memory" });
    await vm.writeFile("/mnt/mem/in.txt", "in the mount");
    assert.equal((await vm.exec("cat /mnt/mem/in.txt")).stdout, "in the mount");
    assert.equal((await vm.exec("echo out > /mnt/mem/out.txt")).exitCode, 0);
    assert.equal(await vm.readTextFile("/mnt/mem/out.txt"), "out\n");

    await vm.mountFs("/mnt/ro", { type: "memory" }, { readOnly: true });
    assert.notEqual((await vm.exec("touch /mnt/ro/nope")).exitCode, 0);

    const secretDir = mkdtempSync(join(tmpdir(), "agentos-secret-"));
    const secret = join(secretDir, "secret.txt");
    writeFileSync(secret, "host secret");
    try {
      for (const path of [secret, "/root", host().dataDir]) {
        const r = await vm.execArgv(["cat", path]);
        assert.notEqual(r.exitCode, 0, `${path} is visible`);
        assert.doesNotMatch(r.stdout, /host secret/);
      }
      // The VM's own /etc, not the host's.
      assert.equal((await vm.execArgv(["cat", "/etc/hostname"])).stdout, "agentos\n");
      assert.equal(await vm.readTextFile("/etc/hostname"), "agentos\n");
    } finally {
      rmSync(secretDir, { recursive: true, force: true });
    }
  });

  test("the network is unreachable by default", async () => {
    let connections = 0;
    const server = createServer((socket) => {
      connections++;
      socket.end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    try {
      const r = await vm.execArgv(["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && echo connected`]);
      assert.notEqual(r.exitCode, 0);
      assert.doesNotMatch(r.stdout, /connected/);
      assert.equal(connections, 0);
    } finally {
      server.close();
    }
  });

  test("host directories the host does not allow are refused, its data directory always", async () => {
    for (const path of ["/", "/etc", host().dataDir]) {
      await assert.rejects(
        vm.mountFs("/mnt/host", { type: "hostDir", path }),
        (e: unknown) => e instanceof ActorError && e.code === "invalid_input" && e.message.includes(`\`${path}\``),
      );
      await assert.rejects(
        vm.mountFs("/mnt/host", { type: "overlay", lower: path }),
        (e: unknown) => e instanceof ActorError && e.code === "invalid_input",
      );
    }
    assert.equal(await vm.exists("/mnt/host"), false);
  });

  test("processes see an overlay mount as actions do: writes and deletions both ways, the lower untouched", async () => {
    const lower = mkdtempSync(join(tmpdir(), "agentos-lower-"));
    try {
      // The VM's host user reads the lower directory.
      chmodSync(lower, 0o755);
      writeFileSync(join(lower, "a.txt"), "lower a");
      writeFileSync(join(lower, "b.txt"), "lower b");
      await vm.mountFs("/mnt/over", { type: "overlay", lower });
      await vm.writeFile("/mnt/over/new.txt", "by an action");
      await vm.delete("/mnt/over/a.txt");
      const seen = await vm.exec("ls /mnt/over && cat /mnt/over/new.txt && rm /mnt/over/b.txt");
      assert.equal(seen.stdout, "b.txt\nnew.txt\nby an action");
      assert.equal(await vm.exists("/mnt/over/b.txt"), false);
      assert.deepEqual(readdirSync(lower).sort(), ["a.txt", "b.txt"]);
      await vm.unmountFs("/mnt/over");
    } finally {
      rmSync(lower, { recursive: true, force: true });
    }
  });
});
