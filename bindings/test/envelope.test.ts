import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ActorError, decodeJsonCompat, encodeJsonCompat } from "../src/index.js";

/** Through actual JSON text, as on the wire. */
const roundTrip = (value: unknown) => decodeJsonCompat(JSON.parse(JSON.stringify(encodeJsonCompat(value))));

const allBytes = Uint8Array.from({ length: 256 }, (_, i) => i);
const large = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256);

describe("encodeJsonCompat", () => {
  test("wraps bytes, bigints and undefined in envelopes", () => {
    assert.deepEqual(encodeJsonCompat(new Uint8Array([1, 2, 3])), ["$Uint8Array", "AQID"]);
    assert.deepEqual(encodeJsonCompat(new Uint8Array()), ["$Uint8Array", ""]);
    assert.deepEqual(encodeJsonCompat(-12345678901234567890n), ["$BigInt", "-12345678901234567890"]);
    assert.deepEqual(encodeJsonCompat([1, undefined, 2]), [1, ["$Undefined", 0], 2]);
    assert.deepEqual(encodeJsonCompat(undefined), ["$Undefined", 0]);
  });

  test("drops undefined object properties", () => {
    assert.deepEqual(encodeJsonCompat({ a: undefined, b: 1, c: { d: undefined } }), { b: 1, c: {} });
  });

  test("escapes arrays led by a $-string with one more $", () => {
    assert.deepEqual(encodeJsonCompat(["$HOME", 1]), ["$$HOME", 1]);
    assert.deepEqual(encodeJsonCompat(["$$x"]), ["$$$x"]);
    assert.deepEqual(encodeJsonCompat(["$Uint8Array", "AQID"]), ["$$Uint8Array", "AQID"]);
    assert.deepEqual(encodeJsonCompat(["a", "$b"]), ["a", "$b"]);
    assert.deepEqual(encodeJsonCompat("$solo"), "$solo");
  });

  test("applies inside nested objects and arrays", () => {
    assert.deepEqual(
      encodeJsonCompat({ body: { tag: "ActionRequest", val: { args: [["$x", new Uint8Array([255])], 2n] } } }),
      { body: { tag: "ActionRequest", val: { args: [["$$x", ["$Uint8Array", "/w=="]], ["$BigInt", "2"]] } } },
    );
  });

  test("does not mutate its input and keeps __proto__ keys as data", () => {
    const input = JSON.parse('{"__proto__": {"x": 1}, "list": ["$a"]}') as Record<string, unknown>;
    const encoded = encodeJsonCompat(input) as Record<string, unknown>;
    assert.deepEqual(input.list, ["$a"]);
    assert.equal(Object.getPrototypeOf(encoded), Object.prototype);
    assert.deepEqual(Object.keys(encoded), ["__proto__", "list"]);
  });
});

describe("decodeJsonCompat", () => {
  const cases: Array<[string, unknown]> = [
    ["bytes", new Uint8Array([1, 2, 3])],
    ["empty bytes", new Uint8Array()],
    ["every byte value", allBytes],
    ["bytes beyond one base64 batch", large],
    ["positive bigint", 2n ** 64n - 1n],
    ["negative bigint", -(2n ** 70n)],
    ["undefined in an array", [undefined, 1, undefined]],
    ["escaped array", ["$HOME", 1]],
    ["doubly escaped array", ["$$HOME", ["$x", "$y"]]],
    ["escaped array holding envelopes", ["$a", new Uint8Array([9]), 3n, undefined]],
    ["array that only looks like an envelope", ["$Uint8Array", "AQID"]],
    ["plain values", { s: "$not-an-array", n: -1.5, t: true, z: null, e: [], o: {} }],
    [
      "a nested frame",
      {
        body: {
          tag: "Event",
          val: { name: "snapshotChunk", args: [{ callId: "c:1", data: { index: 0, data: allBytes, list: [["$k", 1n]] } }] },
        },
      },
    ],
  ];
  for (const [name, value] of cases) {
    test(`round-trips ${name}`, () => assert.deepStrictEqual(roundTrip(value), value));
  }

  test("returns plain Uint8Array, not Buffer", () => {
    const bytes = decodeJsonCompat(["$Uint8Array", "AQID"]);
    assert.equal(Object.getPrototypeOf(bytes), Uint8Array.prototype);
  });

  test("reads undefined object properties as undefined", () => {
    assert.deepStrictEqual(decodeJsonCompat({ a: ["$Undefined", 0] }), { a: undefined });
  });

  const malformed: Array<[string, unknown]> = [
    ["an unknown envelope", ["$Date", "2024-01-01"]],
    ["a lone $", ["$"]],
    ["a bytes envelope without payload", ["$Uint8Array"]],
    ["a bytes envelope with a number", ["$Uint8Array", 5]],
    ["invalid base64", ["$Uint8Array", "!!!"]],
    ["a fractional bigint", ["$BigInt", "1.5"]],
    ["a bigint envelope with a number", ["$BigInt", 5]],
    ["an envelope with extra elements", ["$Undefined", 0, 1]],
    ["a malformed envelope nested deep", { a: [{ b: ["$Nope", 1] }] }],
    ["a malformed envelope inside an escaped array", ["$$x", ["$Nope", 1]]],
  ];
  for (const [name, value] of malformed) {
    test(`rejects ${name} with agentos/invalid_input`, () => {
      assert.throws(
        () => decodeJsonCompat(value),
        (error: unknown) =>
          error instanceof ActorError && error.group === "agentos" && error.code === "invalid_input",
      );
    });
  }
});
