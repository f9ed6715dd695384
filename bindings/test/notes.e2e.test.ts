/**
 * Custom actions: the example app (`examples/notes`, the `agentos-notes` binary) extends the
 * agentOS actor with actions of its own, and its generated client (`examples/notes/`, from
 * `cargo xtask codegen`) reaches those and every built-in one through one actor, over both
 * hosts. Connecting at all proves the served contract is the generated one (its hash).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";

import { createNotesClient, type NotesClient } from "../examples/notes/client.js";
import { ActorError } from "../src/index.js";
import { describeOnEachHost } from "./host.js";

const NOTES =
  process.env.AGENTOS_NOTES_BIN ?? fileURLToPath(new URL("../../../target/debug/agentos-notes", import.meta.url));

const commands = { embedded: [NOTES, "serve"], rivet: [NOTES, "serve-rivet"] };

describeOnEachHost("an app's own actions beside the built-in ones", { commands }, (host) => {
  let vm: NotesClient;
  before(() => {
    vm = createNotesClient(host().transport("notes"));
  });
  after(() => {
    vm?.close();
  });

  test("the app's state and the VM's files, through one client", async () => {
    assert.deepEqual(await vm.listNotes(), []);
    assert.deepEqual(await vm.addNote("buy milk"), { id: 1, text: "buy milk" });
    assert.deepEqual(await vm.addNote("call the plumber today"), { id: 2, text: "call the plumber today" });
    assert.deepEqual((await vm.listNotes()).map((n) => n.id), [1, 2]);
    await vm.writeFile("/hello.txt", "built-in");
    assert.equal(await vm.readTextFile("/hello.txt"), "built-in");
    assert.equal(await vm.exists("/notes.json"), false, "the notebook is outside the VM");
  });

  test("a custom action that uses the VM: files written and a process run in its sandbox", async () => {
    await vm.mkdir("/out");
    assert.deepEqual(await vm.exportNotes("/out/notes.txt"), { path: "/out/notes.txt", notes: 2, words: 6 });
    assert.equal(await vm.readTextFile("/out/notes.txt"), "buy milk\ncall the plumber today\n");
    await assert.rejects(vm.exportNotes("/missing/dir/notes.txt"), (e: unknown) => e instanceof ActorError && e.code === "not_found");
  });

  test("built-in events still reach their callbacks", async () => {
    const chunks: Uint8Array[] = [];
    const result = await vm.exec("echo from-the-vm", { onStdout: (c) => chunks.push(c) });
    assert.equal(result.exitCode, 0);
    assert.equal(Buffer.concat(chunks).toString(), "from-the-vm\n");
  });
});
