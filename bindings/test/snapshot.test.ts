import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, test } from "node:test";
import { downloadSnapshot, isActorError, uploadSnapshot } from "../src/index.js";

// Stand-ins for the generated client's snapshot actions, shaped as the generator emits them.
interface SnapshotChunk {
  index: number;
  data: Uint8Array;
}
interface SnapshotInfo {
  size: number;
  sha256: string;
  chunks: number;
}
interface SnapshotOptions {
  compress?: boolean;
}

const archive = Uint8Array.from({ length: 10 }, (_, i) => i + 1);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** A client whose snapshot streams `chunks` in the given order and announces `info`. */
function snapshotClient(chunks: SnapshotChunk[], info: SnapshotInfo) {
  const seen: unknown[] = [];
  return {
    seen,
    async snapshotRootFilesystem(
      options?: SnapshotOptions & { onSnapshotChunk?: (data: SnapshotChunk) => void },
    ): Promise<SnapshotInfo> {
      seen.push({ ...options, onSnapshotChunk: typeof options?.onSnapshotChunk });
      for (const chunk of chunks) options?.onSnapshotChunk?.(chunk);
      return info;
    },
  };
}

const inOrder = [archive.slice(0, 4), archive.slice(4, 8), archive.slice(8)].map((data, index) => ({ index, data }));
const info = { size: archive.length, sha256: sha256(archive), chunks: 3 };
const isCorrupt = (error: unknown) => isActorError(error, "internal") && /corrupt/.test(error.message);

describe("downloadSnapshot", () => {
  test("assembles chunks by index and passes the options through", async () => {
    const client = snapshotClient([inOrder[2]!, inOrder[0]!, inOrder[1]!], info);
    assert.deepStrictEqual(await downloadSnapshot(client, { compress: true }), archive);
    assert.deepStrictEqual(client.seen, [{ compress: true, onSnapshotChunk: "function" }]);
  });

  test("accepts an empty archive", async () => {
    const empty = new Uint8Array();
    const client = snapshotClient([], { size: 0, sha256: sha256(empty), chunks: 0 });
    assert.deepStrictEqual(await downloadSnapshot(client), empty);
  });

  test("rejects a wrong digest, a missing or repeated chunk and a wrong size", async () => {
    const cases = [
      snapshotClient(inOrder, { ...info, sha256: "00".repeat(32) }),
      snapshotClient(inOrder.slice(0, 2), info),
      snapshotClient([...inOrder, inOrder[0]!], info),
      snapshotClient(inOrder, { ...info, size: 9 }),
      snapshotClient(inOrder, { ...info, size: 11 }),
    ];
    for (const client of cases) await assert.rejects(downloadSnapshot(client), isCorrupt);
  });
});

describe("uploadSnapshot", () => {
  function uploadClient(maxMessageBytes: number) {
    const calls: Array<[string | undefined, number[]]> = [];
    const restored: unknown[] = [];
    return {
      calls,
      restored,
      ready: Promise.resolve({ actorId: "a", connectionId: "c", contractHash: "h", contractVersion: "1.0.0", limits: { maxMessageBytes } }),
      async uploadChunk(chunk: Uint8Array, uploadId?: string) {
        calls.push([uploadId, [...chunk]]);
        return { uploadId: "u1", size: calls.reduce((n, [, c]) => n + c.length, 0) };
      },
      async restoreRootFilesystem(options: { uploadId: string }): Promise<void> {
        restored.push(options);
      },
    };
  }

  test("uploads chunks of half the message limit, then restores", async () => {
    const client = uploadClient(8);
    await uploadSnapshot(client, archive);
    assert.deepStrictEqual(client.calls, [
      [undefined, [1, 2, 3, 4]],
      ["u1", [5, 6, 7, 8]],
      ["u1", [9, 10]],
    ]);
    assert.deepStrictEqual(client.restored, [{ uploadId: "u1" }]);
  });

  test("honours an explicit chunk size", async () => {
    const client = uploadClient(8);
    await uploadSnapshot(client, archive, 6);
    assert.deepStrictEqual(client.calls.map(([, c]) => c.length), [6, 4]);
  });

  test("uploads an empty archive as one empty chunk", async () => {
    const client = uploadClient(8);
    await uploadSnapshot(client, new Uint8Array());
    assert.deepStrictEqual(client.calls, [[undefined, []]]);
    assert.deepStrictEqual(client.restored, [{ uploadId: "u1" }]);
  });

  test("refuses a chunk size below one byte", async () => {
    await assert.rejects(uploadSnapshot(uploadClient(1), archive), RangeError);
    await assert.rejects(uploadSnapshot(uploadClient(8), archive, 0), RangeError);
  });
});
