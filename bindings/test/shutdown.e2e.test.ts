/**
 * A closing VM's last word. A client connected to a host when it stops gets `vmShutdown`:
 * `hostStopped` from the embedded host, then its connection closes with that reason and a
 * call still running fails as disconnected instead of hanging (the stop does not wait for
 * it); `sleep` on the Rivet Engine, where a stopping runner puts its actors to sleep to wake
 * on the next use.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { ActorError, createAgentOsClient, type VmShutdown } from "../src/index.js";
import { eventually } from "./expect.js";
import { HOST_KINDS, startTestHost } from "./host.js";

const REASON = { embedded: "hostStopped", rivet: "sleep" } as const;

for (const kind of HOST_KINDS)
  test(`clients of a stopping host get vmShutdown on ${kind}`, async () => {
    const host = await startTestHost(kind);
    const vm = createAgentOsClient(host.transport("shutdown"));
    try {
      const seen: VmShutdown[] = [];
      vm.on("vmShutdown", (event) => seen.push(event));
      await vm.exists("/");
      const running = vm.exec("sleep 60").then(
        () => assert.fail("a call still running when the host stopped answered"),
        (error: unknown) => error,
      );
      const started = Date.now();
      const stopping = host.stop();
      await eventually(() => (seen.length > 0 ? true : undefined), "vmShutdown");
      assert.deepEqual(seen, [{ reason: REASON[kind] }]);
      if (kind === "embedded") {
        const error = await running;
        assert.ok(error instanceof ActorError && error.code === "disconnected", String(error));
        assert.match(error.message, /the host is stopping/);
        await stopping;
        assert.ok(Date.now() - started < 5_000, "the stop waited for the running call");
      } else {
        // The engine keeps an actor awake while a client is connected.
        vm.close();
        await stopping;
        await running;
      }
    } finally {
      vm.close();
    }
  });
