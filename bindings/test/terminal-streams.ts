/**
 * Node streams that stand in for a TTY in terminal tests: an input to type into and an
 * output that records what the shell wrote and can be resized like a terminal window.
 */
import { PassThrough, Writable } from "node:stream";

export class ScreenStream extends Writable {
  columns: number;
  rows: number;
  private readonly chunks: Buffer[] = [];
  private waiters: Array<() => void> = [];

  constructor(cols = 80, rows = 24) {
    super();
    this.columns = cols;
    this.rows = rows;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.chunks.push(chunk);
    for (const wake of this.waiters.splice(0)) wake();
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }

  /** Changes the size and tells listeners, as a TTY does on SIGWINCH. */
  resize(cols: number, rows: number): void {
    [this.columns, this.rows] = [cols, rows];
    this.emit("resize");
  }

  /** Resolves once the output matches `pattern`; rejects with the output so far after `ms`. */
  async waitFor(pattern: RegExp, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pattern.test(this.text())) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no ${pattern} in the output:\n${JSON.stringify(this.text())}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** A keyboard: what is written to it is what the user typed. */
export const keyboard = () => new PassThrough();
