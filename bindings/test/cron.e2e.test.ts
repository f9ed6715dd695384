/**
 * Cron through a real host and the generated client, on the host's real clock: an `event`
 * job reaching a subscriber, `exec` and `session` jobs running in the VM, typed errors for
 * bad schedules, over both hosts; and jobs listed again with their next run after an
 * embedded host restart (on an engine, restarts are the engine's business). The
 * scheduler's firing instants and overlap policies are pinned on a manual clock in
 * `core/vm/tests/cron.rs`.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import {
  createAgentOsClient,
  webSocketTransport,
  type AgentOsClient,
  type CronEvent,
  type JsonValue,
} from "../src/index.js";
import { eventually, isError, record } from "./expect.js";
import { describeOnEachHost, startHost, TEST_AGENT } from "./host.js";

/** An ISO instant `ms` from now. */
function inMs(ms: number): string {
  return new Date(Date.now() + ms).toISOString();
}

/** The `complete` (or `error`) event of a job's first run. */
function ended(events: CronEvent[], jobId: string): CronEvent | undefined {
  return events.find((e) => e.jobId === jobId && (e.kind === "complete" || e.kind === "error"));
}

describeOnEachHost("cron", { args: ["--agent", `test=${TEST_AGENT}`] }, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("cron"));
  });
  after(() => {
    vm?.close();
  });

  test("an event job raises scheduledEvent for a subscriber, with cronEvent fire and complete", async () => {
    const scheduled = record(vm, "scheduledEvent");
    const cron = record(vm, "cronEvent");
    const payload: JsonValue = { hello: "world", n: [1, 2] };
    const { id } = await vm.scheduleCron({
      schedule: "* * * * * *",
      action: { type: "event", name: "ping", payload },
    });
    assert.match(id, /^cron-[0-9a-f]{16}$/);
    await eventually(() => (scheduled.seen.length >= 2 ? true : undefined), "two scheduled events");
    await vm.cancelCronJob(id);
    scheduled.stop();
    cron.stop();
    for (const event of scheduled.seen.slice(0, 2)) assert.deepEqual(event, { jobId: id, name: "ping", payload });
    const runs = cron.seen.filter((e) => e.jobId === id);
    assert.deepEqual(
      runs.slice(0, 4).map((e) => [e.kind, e.run]),
      [
        ["fire", 1],
        ["complete", 1],
        ["fire", 2],
        ["complete", 2],
      ],
    );
    assert.ok(Date.parse(runs[2]!.scheduledAt) - Date.parse(runs[0]!.scheduledAt) >= 1000);
    assert.deepEqual(await vm.listCronJobs(), []);
  });

  test("exec and session jobs run in the VM and their results arrive on cronEvent", async () => {
    const cron = record(vm, "cronEvent");
    const exec = await vm.scheduleCron({
      id: "write",
      schedule: inMs(300),
      action: { type: "exec", command: "echo from cron > /cron.txt; cat /cron.txt" },
    });
    const argv = await vm.scheduleCron({
      id: "argv",
      schedule: inMs(300),
      action: { type: "exec", command: "/bin/echo", args: ["a b", "$HOME"] },
    });
    const session = await vm.scheduleCron({
      id: "ask",
      schedule: inMs(300),
      action: { type: "session", agentType: "test", prompt: "hello from cron", options: { skipOsInstructions: true } },
    });
    const listed = await vm.listCronJobs();
    assert.deepEqual(
      listed.map((j) => [j.id, j.overlap, j.timezone, j.runCount, j.nextRun !== null]),
      [
        ["argv", "allow", "UTC", 0, true],
        ["ask", "allow", "UTC", 0, true],
        ["write", "allow", "UTC", 0, true],
      ],
    );
    const result = async (jobId: string) => {
      const event = await eventually(() => ended(cron.seen, jobId), `${jobId} to end`, 20_000);
      assert.equal(event.kind, "complete", event.error ?? "");
      return event.result as Record<string, JsonValue>;
    };
    assert.equal((await result(exec.id)).stdout, "from cron\n");
    assert.equal(await vm.readTextFile("/cron.txt"), "from cron\n");
    assert.equal((await result(argv.id)).stdout, "a b $HOME\n");
    assert.deepEqual(await result(session.id), { stopReason: "end_turn", text: "echo: hello from cron" });
    cron.stop();
    // One-shot jobs are gone once they have run, and so is the cron session.
    assert.deepEqual(await vm.listCronJobs(), []);
    assert.deepEqual(await vm.listSessions(), []);
  });

  test("a run that fails reports error with the reason", async () => {
    const cron = record(vm, "cronEvent");
    await vm.scheduleCron({
      id: "broken",
      schedule: inMs(200),
      action: { type: "session", agentType: "no-such-agent", prompt: "hi" },
    });
    const event = await eventually(() => ended(cron.seen, "broken"), "the failed run");
    cron.stop();
    assert.equal(event.kind, "error");
    assert.match(event.error!, /no-such-agent/);
  });

  test("bad schedules and unknown jobs are typed errors", async () => {
    const action = { type: "event", name: "x" } as const;
    await assert.rejects(vm.scheduleCron({ schedule: "every minute", action }), isError("invalid_input"));
    await assert.rejects(vm.scheduleCron({ schedule: "61 * * * *", action }), isError("invalid_input"));
    await assert.rejects(vm.scheduleCron({ schedule: "2001-01-01T00:00:00Z", action }), isError("invalid_input"));
    await assert.rejects(
      vm.scheduleCron({ schedule: "* * * * *", action, timezone: "Atlantis/Capital" }),
      isError("invalid_input"),
    );
    await assert.rejects(vm.cancelCronJob("nope"), isError("not_found"));
    assert.deepEqual(await vm.listCronJobs(), []);
  });
});

describe("cron jobs across an embedded host restart", () => {
  test("they are listed again with their next run", async () => {
    let host = await startHost(["--agent", `test=${TEST_AGENT}`]);
    const connect = () => createAgentOsClient(webSocketTransport({ url: host.url, token: host.token, key: "cron" }));
    let vm = connect();
    await vm.scheduleCron({
      id: "new-year",
      schedule: "0 0 1 1 *",
      timezone: "Europe/Paris",
      overlap: "queue",
      action: { type: "exec", command: "echo happy" },
    });
    const [before] = await vm.listCronJobs();
    const nextYear = new Date().getUTCFullYear() + 1;
    assert.equal(before!.nextRun, `${nextYear - 1}-12-31T23:00:00.000Z`);

    vm.close();
    await host.stop({ keepData: true });
    host = await startHost(["--agent", `test=${TEST_AGENT}`], host.dataDir);
    vm = connect();
    try {
      assert.deepEqual(await vm.listCronJobs(), [before]);
    } finally {
      vm.close();
      await host.stop();
    }
  });
});
