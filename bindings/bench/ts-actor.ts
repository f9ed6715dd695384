/**
 * The floor the round-trip benchmark compares against: a plain rivetkit TypeScript actor with
 * the same trivial action (`exists(path)`), served on a running engine under a pool of its own,
 * as a user without agentOS would write it. Prints `READY` once its envoy registered.
 *
 *   node bindings/dist/bench/ts-actor.js ENDPOINT POOL
 */
import { actor, setup } from "rivetkit";

const [endpoint, poolName] = process.argv.slice(2);
if (!endpoint || !poolName) throw new Error("usage: ts-actor.js ENDPOINT POOL");

const bench = actor({ actions: { exists: (_c, _path: string) => true } });
const registry = setup({
  use: { bench },
  endpoint,
  token: "dev",
  namespace: "default",
  envoy: { poolName },
  noWelcome: true,
});
await registry.startAndWait();
console.log("READY");
