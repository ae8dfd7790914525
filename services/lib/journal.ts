/**
 * An append-only file of JSON lines, flushed to disk on every append, read back at start.
 * It lets a service remember what it did across a restart (payment-service: which orders it
 * paid), so a redelivery after a crash is recognised instead of being done again.
 *
 * Without a path it keeps nothing, and the service's memory is all there is.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { dirname } from "node:path";

export class Journal<T> {
  private fd: number | undefined;

  constructor(readonly path: string | undefined) {}

  /** Every record written so far; a last line cut short by a crash is skipped. */
  load(): T[] {
    if (this.path === undefined || !existsSync(this.path)) return [];
    const records: T[] = [];
    for (const line of readFileSync(this.path, "utf8").split("\n")) {
      if (line.trim() === "") continue;
      try {
        records.push(JSON.parse(line) as T);
      } catch {
        // a torn write at the end of the file: the record never counted as done
      }
    }
    return records;
  }

  /** Appends one record and waits for it to reach the disk. */
  append(record: T): void {
    if (this.path === undefined) return;
    if (this.fd === undefined) {
      mkdirSync(dirname(this.path), { recursive: true });
      this.fd = openSync(this.path, "a+");
      // A crash may have left a torn last line without its newline: end it, or the first
      // record appended now would share its line and be skipped with it on the next load.
      const size = fstatSync(this.fd).size;
      const last = Buffer.alloc(1);
      if (size > 0 && readSync(this.fd, last, 0, 1, size - 1) === 1 && last[0] !== 0x0a) writeSync(this.fd, "\n");
    }
    writeSync(this.fd, `${JSON.stringify(record)}\n`);
    fsyncSync(this.fd);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
