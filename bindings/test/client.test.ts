import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  type CallEvent,
  type ClientBase,
  type RuntimeContract,
  type Transport,
  RESERVED_NAMES,
  createClient,
} from "../src/index.js";
import { contractMismatch, deeperThan } from "../src/runtime/client.js";

/** A transport the tests below must never reach: createClient fails before connecting. */
const unreachable: Transport = {
  open: () => assert.fail("createClient connected despite an invalid contract"),
};

const contract = (actions: RuntimeContract["actions"], bridges: RuntimeContract["bridges"] = {}) => ({
  actor: "agentOS",
  version: "1.4.2",
  hash: "h",
  actions,
  bridges,
});

describe("createClient", () => {
  test("reserves the client's own member names", () => {
    assert.deepEqual(
      [...RESERVED_NAMES].sort(),
      ["close", "constructor", "handle", "hasOwnProperty", "on", "ready", "then", "toString", "valueOf"],
    );
  });

  for (const name of RESERVED_NAMES) {
    test(`refuses an action named \`${name}\``, () => {
      const actions = { readFile: { arity: 1, callbacks: [] }, [name]: { arity: 0, callbacks: [] } };
      assert.throws(() => createClient(unreachable, contract(actions)), new RegExp(`\`${name}\``));
    });
  }

  test("refuses a bridge whose respond action is missing", () => {
    const bridges = { permission: { event: "permissionRequest", respondAction: "respondPermission" } };
    assert.throws(() => createClient(unreachable, contract({}, bridges)), /respondPermission/);
  });
});

// What the code generator emits: its typed interfaces must be reachable from createClient's
// result with a plain `as`. Compiling this file is the test.
interface SnapshotChunk {
  index: number;
  data: Uint8Array;
}
interface GeneratedActions {
  readFile(path: string): Promise<Uint8Array>;
  snapshotRootFilesystem(options?: {
    compress?: boolean;
    onSnapshotChunk?: (data: SnapshotChunk) => void;
  }): Promise<{ size: number; sha256: string; chunks: number }>;
}
interface GeneratedEvents {
  snapshotChunk: CallEvent<SnapshotChunk>;
}
interface GeneratedBridges {
  permission: { request: { path: string }; response: boolean };
}
type GeneratedClient = GeneratedActions & ClientBase<GeneratedEvents, GeneratedBridges>;
interface EmptyBridges {}
type ClientWithoutBridges = GeneratedActions & ClientBase<GeneratedEvents, EmptyBridges>;

export function createGeneratedClient(transport: Transport, c: RuntimeContract): GeneratedClient {
  const client = createClient(transport, c) as GeneratedClient;
  // @ts-expect-error: events are typed by name.
  client.on("nope", () => {});
  client.on("snapshotChunk", ({ callId, data }) => void [callId.length, data.index]);
  client.handle("permission", async ({ path }, { requestId }) => path.length > 0 && requestId !== "");
  // @ts-expect-error: bridge responses are typed.
  client.handle("permission", () => "yes");
  return client;
}

export function createClientWithoutBridges(transport: Transport, c: RuntimeContract): ClientWithoutBridges {
  return createClient(transport, c) as ClientWithoutBridges;
}

describe("deeperThan", () => {
  const nest = (depth: number): unknown => (depth === 0 ? 1 : [nest(depth - 1)]);
  test("counts containers as the host does, bytes as scalars", () => {
    assert.equal(deeperThan(nest(64), 64), false);
    assert.equal(deeperThan(nest(65), 64), true);
    assert.equal(deeperThan({ a: { b: [] } }, 3), false);
    assert.equal(deeperThan({ a: { b: [] } }, 2), true);
    assert.equal(deeperThan([new Uint8Array(4)], 1), false);
    assert.equal(deeperThan("text", 0), false);
  });
  test("stops early on hostile nesting", () => {
    assert.equal(deeperThan(nest(5_000), 64), true);
  });
});

describe("contract versions", () => {
  const ours = contract({});
  const host = (contractVersion: string, contractHash = "other") => ({ contractVersion, contractHash });
  test("a host of the same major and at least this minor is compatible", () => {
    for (const version of ["1.4.2", "1.4.3", "1.5.0", "1.40.0"])
      assert.equal(contractMismatch(ours, host(version), "compatible"), undefined, version);
    assert.equal(contractMismatch(ours, host("9.9.9", "h"), "exact"), undefined, "the same hash always is");
  });
  test("another major, an older host or an inexact one in exact mode is refused, saying which", () => {
    assert.match(contractMismatch(ours, host("2.0.0"), "compatible")!, /different major version/);
    assert.match(contractMismatch(ours, host("0.4.2"), "compatible")!, /different major version/);
    assert.match(contractMismatch(ours, host("1.3.9"), "compatible")!, /older host/);
    assert.match(contractMismatch(ours, host("1.4.1"), "compatible")!, /older host/);
    assert.match(contractMismatch(ours, host("1.4.2"), "exact")!, /exactly that contract/);
    assert.match(contractMismatch(ours, host("one"), "compatible")!, /serves agentOS contract one/);
  });
  test("under 1.0 the minor is the major", () => {
    const zero = { ...ours, version: "0.3.0" };
    assert.equal(contractMismatch(zero, host("0.3.7"), "compatible"), undefined);
    assert.match(contractMismatch(zero, host("0.4.0"), "compatible")!, /different major version/);
  });
});
