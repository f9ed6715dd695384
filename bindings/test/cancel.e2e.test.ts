/**
 * Cancelling calls with an `AbortSignal`, through a real host and the generated client, on
 * both hosts: an aborted `exec("sleep …")` rejects within a second with an `AbortError` and
 * leaves no process behind; an aborted `prompt` makes the agent get ACP `session/cancel`; a
 * signal aborted before the call sends nothing; the connection keeps working.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";

import { AbortError, createAgentOsClient, type AgentOsClient, type AgentStderr } from "../src/index.js";
import { eventually } from "./expect.js";
import { describeOnEachHost } from "./host.js";

/** Whether a process whose command line holds `marker` runs anywhere on this machine. */
function running(marker: string): boolean {
  try {
    execFileSync("pgrep", ["-f", marker]);
    return true;
  } catch {
    return false;
  }
}

describeOnEachHost("cancelling calls", {}, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("cancel"));
  });
  after(() => {
    vm?.close();
  });

  test("an aborted exec rejects within a second and leaves no process behind", async () => {
    const marker = `sleep 100.${process.pid}${Date.now() % 100_000}`;
    const controller = new AbortController();
    const call = vm.exec(marker, { signal: controller.signal }).then(
      () => assert.fail("an aborted exec answered"),
      (error: unknown) => error,
    );
    await eventually(() => (running(marker) ? true : undefined), "the sleep to start");
    const started = Date.now();
    controller.abort(new Error("the user gave up"));
    const error = await call;
    assert.ok(Date.now() - started < 1_000, "the call waited for the host");
    assert.ok(error instanceof AbortError, String(error));
    assert.equal(error.name, "AbortError");
    assert.equal(error.code, "aborted");
    assert.equal((error.cause as Error).message, "the user gave up");
    await eventually(() => (running(marker) ? undefined : true), "the sleep to be killed", 5_000);
    assert.equal((await vm.exec("echo still here")).stdout, "still here\n");
  });

  test("an aborted prompt cancels the agent's turn", async () => {
    const { sessionId } = await vm.createSession("builtin");
    const stderr: AgentStderr[] = [];
    const stop = vm.on("agentStderr", (line) => stderr.push(line));
    try {
      const controller = new AbortController();
      const turn = vm.prompt(sessionId, "block", { signal: controller.signal });
      await eventually(
        async () => ((await vm.getSessionEvents(sessionId)).length > 0 ? true : undefined),
        "the turn to start",
      );
      controller.abort();
      await assert.rejects(turn, (e: unknown) => e instanceof AbortError);
      await eventually(
        () => (stderr.some((l) => l.sessionId === sessionId && l.line === "test-agent: session/cancel") ? true : undefined),
        "the agent's report of session/cancel",
      );
      assert.match((await vm.prompt(sessionId, "hello")).text, /echo: [^]*hello$/);
    } finally {
      stop();
      await vm.closeSession(sessionId);
    }
  });

  test("a signal aborted before the call sends nothing", async () => {
    const controller = new AbortController();
    controller.abort();
    const marker = `/aborted-${Date.now()}`;
    await assert.rejects(vm.mkdir(marker, { recursive: true, signal: controller.signal }), AbortError);
    await assert.rejects(vm.writeFile(marker, "x", { signal: controller.signal }), AbortError);
    assert.equal(await vm.exists(marker), false);
  });
});
