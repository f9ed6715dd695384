/**
 * Files far larger than one message, both ways, over the chunked file actions: `uploadChunk`
 * then `writeFileFromUpload`, and `readFileRange` until the end. Each piece is half the
 * host's message limit by default (room for the frame and JSON's base64 growth), and only one
 * is in flight, so neither side holds more than a piece at a time beyond what the caller
 * gives or keeps. The client types are structural so this file does not depend on generated
 * code.
 */

/** What a request past the host's message limit should use instead, by action. */
export const LARGE_REQUEST_HINTS: Readonly<Record<string, string>> = {
  writeFile: "write larger files with uploadFile(client, path, data)",
  restoreRootFilesystem: "restore larger archives with uploadSnapshot(client, archive)",
};

export interface FileWriter {
  ready: Promise<{ limits: { maxMessageBytes: number } }>;
  uploadChunk(chunk: Uint8Array, uploadId?: string): Promise<{ uploadId: string; size: number }>;
  writeFileFromUpload(path: string, uploadId: string): Promise<void>;
}

export interface FileReader {
  ready: Promise<{ limits: { maxMessageBytes: number } }>;
  readFileRange(path: string, offset: number, length: number): Promise<{ data: Uint8Array; size: number }>;
}

/** Bytes moved so far, and of how many (when known: an upload from a stream does not know). */
export interface TransferProgress {
  bytes: number;
  total?: number;
}

export interface TransferOptions {
  /** Called after each piece. */
  onProgress?: (progress: TransferProgress) => void;
  /** Bytes per piece; default half the host's message limit. */
  chunkSize?: number;
}

/**
 * Writes `data` (bytes, or any async iterable of bytes such as a Node stream) to `path` in the
 * VM, creating or replacing the file once every byte has arrived: until then the file is
 * untouched. Returns the file's size.
 */
export async function uploadFile(
  client: FileWriter,
  path: string,
  data: Uint8Array | AsyncIterable<Uint8Array>,
  options: TransferOptions = {},
): Promise<number> {
  const size = await pieceSize(client, options.chunkSize);
  const total = data instanceof Uint8Array ? data.byteLength : undefined;
  let uploadId: string | undefined;
  let bytes = 0;
  for await (const piece of pieces(data, size)) {
    ({ uploadId, size: bytes } = await client.uploadChunk(piece, uploadId));
    options.onProgress?.({ bytes, total });
  }
  // An empty file is still one upload.
  uploadId ??= (await client.uploadChunk(new Uint8Array(), undefined)).uploadId;
  await client.writeFileFromUpload(path, uploadId);
  return bytes;
}

/**
 * Reads the file at `path` in the VM in pieces. With `onChunk`, each piece goes there as it
 * arrives and the result is empty (for files to stream to disk); otherwise the whole file is
 * returned. A file that changes size meanwhile is an error rather than a mix of two versions.
 */
export async function downloadFile(
  client: FileReader,
  path: string,
  options: TransferOptions & { onChunk?: (chunk: Uint8Array, offset: number) => void } = {},
): Promise<Uint8Array> {
  const size = await pieceSize(client, options.chunkSize);
  const kept: Uint8Array[] = [];
  let offset = 0;
  let total: number | undefined;
  for (;;) {
    const range = await client.readFileRange(path, offset, size);
    if (total !== undefined && range.size !== total) {
      throw new Error(`${path} changed size during the download (${total} → ${range.size} bytes)`);
    }
    total = range.size;
    if (range.data.byteLength > 0) {
      if (options.onChunk) options.onChunk(range.data, offset);
      else kept.push(range.data);
      offset += range.data.byteLength;
      options.onProgress?.({ bytes: offset, total });
    }
    if (offset >= total || range.data.byteLength === 0) break;
  }
  if (offset !== total) throw new Error(`${path}: got ${offset} of ${total} bytes`);
  return concat(kept, options.onChunk ? 0 : offset);
}

async function pieceSize(client: FileReader | FileWriter, chunkSize: number | undefined): Promise<number> {
  const size = chunkSize ?? Math.floor((await client.ready).limits.maxMessageBytes / 2);
  if (!(size >= 1)) throw new RangeError(`chunk size must be at least 1 byte, got ${size}`);
  return size;
}

/** `data` cut into pieces of `size` bytes (the last one shorter). */
async function* pieces(data: Uint8Array | AsyncIterable<Uint8Array>, size: number): AsyncGenerator<Uint8Array> {
  if (data instanceof Uint8Array) {
    for (let offset = 0; offset < data.byteLength; offset += size) yield data.subarray(offset, offset + size);
    return;
  }
  let pending: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of data) {
    pending.push(chunk);
    length += chunk.byteLength;
    while (length >= size) {
      const joined = concat(pending, length);
      yield joined.subarray(0, size);
      pending = [joined.subarray(size)];
      length -= size;
    }
  }
  if (length > 0) yield concat(pending, length);
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.byteLength === length) return parts[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
