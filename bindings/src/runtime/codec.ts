/**
 * Frame encoding for the two wire formats: JSON text frames with RivetKit's envelopes, or
 * binary CBOR frames.
 */
import { Encoder } from "cbor-x";
import { decodeJsonCompat, encodeJsonCompat } from "./envelope.js";
import { ActorError } from "./errors.js";
import { type Frame, isRecord } from "./frames.js";

export type Encoding = "cbor" | "json";

/** What a WebSocket message carries: text for JSON, bytes for CBOR. */
export type WireData = string | Uint8Array;

// Plain CBOR only: byte strings without tag 64, objects as maps (no cbor-x records or shared
// structures), minimal map headers. The host speaks standard CBOR, not cbor-x's extensions.
const cbor = new Encoder({
  useRecords: false,
  structuredClone: false,
  pack: false,
  tagUint8Array: false,
  mapsAsObjects: true,
  variableMapSize: true,
});

export function encodeFrame(frame: Frame, encoding: "cbor"): Uint8Array;
export function encodeFrame(frame: Frame, encoding: "json"): string;
export function encodeFrame(frame: Frame, encoding: Encoding): WireData;
export function encodeFrame(frame: Frame, encoding: Encoding): WireData {
  return encoding === "json"
    ? JSON.stringify(encodeJsonCompat(frame))
    : cbor.encode(toCbor(frame));
}

/** Decodes one message; throws `agentos/invalid_input` if it is not a well-formed frame. */
export function decodeFrame(data: WireData, encoding: Encoding): Frame {
  let value: unknown;
  try {
    if (encoding === "json") {
      value = decodeJsonCompat(JSON.parse(typeof data === "string" ? data : textDecoder.decode(data)));
    } else if (typeof data === "string") {
      throw new ActorError("agentos", "invalid_input", "expected a binary CBOR frame, got text");
    } else {
      value = fromCbor(cbor.decode(data));
    }
  } catch (cause) {
    if (cause instanceof ActorError) throw cause;
    throw new ActorError("agentos", "invalid_input", `undecodable ${encoding} frame: ${String(cause)}`, {
      cause,
    });
  }
  if (isRecord(value) && isRecord(value.body) && typeof value.body.tag === "string") {
    return { body: { tag: value.body.tag, val: value.body.val } };
  }
  throw new ActorError("agentos", "invalid_input", "frame is not { body: { tag, val } }");
}

const textDecoder = new TextDecoder();

// cbor-x writes integers beyond 32 bits as floats unless they are bigints, and the host
// rejects a float where it expects an integer.
const INT32_SPAN = 0x1_0000_0000;

/** Shapes a value for cbor-x: `undefined` never reaches the wire, wide integers stay integers. */
function toCbor(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === "number") {
    const wide = Number.isSafeInteger(value) && (value >= INT32_SPAN || value < -INT32_SPAN);
    return wide ? BigInt(value) : value;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map(toCbor);
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, toCbor(v)]),
    );
  }
  return value;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * Normalizes what cbor-x decodes: byte strings become plain `Uint8Array` copies (not Node
 * `Buffer`s or views into the whole message), and 64-bit integers that a `number` holds
 * exactly become numbers, so a value's type does not depend on how many bytes encoded it.
 */
function fromCbor(value: unknown): unknown {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === "bigint") return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : value;
  if (Array.isArray(value)) return value.map(fromCbor);
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, fromCbor(v)]));
  }
  return value;
}
