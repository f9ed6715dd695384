/**
 * Who receives an event, on both hosts: what a call raises (a callback parameter's values, such
 * as `exec`'s output or a snapshot's chunks) goes only to the connection that made the call;
 * actor-wide events (`processExit`) go to every connection subscribed to them.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { createAgentOsClient, type AgentOsClient } from "../src/index.js";
import { eventually, record } from "./expect.js";
import { describeOnEachHost } from "./host.js";

describeOnEachHost("events and connections", {}, (host) => {
  let a: AgentOsClient;
  let b: AgentOsClient;
  before(async () => {
    // One after the other: the first connection creates the actor.
    a = createAgentOsClient(host().transport("events"));
    await a.ready;
    b = createAgentOsClient(host().transport("events"));
    await b.ready;
  });
  after(() => {
    a?.close();
    b?.close();
  });

  test("a call's events reach only its caller; actor-wide events reach every subscriber", async () => {
    const others = [record(b, "processStdout"), record(b, "snapshotChunk")];
    const exits = record(b, "processExit");
    // A round trip on B after subscribing: its subscriptions are in place before A calls.
    await b.exists("/");

    let stdout = 0;
    let chunks = 0;
    const result = await a.exec("echo to the caller", { onStdout: (data) => void (stdout += data.byteLength) });
    assert.equal(result.exitCode, 0);
    await a.snapshotRootFilesystem({ onSnapshotChunk: () => void chunks++ });
    assert.ok(stdout > 0 && chunks > 0, `the caller's own callbacks ran (${stdout} bytes, ${chunks} chunks)`);

    const proc = await a.spawn("/bin/true", []);
    await a.waitProcess(proc.pid);
    await eventually(() => (exits.seen.some((e) => e.pid === proc.pid) ? true : undefined), "B sees A's process exit");
    assert.deepEqual(
      others.map((o) => o.seen.length),
      [0, 0],
      "B received events raised by A's calls",
    );
    for (const o of [...others, exits]) o.stop();
  });
});
