/**
 * Parity of names with the `agentOS()` actor of npm `rivetkit` (read from its type
 * declarations): each of its actions is an action here, an alias of one, or a row of the
 * README's migration table, whose "here" names are all actions here. So a new action there,
 * or a renamed one here, fails until the table says what became of it.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { test } from "node:test";

const read = (path: string) => readFileSync(fileURLToPath(new URL(path, import.meta.url)), "utf8");

const PEER = read("../../node_modules/rivetkit/dist/tsup/agent-os/index.d.ts");
const README = read("../../../README.md");
const CONTRACT = JSON.parse(read("../../src/generated/contract.json")) as {
  actions: Array<{ name: string; aliasOf?: string }>;
};

test("every action of rivetkit's agentOS() is here, an alias here, or in the README's migration table", () => {
  const theirs = new Set([...PEER.matchAll(/^ {4}(\w+): \(c: AgentOsActionContext<TConnParams>/gm)].map((m) => m[1]!));
  assert.ok(theirs.size > 40, `only ${theirs.size} actions read from rivetkit's declarations`);
  const ours = new Map(CONTRACT.actions.map((a) => [a.name, a.aliasOf]));
  const section = README.slice(README.indexOf("## Coming from rivetkit's `agentOS()` actor"));
  const table = section.slice(0, section.indexOf("\n\n", section.indexOf("|---")));
  const rows = [...table.matchAll(/^\| `(\w+)\(.*?\| (?:`(\w+)`|—) \|/gm)].map((m) => ({ theirs: m[1]!, here: m[2] }));
  assert.ok(rows.length > 0, "the README's migration table has no rows");
  for (const { theirs: name, here } of rows) {
    assert.ok(!ours.has(name), `${name} is in the migration table but is an action or alias here`);
    if (here === undefined) continue;
    assert.ok(ours.has(here), `${here} (for ${name}) is not an action here`);
    assert.equal(ours.get(here), undefined, `${here} (for ${name}) is an alias, not an action`);
  }
  const listed = new Set(rows.map((row) => row.theirs));
  const unaccounted = [...theirs].filter((name) => !ours.has(name) && !listed.has(name));
  assert.deepEqual(unaccounted, [], "rivetkit's agentOS() actions with no counterpart here and no row in the table");
  // The aliases the README names are the contract's.
  const aliases = CONTRACT.actions.filter((a) => a.aliasOf !== undefined).map((a) => `\`${a.name}\` → \`${a.aliasOf}\``);
  const prose = section.replace(/\s+/g, " ");
  for (const alias of aliases) assert.ok(prose.includes(alias), `the README does not list the alias ${alias}`);
});
