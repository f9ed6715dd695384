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
  /** What goes on the wire: callbacks removed, trailing `undefined`s trimmed. */
  args: unknown[];
  callbacks: CallbackBinding[];
}

/**
 * Separates an action's callbacks from its wire arguments. An argument beyond `arity` holds
 * only callbacks and is dropped; otherwise the callbacks are removed from a copy of the last
 * argument, which stays `{}` when they were all it held.
 */
export function splitCallbacks(args: readonly unknown[], spec: ActionSpec): SplitArgs {
  const sent = [...args];
  const callbacks: CallbackBinding[] = [];
  const last = sent.length - 1;
  if (spec.callbacks.length > 0 && last >= 0 && last >= spec.arity - 1) {
    const holder = sent[last];
    if (isPlainObject(holder)) {
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
      if (last >= spec.arity) sent.pop();
      else sent[last] = rest;
    }
  }
  while (sent.length > 0 && sent[sent.length - 1] === undefined) sent.pop();
  return { args: sent, callbacks };
}

/** Only an options bag can hold callbacks; bytes, arrays and class instances pass untouched. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
