/**
 * The files a logger writes: one `LogFile` per path in its spool directory,
 * opened on the first batch for that path, rotated together on Zeek's
 * aligned schedule (every LogRotationInterval), rotated once more on
 * shutdown, and archived as zeekctl does. Batches from the network and the
 * logger's own writes (it is a `LogSink`) land in the same files.
 *
 * @module
 */

import type { Reporter } from "../process/mod.ts";
import { typeName, type ZeekValue } from "../../zeek/mod.ts";
import {
  type AsciiWriterOptions,
  type ChunkJournal,
  decodeLogRows,
  DEFAULT_MAX_PENDING_BYTES,
  expireArchives,
  type JsonWriterOptions,
  type LogArchiveOptions,
  type LogBatchLayout,
  type LogColumn,
  LogDecodeError,
  LogFile,
  type LogFileFormat,
  type LogFilter,
  type LogSink,
  type LogStream,
  nextRotationTime,
} from "../log/mod.ts";

export interface LogWriterPoolOptions {
  /** The logger's working directory; live files are `<spoolDir>/<path>.log`. */
  readonly spoolDir: string;
  readonly format?: LogFileFormat;
  readonly ascii?: AsciiWriterOptions;
  readonly json?: JsonWriterOptions;
  /** Where rotated files are archived; without it they stay in the spool directory. */
  readonly archive?: LogArchiveOptions;
  /** LogRotationInterval in seconds; 0 never rotates (except on close). */
  readonly rotationIntervalSec: number;
  /** LogExpireInterval in seconds; 0 keeps archives forever. */
  readonly expireIntervalSec?: number;
  readonly utc?: boolean;
  readonly reporter?: Reporter;
  /** Wall clock in seconds (tests). */
  readonly clock?: () => number;
  /** Told where each chunk goes and when it is written (a logger's ledger). */
  readonly journal?: ChunkJournal;
  /** Live files left by a crash to cut back first: path → length. */
  readonly truncations?: ReadonlyMap<string, number>;
}

interface Pending {
  readonly rows: readonly (readonly ZeekValue[])[];
  readonly indices: Int32Array | undefined;
  readonly mark?: unknown;
}

interface Entry {
  readonly path: string;
  readonly shape: string;
  file: LogFile | undefined;
  opening: Promise<void> | undefined;
  queued: Pending[];
}

/** What the pool counts. */
export interface LogWriterPoolCounters {
  rowsWritten: number;
  rowsFailed: number;
  rotations: number;
}

/** Every log file of one logger. */
export class LogWriterPool implements LogSink, AsyncDisposable {
  readonly counters: LogWriterPoolCounters = { rowsWritten: 0, rowsFailed: 0, rotations: 0 };
  readonly #options: LogWriterPoolOptions;
  readonly #entries = new Map<string, Entry>();
  readonly #clock: () => number;
  readonly #rotations = new Set<Promise<unknown>>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: LogWriterPoolOptions) {
    this.#options = options;
    this.#clock = options.clock ?? (() => Date.now() / 1000);
    if (options.rotationIntervalSec > 0) this.#scheduleRotation();
  }

  /** The paths with a file open (or opening). */
  paths(): string[] {
    return [...this.#entries.keys()];
  }

  /** `LogSink`: a local write of one row through a filter. */
  write(_stream: LogStream, filter: LogFilter, values: readonly ZeekValue[]): void {
    this.writeRows(filter.path, filter.fields, [values], filter.indices);
  }

  /**
   * Writes rows for `path`. `fields` describes the written columns;
   * `indices[i]` picks field `i` out of each row (rows decoded from a batch
   * have exactly the fields, so no indices). A path whose columns change
   * (a filter was replaced) is rotated and reopened with the new header.
   */
  writeRows(
    path: string,
    fields: readonly LogColumn[],
    rows: readonly (readonly ZeekValue[])[],
    indices?: Int32Array,
  ): void {
    if (this.#closed) {
      this.counters.rowsFailed += rows.length;
      return;
    }
    const entry = this.#entryFor(path, fields);
    if (entry.file === undefined) {
      entry.queued.push({ rows, indices });
      return;
    }
    this.#writeNow(entry, entry.file, rows, indices);
  }

  /**
   * Writes the records of an encoded batch (a logger's network input)
   * without decoding them into values when the file is ASCII. `bytes` may
   * be borrowed: they are only read during this call. Throws
   * `LogDecodeError` for a malformed batch, of which nothing is written.
   */
  writeEncoded(bytes: Uint8Array, layout: LogBatchLayout, mark?: unknown): void {
    const n = layout.recordCount;
    if (this.#closed) {
      this.counters.rowsFailed += n;
      if (mark !== undefined) this.#options.journal?.failed([mark]);
      return;
    }
    // Rows that must wait for their file to open are decoded into values
    // that own their bytes; decoding first also refuses a malformed batch
    // before it opens a file.
    const waiting = this.#entries.get(layout.path)?.file === undefined
      ? decodeLogRows(bytes, layout)
      : undefined;
    const entry = this.#entryFor(layout.path, layout.fields);
    const file = entry.file;
    if (file === undefined) {
      // (A changed column list retired an open file: then `waiting` is unset.)
      const rows = waiting ?? decodeLogRows(bytes, layout);
      entry.queued.push({ rows, indices: undefined, ...(mark === undefined ? {} : { mark }) });
      return;
    }
    try {
      file.writeEncoded(bytes, layout, mark);
      this.counters.rowsWritten += n;
    } catch (error) {
      if (error instanceof LogDecodeError) throw error;
      this.counters.rowsFailed += n;
      if (mark !== undefined) this.#options.journal?.failed([mark]);
      this.#options.reporter?.error(`Cannot write to ${entry.path}.log: ${message(error)}`);
    }
  }

  /** The entry of `path`, opened if needed; a path whose columns changed is rotated and reopened. */
  #entryFor(path: string, fields: readonly LogColumn[]): Entry {
    const shape = shapeOf(fields);
    const entry = this.#entries.get(path);
    if (entry !== undefined && entry.shape === shape) return entry;
    if (entry !== undefined) {
      this.#options.reporter?.warning(
        `The columns of ${path}.log changed; rotating it and starting a file with the new header`,
      );
      this.#retire(entry);
    }
    return this.#open(path, shape, fields);
  }

  #writeNow(
    entry: Entry,
    file: LogFile,
    rows: readonly (readonly ZeekValue[])[],
    indices: Int32Array | undefined,
    mark?: unknown,
  ): void {
    try {
      file.write(rows, indices, mark);
      this.counters.rowsWritten += rows.length;
    } catch (error) {
      this.counters.rowsFailed += rows.length;
      if (mark !== undefined) this.#options.journal?.failed([mark]);
      this.#options.reporter?.error(`Cannot write to ${entry.path}.log: ${message(error)}`);
    }
  }

  #open(path: string, shape: string, fields: readonly LogColumn[]): Entry {
    const entry: Entry = { path, shape, file: undefined, opening: undefined, queued: [] };
    this.#entries.set(path, entry);
    const o = this.#options;
    entry.opening = LogFile.open({
      dir: o.spoolDir,
      path,
      fields,
      ...(o.format === undefined ? {} : { format: o.format }),
      ...(o.ascii === undefined ? {} : { ascii: o.ascii }),
      ...(o.json === undefined ? {} : { json: o.json }),
      ...(o.archive === undefined ? {} : { archive: o.archive }),
      ...(o.utc === undefined ? {} : { utc: o.utc }),
      clock: this.#clock,
      ...(o.journal === undefined ? {} : { journal: o.journal }),
      ...(o.truncations?.has(path) ? { truncateLeftover: o.truncations.get(path)! } : {}),
      onWriteTrouble: (trouble) => {
        if (trouble !== undefined) o.reporter?.error(`${trouble}; not acknowledging batches`);
        else o.reporter?.info(`${path}.log is written again`);
      },
    }).then((file) => {
      entry.opening = undefined;
      if (this.#entries.get(path) !== entry || this.#closed) {
        // Replaced or closed while opening: write what it collected, then close.
        for (const p of entry.queued.splice(0)) {
          this.#writeNow(entry, file, p.rows, p.indices, p.mark);
        }
        this.#track(file.close({ archive: o.archive !== undefined }));
        return;
      }
      entry.file = file;
      for (const p of entry.queued.splice(0)) {
        this.#writeNow(entry, file, p.rows, p.indices, p.mark);
      }
    }, (error) => {
      entry.opening = undefined;
      const lost = entry.queued.reduce((n, p) => n + p.rows.length, 0);
      const marks = entry.queued.flatMap((p) => p.mark === undefined ? [] : [p.mark]);
      if (marks.length > 0) o.journal?.failed(marks);
      entry.queued = [];
      this.counters.rowsFailed += lost;
      this.#options.reporter?.error(`Cannot open ${path}.log: ${message(error)}`);
      if (this.#entries.get(path) === entry) this.#entries.delete(path);
    });
    return entry;
  }

  #retire(entry: Entry): void {
    this.#entries.delete(entry.path);
    if (entry.file !== undefined) {
      this.#track(entry.file.close({ archive: this.#options.archive !== undefined }));
    }
  }

  #track(p: Promise<unknown>): void {
    const settled: Promise<unknown> = p.catch((error) => {
      this.#options.reporter?.error(`Log rotation failed: ${message(error)}`);
    }).finally(() => this.#rotations.delete(settled));
    this.#rotations.add(settled);
  }

  #scheduleRotation(): void {
    const now = this.#clock();
    const at = nextRotationTime(now, this.#options.rotationIntervalSec, {
      ...(this.#options.utc === undefined ? {} : { utc: this.#options.utc }),
    });
    this.#timer = setTimeout(() => {
      this.rotateAll();
      if (!this.#closed) this.#scheduleRotation();
    }, Math.max(0, (at - now) * 1000));
  }

  /**
   * Rotates every open file now (the schedule calls it). Each file switches
   * synchronously, so no row lands in two files or none; archiving goes on
   * in the background (`settled()` waits for it).
   */
  rotateAll(now: number = this.#clock()): void {
    for (const entry of this.#entries.values()) {
      if (entry.file === undefined) continue;
      this.counters.rotations++;
      this.#track(entry.file.rotate(now));
    }
    const expire = this.#options.expireIntervalSec ?? 0;
    const logDir = this.#options.archive?.logDir;
    if (expire > 0 && logDir !== undefined) this.#track(expireArchives(logDir, expire, now));
  }

  /** Resolves once every file has room for more writes (backpressure for a receiver). */
  async ready(): Promise<void> {
    for (const entry of this.#entries.values()) {
      if (entry.opening !== undefined) await entry.opening;
      if (entry.file !== undefined) await entry.file.ready();
    }
  }

  /** Whether `ready()` would wait: a file has its limit queued, or one is still opening with batches waiting. */
  get congested(): boolean {
    for (const entry of this.#entries.values()) {
      if (entry.file !== undefined && entry.file.pendingBytes >= DEFAULT_MAX_PENDING_BYTES) {
        return true;
      }
      // Batches for a file still opening are decoded into values to wait:
      // slower and bigger than rendering them, so stop reading until it is open.
      if (entry.opening !== undefined && entry.queued.length > 0) {
        return true;
      }
    }
    return false;
  }

  /** Waits for background rotations and archiving to finish. */
  async settled(): Promise<void> {
    while (this.#rotations.size > 0) await Promise.all([...this.#rotations]);
  }

  /** Writes everything buffered so far to the files. */
  async flush(): Promise<void> {
    for (const entry of this.#entries.values()) {
      if (entry.opening !== undefined) await entry.opening;
      await entry.file?.flush();
    }
  }

  /** Closes every file, rotating and archiving it as Zeek does on shutdown. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const openings = [...this.#entries.values()].map((e) => e.opening).filter((p) => p);
    await Promise.all(openings);
    this.#closed = true;
    for (const entry of [...this.#entries.values()]) this.#retire(entry);
    await this.settled();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

function shapeOf(fields: readonly LogColumn[]): string {
  return fields.map((f) => `${f.name}:${typeName(f.type)}${f.optional ? "?" : ""}`).join("\t");
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
