import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { splitCallbacks } from "../src/runtime/callbacks.js";
import type { ActionSpec } from "../src/index.js";

const snapshot: ActionSpec = { arity: 1, callbacks: [{ option: "onSnapshotChunk", event: "snapshotChunk" }] };
const onChunk = (_data: unknown) => {};

describe("splitCallbacks", () => {
  test("removes callbacks from a copy of the options argument", () => {
    const options = { compress: true, onSnapshotChunk: onChunk };
    const { args, callbacks } = splitCallbacks([options], snapshot);
    assert.deepStrictEqual(args, [{ compress: true }]);
    assert.deepStrictEqual(callbacks, [{ event: "snapshotChunk", handler: onChunk }]);
    assert.equal(options.onSnapshotChunk, onChunk, "the caller's object is left alone");
  });

  test("sends options that held only callbacks as {}", () => {
    const { args, callbacks } = splitCallbacks([{ onSnapshotChunk: onChunk }], snapshot);
    assert.deepStrictEqual(args, [{}]);
    assert.equal(callbacks.length, 1);
  });

  test("takes the signal from the trailing options or the argument beyond the arity", () => {
    const { signal } = new AbortController();
    const plain: ActionSpec = { arity: 1, callbacks: [] };
    assert.deepStrictEqual(splitCallbacks(["/etc", { signal }], plain), { args: ["/etc"], callbacks: [], signal });
    const options: ActionSpec = { arity: 2, callbacks: [] };
    const split = splitCallbacks(["ls", { timeout: 5, signal }], options);
    assert.deepStrictEqual(split.args, ["ls", { timeout: 5 }]);
    assert.equal(split.signal, signal);
    const both = splitCallbacks([{ compress: true, onSnapshotChunk: onChunk, signal }], snapshot);
    assert.deepStrictEqual(both.args, [{ compress: true }]);
    assert.equal(both.signal, signal);
  });

  test("a `signal` that is not an AbortSignal is the options' own field, and extra arguments are sent", () => {
    const spec: ActionSpec = { arity: 2, callbacks: [] };
    const split = splitCallbacks(["kill", { signal: "SIGTERM" }], spec);
    assert.deepStrictEqual(split.args, ["kill", { signal: "SIGTERM" }]);
    assert.equal(split.signal, undefined);
    const extra = splitCallbacks(["/etc", { bogus: 1 }], { arity: 1, callbacks: [] });
    assert.deepStrictEqual(extra.args, ["/etc", { bogus: 1 }], "for the host to refuse");
  });

  test("drops an argument beyond the arity: it holds only callbacks", () => {
    const spec: ActionSpec = { arity: 1, callbacks: [{ option: "onOutput", event: "processOutput" }] };
    const { args, callbacks } = splitCallbacks(["/bin/sh", { onOutput: onChunk }], spec);
    assert.deepStrictEqual(args, ["/bin/sh"]);
    assert.deepStrictEqual(callbacks, [{ event: "processOutput", handler: onChunk }]);
  });

  test("binds several callbacks and ignores absent ones", () => {
    const spec: ActionSpec = {
      arity: 2,
      callbacks: [
        { option: "onStdout", event: "stdout" },
        { option: "onStderr", event: "stderr" },
        { option: "onExit", event: "exit" },
      ],
    };
    const onStderr = () => {};
    const { args, callbacks } = splitCallbacks(["ls", { cwd: "/", onStdout: onChunk, onStderr, onExit: undefined }], spec);
    assert.deepStrictEqual(args, ["ls", { cwd: "/" }]);
    assert.deepStrictEqual(
      callbacks.map((c) => c.event),
      ["stdout", "stderr"],
    );
  });

  test("leaves arguments before the options position untouched", () => {
    const spec: ActionSpec = { arity: 3, callbacks: [{ option: "onProgress", event: "progress" }] };
    const driver = { kind: "memory", onProgress: onChunk };
    const { args, callbacks } = splitCallbacks(["/mnt", driver], spec);
    assert.deepStrictEqual(args, ["/mnt", driver]);
    assert.deepStrictEqual(callbacks, []);
  });

  test("leaves bytes, arrays and null in the options position untouched", () => {
    for (const value of [new Uint8Array([1]), [onChunk], null]) {
      assert.deepStrictEqual(splitCallbacks([value], snapshot), { args: [value], callbacks: [] });
    }
  });

  test("trims trailing undefined arguments but keeps inner ones", () => {
    const plain: ActionSpec = { arity: 3, callbacks: [] };
    assert.deepStrictEqual(splitCallbacks(["/a", undefined, undefined], plain).args, ["/a"]);
    assert.deepStrictEqual(splitCallbacks([undefined, 1], plain).args, [undefined, 1]);
    assert.deepStrictEqual(splitCallbacks([undefined], snapshot).args, []);
    assert.deepStrictEqual(splitCallbacks([], snapshot), { args: [], callbacks: [] });
  });

  test("leaves function properties alone for actions without callbacks", () => {
    const plain: ActionSpec = { arity: 1, callbacks: [] };
    const options = { onSnapshotChunk: onChunk };
    assert.deepStrictEqual(splitCallbacks([options], plain), { args: [options], callbacks: [] });
  });

  test("rejects a callback option that is not a function", () => {
    assert.throws(() => splitCallbacks([{ onSnapshotChunk: 5 }], snapshot), TypeError);
  });
});
