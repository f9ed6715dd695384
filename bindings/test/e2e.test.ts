/**
 * End to end: the generated client over a real WebSocket to a real `agentos serve`, and over
 * the real `rivetkit` client to a real Rivet Engine serving `agentos-rivet`, in both encodings. The host's message limit is 64 KiB so that snapshots must travel in chunks.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";

import {
  ActorError,
  createAgentOsClient,
  createClient,
  downloadSnapshot,
  uploadSnapshot,
  type AgentOsClient,
  type Encoding,
} from "../src/index.js";
import { contract } from "../src/generated/contract.js";
import { describeOnEachHost } from "./host.js";

const LIMIT = 64 * 1024;

for (const encoding of ["cbor", "json"] as Encoding[]) {
  describeOnEachHost(`agentOS over ${encoding}`, { args: ["--max-message-bytes", String(LIMIT)] }, (host) => {
    let client: AgentOsClient;
    let key = 0;
    const connect = (): AgentOsClient =>
      createAgentOsClient(host().transport(`${encoding}-${++key}`, encoding));

    after(() => {
      client?.close();
    });

    test("mounts a memory fs, writes and reads text and bytes, lists and unmounts", async () => {
      client = connect();
      const info = await client.mountFs("/mnt/mem", { type: "memory" });
      assert.deepEqual(info, { path: "/mnt/mem", driver: { type: "memory" }, readOnly: false });
      await client.writeFile("/mnt/mem/hello.txt", "héllo wörld");
      const bytes = new Uint8Array([0, 1, 2, 253, 254, 255]);
      await client.writeFile("/mnt/mem/data.bin", bytes);
      assert.equal(await client.readTextFile("/mnt/mem/hello.txt"), "héllo wörld");
      const back = await client.readFile("/mnt/mem/data.bin");
      assert.ok(back instanceof Uint8Array);
      assert.deepEqual([...back], [...bytes]);
      assert.deepEqual(await client.readdir("/mnt/mem"), ["data.bin", "hello.txt"]);
      assert.equal((await client.stat("/mnt/mem/data.bin")).size, 6);

      await client.mountFs("/mnt/ro", { type: "memory" }, { readOnly: true });
      assert.deepEqual(
        (await client.listMounts()).map((m) => [m.path, m.readOnly]),
        [["/mnt/mem", false], ["/mnt/ro", true]],
      );
      await assert.rejects(client.writeFile("/mnt/ro/x", "no"), (e: unknown) => e instanceof ActorError && e.code === "read_only");

      await client.unmountFs("/mnt/mem");
      await client.unmountFs("/mnt/ro");
      assert.deepEqual(await client.listMounts(), []);
      assert.equal(await client.exists("/mnt/mem/hello.txt"), false);
    });

    test("typed errors leave the connection usable", async () => {
      await assert.rejects(client.readFile("/missing"), (e: unknown) => {
        assert.ok(e instanceof ActorError);
        assert.equal(e.group, "agentos");
        assert.equal(e.code, "not_found");
        return true;
      });
      await assert.rejects(client.readFile("relative/path"), (e: unknown) => e instanceof ActorError && e.code === "invalid_input");
      // Too deep to send: refused before it leaves, with the limit the host announced.
      const deep = Array.from({ length: 70 }).reduce<unknown>((inner) => [inner], "x");
      await assert.rejects(
        client.writeFiles(deep as never),
        (e: unknown) => e instanceof ActorError && e.code === "limit_exceeded" && /deeper than 64/.test(e.message),
      );
      // Too large to send, likewise.
      await assert.rejects(
        client.writeFile("/big", "x".repeat(LIMIT + 1)),
        (e: unknown) => e instanceof ActorError && e.code === "limit_exceeded",
      );
      // A wrong type that the compiler would reject, forced through: the host's typed error.
      await assert.rejects(
        client.stat(42 as unknown as string),
        (e: unknown) => e instanceof ActorError && e.code === "invalid_input" && /stat: argument #1 `path`/.test(e.message),
      );
      assert.equal(await client.exists("/"), true);
    });

    test("snapshots larger than the message limit travel in chunks and restore byte for byte", async () => {
      const vm = connect();
      await vm.mkdir("/work/deep/er", { recursive: true });
      // Incompressible-looking content, well past the limit in total.
      for (let i = 0; i < 6; i++) {
        const data = new Uint8Array(40_000).map((_, j) => (j * 31 + i * 7) % 251);
        await vm.writeFile(`/work/deep/file-${i}.bin`, data);
      }
      await vm.writeFile("/work/deep/er/note.txt", "keep me");

      let chunkEvents = 0;
      const info = await vm.snapshotRootFilesystem({ onSnapshotChunk: () => void chunkEvents++ });
      assert.ok(info.size > LIMIT, `archive of ${info.size} bytes`);
      assert.ok(info.chunks > 1);
      assert.equal(chunkEvents, info.chunks);

      const archive = await downloadSnapshot(vm);
      assert.equal(archive.byteLength, info.size);

      // Through rivetkit's agentOS name for `delete`, which the host accepts as well.
      await vm.deleteFile("/work", { recursive: true });
      assert.equal(await vm.exists("/work"), false);
      await vm.writeFile("/stray.txt", "not in the snapshot");
      await uploadSnapshot(vm, archive);
      assert.equal(await vm.exists("/stray.txt"), false);
      assert.equal(await vm.readTextFile("/work/deep/er/note.txt"), "keep me");
      const again = await downloadSnapshot(vm);
      assert.deepEqual(Buffer.from(again).equals(Buffer.from(archive)), true);
      vm.close();
    });

    test("concurrent calls each receive only their own callback events", async () => {
      const vm = connect();
      await vm.mountFs("/mnt/extra", { type: "memory" });
      for (let i = 0; i < 4; i++) await vm.writeFile(`/mnt/extra/part-${i}.bin`, new Uint8Array(25_000).fill(i));
      await vm.writeFile("/small.txt", "small");
      const [withMounts, withoutMounts] = await Promise.all([
        downloadSnapshot(vm, { includeMounts: true }),
        downloadSnapshot(vm, { includeMounts: false }),
      ]);
      assert.ok(withMounts.byteLength > 100_000);
      assert.ok(withoutMounts.byteLength < 100_000);
      vm.close();
    });

    test("a client of another major, or newer than the host, fails clearly on connect; a compatible one works", async () => {
      const other = "0".repeat(64);
      const [major, minor] = contract.version.split(".").map(Number) as [number, number];
      const refused = [
        { contract: { ...contract, hash: other, version: `${major + 1}.0.0` }, says: /different major version/ },
        { contract: { ...contract, hash: other, version: `${major}.${minor + 1}.0` }, says: /older host/ },
        { contract: { ...contract, hash: other }, options: { contract: "exact" as const }, says: /exactly that contract/ },
      ];
      for (const { contract: theirs, options, says } of refused) {
        const stale = createClient(host().transport("stale", encoding), theirs, options);
        await assert.rejects(
          stale.ready,
          (e: unknown) => e instanceof ActorError && e.code === "contract_mismatch" && says.test(e.message),
        );
        stale.close();
      }
      // Same version, another hash: a compatible build (say, a later patch's docs).
      const compatible = createClient(host().transport("stale", encoding), { ...contract, hash: other });
      assert.equal((await compatible.ready).contractVersion, contract.version);
      compatible.close();
    });
  });
}
