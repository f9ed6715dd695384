/** What the end-to-end suites wait for and match: typed errors, events, eventual state. */
import assert from "node:assert/strict";

import { ActorError, type AgentOsClient, type AgentOsEvents } from "../src/index.js";

/** A matcher for `assert.rejects`: an `ActorError` with this code (and a message matching `message`). */
export function isError(code: string, message?: RegExp) {
  return (e: unknown) => e instanceof ActorError && e.code === code && (message?.test(e.message) ?? true);
}

/** Waits until `check` returns something other than undefined. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Every event of a kind, as it arrives. */
export function record<E extends keyof AgentOsEvents>(vm: AgentOsClient, event: E) {
  const seen: AgentOsEvents[E][] = [];
  const stop = vm.on(event, (payload) => seen.push(payload));
  return { seen, stop };
}
