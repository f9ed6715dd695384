/**
 * Whole-archive helpers over the chunked snapshot actions. A root filesystem archive can be
 * far larger than one message, so the host streams it out as `snapshotChunk` events and takes
 * it back as a sequence of `uploadChunk` calls. The client types are structural so this file
 * does not depend on generated code.
 */
import { ActorError } from "./errors.js";

export interface SnapshotChunkLike {
  index: number;
  data: Uint8Array;
}

export interface SnapshotInfoLike {
  /** Archive length in bytes. */
  size: number;
  /** Hex SHA-256 of the archive. */
  sha256: string;
  /** Number of chunks sent. */
  chunks: number;
}

export interface SnapshotReader {
  snapshotRootFilesystem(options: {
    onSnapshotChunk: (chunk: SnapshotChunkLike) => void;
  }): Promise<SnapshotInfoLike>;
}

/** The options of `snapshotRootFilesystem` other than the chunk callback. */
export type SnapshotDownloadOptions<C extends SnapshotReader> = Omit<
  NonNullable<Parameters<C["snapshotRootFilesystem"]>[0]>,
  "onSnapshotChunk"
>;

/** Takes a snapshot of the root filesystem and returns the verified archive. */
export async function downloadSnapshot<C extends SnapshotReader>(
  client: C,
  options?: SnapshotDownloadOptions<C>,
): Promise<Uint8Array> {
  const chunks = new Map<number, Uint8Array>();
  let duplicate: number | undefined;
  const info = await client.snapshotRootFilesystem({
    ...options,
    // Checked once the call is over: throwing inside an event handler would fail no call.
    onSnapshotChunk: ({ index, data }) => {
      if (chunks.has(index)) duplicate ??= index;
      chunks.set(index, data);
    },
  });
  if (duplicate !== undefined) throw corrupt(`chunk ${duplicate} arrived twice`);
  if (chunks.size !== info.chunks) throw corrupt(`got ${chunks.size} of ${info.chunks} chunks`);
  const archive = new Uint8Array(info.size);
  let offset = 0;
  for (let index = 0; index < info.chunks; index++) {
    const data = chunks.get(index);
    if (!data) throw corrupt(`chunk ${index} is missing`);
    if (offset + data.byteLength > info.size) throw corrupt(`chunks exceed the ${info.size} bytes announced`);
    archive.set(data, offset);
    offset += data.byteLength;
  }
  if (offset !== info.size) throw corrupt(`got ${offset} of ${info.size} bytes`);
  const digest = await sha256Hex(archive);
  if (digest !== info.sha256.toLowerCase()) {
    throw corrupt(`SHA-256 is ${digest}, the host announced ${info.sha256}`);
  }
  return archive;
}

export interface SnapshotWriter<R> {
  ready: Promise<{ limits: { maxMessageBytes: number } }>;
  uploadChunk(chunk: Uint8Array, uploadId?: string): Promise<{ uploadId: string; size: number }>;
  restoreRootFilesystem(options: { uploadId: string }): Promise<R>;
}

/**
 * Uploads `archive` in chunks and restores the root filesystem from it. The default chunk is
 * half the host's message limit, leaving room for the frame and JSON's base64 growth.
 */
export async function uploadSnapshot<R>(
  client: SnapshotWriter<R>,
  archive: Uint8Array,
  chunkSize?: number,
): Promise<R> {
  const size = chunkSize ?? Math.floor((await client.ready).limits.maxMessageBytes / 2);
  if (!(size >= 1)) throw new RangeError(`chunk size must be at least 1 byte, got ${size}`);
  let uploadId: string | undefined;
  let offset = 0;
  // At least one call, so an empty archive still gets an upload id.
  do {
    const chunk = archive.subarray(offset, offset + size);
    ({ uploadId } = await client.uploadChunk(chunk, uploadId));
    offset += chunk.byteLength;
  } while (offset < archive.byteLength);
  return client.restoreRootFilesystem({ uploadId });
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function corrupt(detail: string): ActorError {
  return new ActorError("agentos", "internal", `snapshot download is corrupt: ${detail}`);
}
