/**
 * Filesystem change events through a real host and the generated client, on both hosts:
 * changes made by an action and by a process arrive as `fsChanged` within a second, a burst of
 * 100,000 changes is reported as an overflow while the host keeps answering, an unwatched
 * path stays quiet, and a watch cannot reach the host through a symlink.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createAgentOsClient, type AgentOsClient, type FsChanged } from "../src/index.js";
import { eventually, isError, record } from "./expect.js";
import { describeOnEachHost } from "./host.js";

describeOnEachHost("filesystem watches", {}, (host) => {
  let vm: AgentOsClient;
  before(async () => {
    vm = createAgentOsClient(host().transport("watch"));
    await vm.mkdir("/watched/sub", { recursive: true });
  });
  after(() => {
    vm?.close();
  });

  /** Waits for an event of `watchId` naming `path`, and returns how long it took. */
  async function changed(seen: FsChanged[], watchId: string, path: string, since: number): Promise<number> {
    await eventually(
      () => (seen.some((e) => e.watchId === watchId && e.paths.includes(path)) ? true : undefined),
      `fsChanged for ${path}`,
    );
    return Date.now() - since;
  }

  test("a write by an action and one by a process arrive within a second", async () => {
    const events = record(vm, "fsChanged");
    try {
      const { watchId, path } = await vm.watchFs("/watched", { recursive: true });
      assert.equal(path, "/watched");
      let start = Date.now();
      await vm.writeFile("/watched/a.txt", "by an action");
      assert.ok((await changed(events.seen, watchId, "/watched/a.txt", start)) < 1000);
      start = Date.now();
      await vm.exec("echo by a process > /watched/sub/b.txt");
      assert.ok((await changed(events.seen, watchId, "/watched/sub/b.txt", start)) < 1000);
      assert.ok(events.seen.every((e) => !e.overflow));
      await vm.unwatchFs(watchId);
      await assert.rejects(vm.unwatchFs(watchId), isError("not_found"));
    } finally {
      events.stop();
    }
  });

  test("a burst of 100,000 changes is an overflow, and the host keeps answering", async () => {
    const events = record(vm, "fsChanged");
    try {
      await vm.mkdir("/burst");
      const { watchId } = await vm.watchFs("/burst");
      const burst = vm.exec(
        "python3 -c \"import os\nfor i in range(100000): open(f'/burst/f{i}', 'w').close()\"",
        { timeout: 120_000 },
      );
      await eventually(() => (events.seen.some((e) => e.watchId === watchId && e.overflow) ? true : undefined), "an overflow", 60_000);
      const asked = Date.now();
      assert.equal(await vm.exists("/burst"), true);
      assert.ok(Date.now() - asked < 2000, "the host answered slowly during the burst");
      assert.equal((await burst).exitCode, 0);
      assert.ok(events.seen.filter((e) => e.watchId === watchId).every((e) => e.paths.length <= 1000));
      await vm.unwatchFs(watchId);
      await vm.delete("/burst", { recursive: true });
    } finally {
      events.stop();
    }
  });

  test("an unwatched path stays quiet, and watches stay inside the VM", async () => {
    const events = record(vm, "fsChanged");
    try {
      const quiet = await vm.watchFs("/watched");
      await vm.unwatchFs(quiet.watchId);
      const loud = await vm.watchFs("/watched/sub");
      await vm.writeFile("/watched/after.txt", "x");
      await vm.writeFile("/watched/sub/after.txt", "x");
      await changed(events.seen, loud.watchId, "/watched/sub/after.txt", Date.now());
      assert.deepEqual(events.seen.filter((e) => e.watchId === quiet.watchId), []);
      await vm.unwatchFs(loud.watchId);

      await vm.exec("ln -s /etc /etc-link");
      await assert.rejects(vm.watchFs("/etc-link"), isError("path_escape"));
      await assert.rejects(vm.watchFs("/no/such/dir"), isError("not_found"));
    } finally {
      events.stop();
    }
  });
});
