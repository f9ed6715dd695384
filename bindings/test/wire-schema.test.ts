/**
 * `contract.schema.json` against payloads made by hand: what the host accepts and answers
 * validates, and a payload of the wrong shape does not. (Every payload of a whole end-to-end
 * run is checked by `test/wire-check.ts`, which `scripts/test.sh` runs after the suites.)
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import { contract } from "../src/generated/contract.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { checkWire, validators } from "./wire.js";

const definition = validators().get(contract.hash)!;

function valid(name: string, value: unknown): boolean {
  const validate = definition(name);
  assert.ok(validate, `no definition ${name}`);
  return validate(value);
}

test("arguments: required, optional, absent and wrong", () => {
  assert.ok(valid("action:mountFs:args", ["/m", { type: "memory" }]));
  assert.ok(valid("action:mountFs:args", ["/m", { type: "hostDir", path: "/srv" }, null]));
  assert.ok(valid("action:mountFs:args", ["/m", { type: "memory" }, ["$Undefined", 0]]));
  assert.ok(!valid("action:mountFs:args", ["/m"]), "a missing required argument");
  assert.ok(!valid("action:mountFs:args", ["/m", { type: "nope" }]), "an unknown driver");
  assert.ok(!valid("action:mountFs:args", ["/m", { type: "memory" }, {}, "extra"]), "too many");
  assert.ok(valid("action:writeFile:args", ["/f", ["$Uint8Array", "AAE="]]));
  assert.ok(!valid("action:writeFile:args", ["/f", 42]));
});

test("results and events: fields, literals and bytes", () => {
  const stat = { kind: "file", size: 1, mode: 420, modifiedMs: 0.5, readOnly: false };
  assert.ok(valid("action:stat:result", stat));
  assert.ok(!valid("action:stat:result", { ...stat, kind: "socket" }), "a kind that is not one");
  assert.ok(!valid("action:stat:result", { ...stat, extra: 1 }), "a field the type does not have");
  const { size: _size, ...sizeless } = stat;
  assert.ok(!valid("action:stat:result", sizeless), "a missing field");
  assert.ok(valid("event:shellData", { shellId: "s1", data: ["$Uint8Array", "aGk="], cursor: 2 }));
  assert.ok(!valid("event:shellData", { shellId: "s1", data: "hi", cursor: 2 }), "text where bytes belong");
  assert.ok(valid("event:vmShutdown", { reason: "hostStopped" }));
  assert.ok(!valid("event:vmShutdown", { reason: "crashed" }), "a reason that is not one");
});

test("a wire log: wrong payloads are violations, and so are wrong arguments the host accepted", async () => {
  const frame = (from: string, tag: string, val: unknown) => JSON.stringify({ conn: "c", from, frame: { body: { tag, val } } });
  const lines = [
    frame("server", "Init", { contractHash: contract.hash }),
    frame("client", "ActionRequest", { id: 1, name: "exists", args: ["/"] }),
    frame("server", "ActionResponse", { id: 1, output: true }),
    frame("client", "ActionRequest", { id: 2, name: "exists", args: [42] }),
    frame("server", "Error", { actionId: 2, group: "agentos", code: "invalid_input", message: "no" }),
    frame("client", "ActionRequest", { id: 3, name: "exists", args: [] }),
    frame("server", "ActionResponse", { id: 3, output: false }),
    frame("client", "ActionRequest", { id: 4, name: "exists", args: ["/"] }),
    frame("server", "ActionResponse", { id: 4, output: "yes" }),
    frame("server", "Event", { name: "vmShutdown", args: [{ reason: "crashed" }] }),
  ];
  const dir = mkdtempSync(join(tmpdir(), "agentos-wire-"));
  try {
    writeFileSync(join(dir, "wire.jsonl"), `${lines.join("\n")}\n`);
    const { checked, refused, violations } = await checkWire(join(dir, "wire.jsonl"));
    assert.equal(refused, 1, "the wrong call the host refused");
    assert.equal(checked, 8, "four arguments, three results, one event");
    assert.equal(violations.length, 3, violations.join("\n"));
    assert.match(violations[0]!, /the host answered arguments the schema rejects: c action:exists:args/);
    assert.match(violations[1]!, /action:exists:result/);
    assert.match(violations[2]!, /event:vmShutdown/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
