/**
 * Callback parameters. The host streams what a callback receives as events; the TypeScript
 * signature takes the callbacks as function-valued properties of the options argument, which
 * cannot travel, so they are split off before sending.
 */
import type { ActionSpec } from "./contract.js";

export interface CallbackBinding {
  event: string;
  handler: (data: unknown) => void;
}

export interface SplitArgs {
  /** What goes on the wire: callbacks and the signal removed, trailing `undefined`s trimmed. */
  args: unknown[];
  callbacks: CallbackBinding[];
  /** The call's `signal` option: aborting it cancels the call. */
  signal?: AbortSignal;
}

/**
 * Separates an action's call options (callbacks, `signal`) from its wire arguments. They ride
 * on the last argument: one beyond `arity` holds only them and is dropped; otherwise they are
 * removed from a copy of the last argument, which stays `{}` when they were all it held. A
 * `signal` is taken only when it is an `AbortSignal`, so an options type's own `signal` field
 * passes.
 */
export function splitCallbacks(args: readonly unknown[], spec: ActionSpec): SplitArgs {
  const sent = [...args];
  const callbacks: CallbackBinding[] = [];
  let signal: AbortSignal | undefined;
  const last = sent.length - 1;
  const holder = sent[last];
  if (last >= 0 && last >= spec.arity - 1 && isPlainObject(holder)) {
    const rest = { ...holder };
    for (const { option, event } of spec.callbacks) {
      const handler = rest[option];
      delete rest[option];
      if (typeof handler === "function") {
        callbacks.push({ event, handler: handler as CallbackBinding["handler"] });
      } else if (handler !== undefined) {
        throw new TypeError(`option \`${option}\` must be a function`);
      }
    }
    if (rest.signal instanceof AbortSignal) {
      signal = rest.signal;
      delete rest.signal;
    }
    // Past `arity` an argument may hold call options only; what else it holds is sent, for
    // the host to refuse as an extra argument.
    if (last >= spec.arity && Object.keys(rest).length === 0) sent.pop();
    else if (callbacks.length > 0 || signal !== undefined || spec.callbacks.length > 0) sent[last] = rest;
  }
  while (sent.length > 0 && sent[sent.length - 1] === undefined) sent.pop();
  return signal === undefined ? { args: sent, callbacks } : { args: sent, callbacks, signal };
}

/** Only an options bag can hold callbacks; bytes, arrays and class instances pass untouched. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
