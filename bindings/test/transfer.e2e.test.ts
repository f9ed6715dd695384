/**
 * Files far past the message limit, both ways, through the generated client's `uploadFile`
 * and `downloadFile` over both hosts: 200 MB (32 MB on the engine, see `BIG`) byte for byte with progress, from a stream of
 * uneven chunks, straight to a sink, and with the embedded host's peak memory kept to a few
 * pieces. `readFile` and `writeFile` past the limit name the helpers.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Readable } from "node:stream";
import { after, before, test } from "node:test";

import { createAgentOsClient, downloadFile, uploadFile, type AgentOsClient, type TransferProgress } from "../src/index.js";
import { isError } from "./expect.js";
import { describeOnEachHost } from "./host.js";

const MB = 1_000_000;
/**
 * On a Rivet Engine, the gateway keeps each message a client sends until the actor's runner
 * acknowledges it and closes the connection past its limit on those
 * (`guard.websocket_pending_limit_reached`), which 200 MB through one connection reaches with
 * rivetkit 2.3.19's runner; 32 MB does not.
 */
const BIG: Record<string, number> = { embedded: 200 * MB, rivet: 32 * MB };

/** The peak resident memory of process `pid` so far (`VmHWM`), in bytes. */
function peakRss(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmHWM:\s+(\d+) kB$/m);
  return Number(line![1]) * 1024;
}

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

describeOnEachHost("large files", {}, (host) => {
  let vm: AgentOsClient;
  before(() => {
    vm = createAgentOsClient(host().transport("transfer"));
  });
  after(() => {
    vm?.close();
  });

  test("a file far past the limit (200 MB; 32 MB on the engine) goes both ways byte for byte, with progress, in bounded host memory", async () => {
    const size = BIG[host().kind]!;
    const data = randomBytes(size);
    const before = host().kind === "embedded" ? peakRss(host().pid) : 0;
    const up: TransferProgress[] = [];
    assert.equal(await uploadFile(vm, "/big.bin", data, { onProgress: (p) => up.push(p) }), size);
    assert.ok(up.length >= 10, `${up.length} progress reports`);
    assert.deepEqual(up.at(-1), { bytes: size, total: size });
    assert.ok(up.every((p, i) => i === 0 || p.bytes > up[i - 1]!.bytes));
    assert.equal((await vm.stat("/big.bin")).size, size);

    const down: TransferProgress[] = [];
    const back = await downloadFile(vm, "/big.bin", { onProgress: (p) => down.push(p) });
    assert.ok(down.length >= 10, `${down.length} progress reports`);
    assert.deepEqual(down.at(-1), { bytes: size, total: size });
    assert.equal(back.byteLength, size);
    assert.equal(sha256(back), sha256(data));
    if (host().kind === "embedded") {
      const grew = peakRss(host().pid) - before;
      assert.ok(grew < 64 * 2 ** 20, `the host's peak RSS grew by ${grew} bytes`);
    }
  });

  test("a stream of uneven chunks uploads, and a download streams to a sink", async () => {
    const data = randomBytes(3 * MB + 17);
    const uneven = Readable.from(
      (function* () {
        for (let offset = 0, step = 1; offset < data.byteLength; offset += step, step = (step * 7) % 300_001 || 1)
          yield data.subarray(offset, offset + step);
      })(),
    );
    assert.equal(await uploadFile(vm, "/stream.bin", uneven, { chunkSize: 256 * 1024 }), data.byteLength);
    const sink: Buffer[] = [];
    const offsets: number[] = [];
    const kept = await downloadFile(vm, "/stream.bin", {
      chunkSize: 100_000,
      onChunk: (chunk, offset) => {
        sink.push(Buffer.from(chunk));
        offsets.push(offset);
      },
    });
    assert.equal(kept.byteLength, 0);
    assert.equal(offsets.length, Math.ceil(data.byteLength / 100_000));
    assert.ok(Buffer.concat(sink).equals(data));
    // Empty files both ways.
    assert.equal(await uploadFile(vm, "/empty.bin", new Uint8Array()), 0);
    assert.equal((await downloadFile(vm, "/empty.bin")).byteLength, 0);
  });

  test("readFile and writeFile past the message limit name the helpers; nothing is written", async () => {
    await assert.rejects(vm.readFile("/big.bin"), isError("limit_exceeded", /readFileRange \(the client's downloadFile does\)/));
    await assert.rejects(vm.writeFile("/too-big.bin", randomBytes(2 * MB)), isError("limit_exceeded", /uploadFile\(client, path, data\)/));
    assert.equal(await vm.exists("/too-big.bin"), false);
    // A write that fails keeps its upload for another try; a written one is gone.
    const { uploadId } = await vm.uploadChunk(new Uint8Array([1, 2, 3]));
    await assert.rejects(vm.writeFileFromUpload("/no/such/dir/f", uploadId), isError("not_found"));
    await vm.writeFileFromUpload("/f", uploadId);
    assert.deepEqual(await vm.readFile("/f"), new Uint8Array([1, 2, 3]));
    await assert.rejects(vm.writeFileFromUpload("/g", uploadId), isError("not_found", /upload/));
    await assert.rejects(vm.writeFileFromUpload("/f", "not-an-upload"), isError("not_found"));
  });
});
