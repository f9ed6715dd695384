import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ActorError, type Frame, decodeFrame, encodeFrame, isActorError } from "../src/index.js";

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");
const fromHex = (text: string) => new Uint8Array(Buffer.from(text, "hex"));
const isInvalidInput = (error: unknown) => isActorError(error, "invalid_input") && error.group === "agentos";

const frame: Frame = {
  body: {
    tag: "ActionRequest",
    val: {
      id: 7,
      name: "writeFile",
      args: [
        "/tmp/a",
        new Uint8Array([0, 1, 2, 255]),
        {
          mode: 0o644,
          nested: { deeper: [1, -2, 3.25, "x", null, true, false, { bytes: new Uint8Array(300).fill(7) }] },
          empty: {},
          big: 2n ** 64n - 1n,
          negative: -(2n ** 63n),
          wide: 2 ** 40,
        },
      ],
    },
  },
};

describe("CBOR frames", () => {
  test("round-trip bytes, nested objects and integers of every width", () => {
    assert.deepStrictEqual(decodeFrame(encodeFrame(frame, "cbor"), "cbor"), frame);
  });

  test("write Uint8Array as a plain byte string and objects as plain maps", () => {
    const encoded = encodeFrame({ body: { tag: "X", val: new Uint8Array([1, 2, 3]) } }, "cbor");
    assert.ok(encoded instanceof Uint8Array);
    // {"body": {"tag": "X", "val": h'010203'}}: no tag 64 (d8 40), no cbor-x record tags.
    assert.equal(hex(encoded), "a164626f6479a26374616761586376616c43010203");
  });

  test("never put undefined on the wire", () => {
    const encoded = encodeFrame({ body: { tag: "X", val: { gone: undefined, list: [1, undefined] } } }, "cbor");
    assert.ok(!hex(encoded).includes("f7"), "CBOR undefined (f7) must not appear");
    assert.deepStrictEqual(decodeFrame(encoded, "cbor"), { body: { tag: "X", val: { list: [1, null] } } });
  });

  test("write integers beyond 32 bits as CBOR integers, not floats", () => {
    const encoded = encodeFrame({ body: { tag: "X", val: 2 ** 40 } }, "cbor");
    assert.ok(hex(encoded).endsWith("1b0000010000000000"));
    const negative = encodeFrame({ body: { tag: "X", val: -(2 ** 40) } }, "cbor");
    assert.ok(hex(negative).endsWith("3b000000ffffffffff"));
  });

  test("decode byte strings as plain Uint8Array copies, also from a Buffer", () => {
    const source = Buffer.from(encodeFrame({ body: { tag: "X", val: new Uint8Array([5, 6]) } }, "cbor"));
    const { val } = decodeFrame(source, "cbor").body;
    assert.equal(Object.getPrototypeOf(val), Uint8Array.prototype);
    assert.equal((val as Uint8Array).buffer.byteLength, 2);
  });

  test("accept byte strings wrapped in tag 64", () => {
    // {"body": {"tag": "X", "val": 64(h'010203')}}
    const decoded = decodeFrame(fromHex("a164626f6479a26374616761586376616cd84043010203"), "cbor");
    assert.deepStrictEqual(decoded.body.val, new Uint8Array([1, 2, 3]));
  });

  test("decode 64-bit integers as numbers when exact, bigints otherwise", () => {
    // 8-byte encodings of 5 and of 2^64-1 in {"body": {"tag": "X", "val": [..]}}
    const decoded = decodeFrame(
      fromHex("a164626f6479a26374616761586376616c821b00000000000000051bffffffffffffffff"),
      "cbor",
    );
    assert.deepStrictEqual(decoded.body.val, [5, 2n ** 64n - 1n]);
  });

  test("reject text, garbage and frames without a body", () => {
    assert.throws(() => decodeFrame("{}", "cbor"), isInvalidInput);
    assert.throws(() => decodeFrame(fromHex("ff"), "cbor"), isInvalidInput);
    assert.throws(() => decodeFrame(fromHex("a0"), "cbor"), isInvalidInput);
    assert.throws(() => decodeFrame(fromHex("a164626f6479a0"), "cbor"), isInvalidInput);
  });
});

describe("JSON frames", () => {
  test("are text with envelopes applied to the whole frame", () => {
    const encoded = encodeFrame({ body: { tag: "X", val: [new Uint8Array([1, 2, 3]), ["$x"], 1n] } }, "json");
    assert.equal(
      encoded,
      '{"body":{"tag":"X","val":[["$Uint8Array","AQID"],["$$x"],["$BigInt","1"]]}}',
    );
  });

  test("round-trip bytes, nested objects and bigints", () => {
    assert.deepStrictEqual(decodeFrame(encodeFrame(frame, "json"), "json"), frame);
  });

  test("reject invalid JSON, malformed envelopes and frames without a body", () => {
    assert.throws(() => decodeFrame("{", "json"), isInvalidInput);
    assert.throws(() => decodeFrame('{"body":{"tag":"X","val":["$Nope",1]}}', "json"), isInvalidInput);
    assert.throws(() => decodeFrame('{"body":{"val":1}}', "json"), isInvalidInput);
    assert.throws(() => decodeFrame("[]", "json"), (e: unknown) => e instanceof ActorError);
  });
});
