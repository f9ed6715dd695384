/**
 * RivetKit's JSON-compatible encoding: JSON has no bytes, bigints or `undefined`, so those
 * travel as tagged arrays (`["$Uint8Array", base64]`, `["$BigInt", "123"]`,
 * `["$Undefined", 0]`). A genuine array whose first element is a `$`-string gets one more `$`
 * so it cannot be mistaken for an envelope. Runs in Node and browsers alike (no `Buffer`).
 */
import { ActorError } from "./errors.js";

/** Turns a value into plain JSON data, wrapping what JSON cannot hold in envelopes. */
export function encodeJsonCompat(value: unknown): unknown {
  if (value === undefined) return ["$Undefined", 0];
  if (typeof value === "bigint") return ["$BigInt", value.toString()];
  if (value instanceof Uint8Array) return ["$Uint8Array", toBase64(value)];
  if (Array.isArray(value)) {
    const out = value.map(encodeJsonCompat);
    if (isDollarString(value[0])) out[0] = `$${value[0]}`;
    return out;
  }
  if (isObject(value)) {
    // `fromEntries` defines properties, so a `__proto__` key stays data instead of a prototype.
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, encodeJsonCompat(v)]),
    );
  }
  return value;
}

/** Inverse of {@link encodeJsonCompat}; throws `agentos/invalid_input` on a malformed envelope. */
export function decodeJsonCompat(value: unknown): unknown {
  if (Array.isArray(value)) {
    const [head, ...rest] = value;
    if (!isDollarString(head)) return value.map(decodeJsonCompat);
    if (head.startsWith("$$")) return [head.slice(1), ...rest.map(decodeJsonCompat)];
    return decodeEnvelope(head, rest);
  }
  if (isObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decodeJsonCompat(v)]));
  }
  return value;
}

function decodeEnvelope(tag: string, rest: unknown[]): unknown {
  const [payload] = rest;
  if (rest.length === 1) {
    if (tag === "$Uint8Array" && typeof payload === "string") return fromBase64(payload);
    if (tag === "$BigInt" && typeof payload === "string" && /^-?\d+$/.test(payload)) {
      return BigInt(payload);
    }
    if (tag === "$Undefined") return undefined;
  }
  throw new ActorError(
    "agentos",
    "invalid_input",
    `malformed JSON envelope ${JSON.stringify([tag, ...rest]).slice(0, 80)}`,
  );
}

function isDollarString(value: unknown): value is string {
  return typeof value === "string" && value.startsWith("$");
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

// Large enough to amortize the call, small enough to stay under engines' argument limits.
const BASE64_BATCH = 0x8000;

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += BASE64_BATCH) {
    binary += String.fromCharCode(...bytes.subarray(i, i + BASE64_BATCH));
  }
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch (cause) {
    throw new ActorError("agentos", "invalid_input", "malformed base64 in a $Uint8Array envelope", {
      cause,
    });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
