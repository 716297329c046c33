/**
 * One live log file on a logger (`<spool>/<path>.log`): rows are rendered
 * into a buffer and written in large chunks; `rotate()` closes the file with
 * its `#close` line, moves it aside under its rotated name, archives it, and
 * starts a fresh file with a new header.
 *
 * The switch to the new file happens synchronously inside `rotate()` (one
 * rename and one open, both metadata operations), so every row is written
 * either before the switch, into the old file, or after it, into the new
 * one: none is lost or written twice. File writes themselves are
 * asynchronous and queued in order; `ready()` lets a caller wait while too
 * many bytes are queued.
 *
 * A full disk loses nothing: a chunk that does not fit is cut back out of
 * the file (no half line stays behind) and written again every second until
 * it fits, while `ready()` holds the writers back. A `journal` learns where
 * each chunk goes before it is written and which marks it carried once it
 * is (a logger acknowledges batches with it, see `mod/logger/`).
 *
 * @module
 */

import type { ZeekValue } from "../../zeek/mod.ts";
import type { LogColumn } from "./stream.ts";
import { AsciiWriter, type AsciiWriterOptions, type LogFormatter } from "./ascii_writer.ts";
import { DEFAULT_ROW_BUFFER_BYTES, RowBuffer } from "./ascii_values.ts";
import { JsonWriter, type JsonWriterOptions } from "./json_writer.ts";
import type { LogBatchLayout } from "./log_batch_layout.ts";
import { decodeLogRows } from "./log_batch_decoder.ts";
import { archiveLogFile, type ArchiveNameOptions, rotatedFileName } from "./rotation.ts";

/** `ascii` is Zeek's TSV format, `json` is `LogAscii::use_json=T`. */
export type LogFileFormat = "ascii" | "json";

/** Where rotated files are archived (zeekctl's LogDir), and how. */
export interface LogArchiveOptions {
  readonly logDir: string;
  /** CompressLogs; default true. */
  readonly compress?: boolean;
  /** This logger's name, appended to archive names when the cluster has several loggers. */
  readonly logger?: string | undefined;
}

/** Options of `LogFile.open`. */
export interface LogFileOptions {
  /** The logger's spool directory; the live file is `<dir>/<path>.log`. */
  readonly dir: string;
  /** The filter's path (`conn`). */
  readonly path: string;
  /** The filter's columns. */
  readonly fields: readonly LogColumn[];
  readonly format?: LogFileFormat;
  readonly ascii?: AsciiWriterOptions;
  readonly json?: JsonWriterOptions;
  /** Names and `#open`/`#close` in UTC instead of local time. */
  readonly utc?: boolean;
  /** Wall clock in seconds; defaults to `Date.now() / 1000`. */
  readonly clock?: () => number;
  /** Chunk size of file writes; default 256 KiB. */
  readonly bufferBytes?: number;
  /** Queued bytes above which `ready()` waits; default 16 MiB. */
  readonly maxPendingBytes?: number;
  /** Buffered rows are written at least this often; default 1000 ms, 0 turns it off. */
  readonly flushIntervalMs?: number;
  /** Archive rotated files; without it they stay in the spool directory under their rotated name. */
  readonly archive?: LogArchiveOptions;
  /**
   * A non-empty `<path>.log` found at open (left by a crash) is rotated and
   * archived first, with its modification time as close time; default true.
   */
  readonly recoverLeftover?: boolean;
  /**
   * A leftover `<path>.log` longer than this is cut to it first (the end of
   * the last chunk a crash interrupted, from the logger's ledger).
   */
  readonly truncateLeftover?: number;
  readonly journal?: ChunkJournal;
  /** Told once when a write starts failing (disk full) and once when it succeeds again. */
  readonly onWriteTrouble?: (trouble: string | undefined) => void;
}

/** Where a chunk goes: the live file (its inode) and the byte range. */
export interface ChunkPlace {
  readonly path: string;
  readonly inode: number;
  readonly start: number;
  readonly end: number;
}

/** What a `LogFile` tells about its chunks (see `LogFile.mark`). */
export interface ChunkJournal {
  /** Before a chunk carrying `marks` is written at `place`; may throw to retry later. */
  beforeWrite(place: ChunkPlace, marks: readonly unknown[]): void;
  /** Once that chunk is in the file. */
  written(marks: readonly unknown[]): void;
  /** The chunk will never be written (the file failed for another reason than space). */
  failed(marks: readonly unknown[]): void;
}

/** How long a write that failed for want of space waits before it tries again. */
export const WRITE_RETRY_MS = 1000;

/** What one rotation (or the final close) produced. */
export interface RotationResult {
  /** Where the closed file was moved in the spool directory. */
  readonly rotatedPath: string;
  /** Where it was archived, when archiving is configured. */
  readonly archivePath: string | undefined;
  readonly openTime: number;
  readonly closeTime: number;
  /** Data rows in the closed file. */
  readonly rows: number;
}

/** Thrown when writing a log file fails; later writes to that file fail the same way. */
export class LogWriteError extends Error {
  override readonly name = "LogWriteError";
}

/** Thrown when a closed `LogFile` is used. */
export class LogFileClosedError extends Error {
  override readonly name = "LogFileClosedError";
}

/** Default limit of queued bytes before `ready()` waits. */
export const DEFAULT_MAX_PENDING_BYTES = 16 * 1024 * 1024;
/** Default interval of the automatic flush. */
export const DEFAULT_FLUSH_INTERVAL_MS = 1000;
const MAX_POOLED_BUFFERS = 4;

interface Generation {
  readonly file: Deno.FsFile;
  readonly openTime: number;
  readonly inode: number;
  /** Bytes queued for this file so far (the next chunk's start). */
  offset: number;
  rows: number;
  chain: Promise<void>;
  error: LogWriteError | undefined;
}

/**
 * One open log file for one path.
 *
 * @example
 * ```ts
 * await using conn = await LogFile.open({ dir: spool, path: "conn", fields: filter.fields,
 *   archive: { logDir: "/var/log/weir" } });
 * conn.write(rows, filter.indices);
 * await conn.rotate();
 * ```
 */
export class LogFile implements AsyncDisposable {
  readonly #livePath: string;
  readonly #options: LogFileOptions;
  readonly #formatter: LogFormatter;
  readonly #clock: () => number;
  readonly #threshold: number;
  readonly #maxPending: number;
  readonly #pool: Uint8Array[] = [];
  readonly #buf: RowBuffer;
  #gen: Generation;
  #pending = 0;
  #waiters: (() => void)[] = [];
  /** Marks for the bytes buffered now (`mark`). */
  #marks: unknown[] = [];
  #trouble: string | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #rotations = new Set<Promise<unknown>>();

  private constructor(
    options: LogFileOptions,
    livePath: string,
    file: Deno.FsFile,
    openTime: number,
  ) {
    this.#options = options;
    this.#livePath = livePath;
    this.#clock = options.clock ?? (() => Date.now() / 1000);
    this.#threshold = options.bufferBytes ?? DEFAULT_ROW_BUFFER_BYTES;
    this.#maxPending = options.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES;
    this.#formatter = (options.format ?? "ascii") === "json"
      ? new JsonWriter(options.fields, options.json)
      : new AsciiWriter(options.fields, {
        ...options.ascii,
        utc: options.utc ?? options.ascii?.utc ?? false,
      });
    this.#buf = new RowBuffer(this.#threshold * 2);
    this.#gen = this.#startGeneration(file, openTime);
    const every = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
    if (every > 0) {
      const timer = setInterval(() => this.#flushBuffer(), every);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /**
   * Opens (creating or truncating) `<dir>/<path>.log` and writes its header.
   * A leftover file from a previous run is rotated first (see
   * `recoverLeftover`).
   */
  static async open(options: LogFileOptions): Promise<LogFile> {
    const format = options.format ?? "ascii";
    if (format !== "ascii" && format !== "json") {
      throw new RangeError(
        `Cannot open log ${options.path}: unknown format ${
          JSON.stringify(format)
        }; use "ascii" or "json"`,
      );
    }
    const livePath = `${options.dir}/${options.path}.log`;
    await Deno.mkdir(options.dir, { recursive: true });
    if (options.truncateLeftover !== undefined) {
      await truncateIfLonger(livePath, options.truncateLeftover);
    }
    if (options.recoverLeftover ?? true) await recoverLeftover(livePath, options);
    let file: Deno.FsFile;
    try {
      file = await Deno.open(livePath, { write: true, create: true, truncate: true });
    } catch (err) {
      throw new LogWriteError(
        `Cannot open log file ${livePath}: ${
          errorText(err)
        }; check that the spool directory is writable`,
        { cause: err },
      );
    }
    const clock = options.clock ?? (() => Date.now() / 1000);
    return new LogFile(options, livePath, file, clock());
  }

  /** Path of the live file. */
  get filePath(): string {
    return this.#livePath;
  }

  /** When the live file was opened (seconds). */
  get openTime(): number {
    return this.#gen.openTime;
  }

  /** Data rows written to the live file so far. */
  get rows(): number {
    return this.#gen.rows;
  }

  /** Bytes handed to the file system but not yet written. */
  get pendingBytes(): number {
    return this.#pending;
  }

  /**
   * Appends rows; `indices[i]` is the row index of field `i` (a filter's
   * `indices`). A row that fails to render leaves nothing behind and the
   * error is rethrown; the rows before it are kept.
   */
  write(rows: readonly (readonly ZeekValue[])[], indices?: Int32Array, mark?: unknown): void {
    this.#check();
    const fmt = this.#formatter;
    const buf = this.#buf;
    // Rows that carry a mark stay in one chunk, so none of them is in the file before the mark.
    const threshold = mark === undefined ? this.#threshold : Infinity;
    const gen = this.#gen;
    for (let i = 0; i < rows.length; i++) {
      const start = buf.length;
      try {
        fmt.appendRow(buf, rows[i]!, indices);
      } catch (err) {
        buf.length = start;
        throw err;
      }
      gen.rows++;
      if (buf.length >= threshold) this.#flushBuffer();
    }
    if (mark !== undefined) this.#mark(mark);
  }

  /**
   * Appends the records of an encoded batch whose layout
   * `readLogBatchLayout` read; the batch's fields must be this file's. The
   * ASCII format renders them straight from the bytes, JSON decodes them
   * first. Throws `LogDecodeError` for a malformed batch and writes none of
   * it.
   */
  writeEncoded(bytes: Uint8Array, layout: LogBatchLayout, mark?: unknown): void {
    this.#check();
    const fmt = this.#formatter;
    if (fmt.appendEncodedRows === undefined) {
      this.write(decodeLogRows(bytes, layout), undefined, mark);
      return;
    }
    fmt.appendEncodedRows(this.#buf, bytes, layout);
    this.#gen.rows += layout.recordCount;
    if (mark !== undefined) this.#mark(mark);
    if (this.#buf.length >= this.#threshold) this.#flushBuffer();
  }

  /**
   * Attaches `mark` (given to `write` or `writeEncoded` with a batch's
   * rows) to the chunk that writes them: the journal gets it back once
   * that chunk is in the file.
   */
  #mark(mark: unknown): void {
    if (this.#options.journal === undefined) return;
    this.#marks.push(mark);
  }

  /** Appends one row. */
  writeRow(values: readonly ZeekValue[], indices?: Int32Array): void {
    this.write([values], indices);
  }

  /** Resolves once fewer than `maxPendingBytes` are queued; await it between batches. */
  ready(): Promise<void> {
    if (this.#pending < this.#maxPending) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Writes everything buffered so far and waits until it is in the file. */
  async flush(): Promise<void> {
    this.#check();
    this.#flushBuffer();
    const gen = this.#gen;
    await gen.chain;
    if (gen.error) throw gen.error;
  }

  /**
   * Closes the live file with `#close`, moves it to its rotated name, opens
   * a new live file with a fresh header, and (when configured) archives the
   * closed one. The switch happens before this returns its promise; the
   * promise settles when the closed file is archived.
   */
  rotate(now: number = this.#clock()): Promise<RotationResult> {
    this.#check();
    const old = this.#gen;
    let file: Deno.FsFile;
    let rotatedPath: string;
    try {
      rotatedPath = this.#closeIntoRotated(old, now);
      file = Deno.openSync(this.#livePath, { write: true, create: true, truncate: true });
    } catch (err) {
      // The old file already has its #close line: stop here rather than write past it.
      this.#shutDown();
      old.chain.finally(() => old.file.close());
      throw err instanceof LogWriteError ? err : new LogWriteError(
        `Cannot reopen log file ${this.#livePath} after rotation: ${errorText(err)}; ` +
          `open a new LogFile`,
        { cause: err },
      );
    }
    this.#gen = this.#startGeneration(file, now);
    const done = this.#finish(old, rotatedPath, now, true);
    const settled: Promise<unknown> = done.catch(() => {}).finally(() =>
      this.#rotations.delete(settled)
    );
    this.#rotations.add(settled);
    return done;
  }

  /**
   * Writes `#close` and closes the file. With `archive` (Zeek rotates on
   * shutdown too) the file is rotated and archived as well; otherwise it
   * stays as `<path>.log`. Idempotent: later calls resolve to undefined.
   */
  async close(
    options: { readonly now?: number; readonly archive?: boolean } = {},
  ): Promise<RotationResult | undefined> {
    if (this.#closed) return undefined;
    const now = options.now ?? this.#clock();
    const old = this.#gen;
    this.#shutDown();
    try {
      if (options.archive) {
        let rotatedPath: string;
        try {
          rotatedPath = this.#closeIntoRotated(old, now);
        } catch (err) {
          await old.chain;
          old.file.close();
          throw err;
        }
        return await this.#finish(old, rotatedPath, now, true);
      }
      this.#buf.ascii(this.#formatter.footer(now));
      this.#flushBuffer();
      await this.#finish(old, this.#livePath, now, false);
      return undefined;
    } finally {
      await Promise.all([...this.#rotations]);
    }
  }

  #shutDown(): void {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #check(): void {
    if (this.#closed) {
      throw new LogFileClosedError(
        `Cannot write to log ${this.#livePath}: it is closed; open a new LogFile`,
      );
    }
    const err = this.#gen.error;
    if (err) throw err;
  }

  #startGeneration(file: Deno.FsFile, openTime: number): Generation {
    const gen: Generation = {
      file,
      openTime,
      inode: this.#options.journal === undefined ? 0 : file.statSync().ino ?? 0,
      offset: 0,
      rows: 0,
      chain: Promise.resolve(),
      error: undefined,
    };
    const header = this.#formatter.header(this.#options.path, openTime);
    if (header.length > 0) this.#buf.ascii(header);
    return gen;
  }

  /** Ends the current generation's content and renames its file; rows after this go elsewhere. */
  #closeIntoRotated(gen: Generation, now: number): string {
    this.#buf.ascii(this.#formatter.footer(now));
    this.#flushBuffer();
    const rotatedPath = unusedPathSync(
      `${this.#options.dir}/${
        rotatedFileName(this.#options.path, gen.openTime, { utc: this.#options.utc ?? false })
      }`,
    );
    try {
      Deno.renameSync(this.#livePath, rotatedPath);
    } catch (err) {
      throw new LogWriteError(
        `Cannot rotate log file ${this.#livePath} to ${rotatedPath}: ${errorText(err)}`,
        { cause: err },
      );
    }
    return rotatedPath;
  }

  async #finish(
    gen: Generation,
    closedPath: string,
    now: number,
    archive: boolean,
  ): Promise<RotationResult> {
    await gen.chain;
    gen.file.close();
    if (gen.error) throw gen.error;
    const a = this.#options.archive;
    let archivePath: string | undefined;
    if (archive && a !== undefined) {
      const naming: ArchiveNameOptions = {
        utc: this.#options.utc ?? false,
        compress: a.compress ?? true,
        logger: a.logger,
      };
      archivePath = await archiveLogFile(closedPath, this.#options.path, gen.openTime, now, {
        ...naming,
        logDir: a.logDir,
      });
    }
    return Object.freeze({
      rotatedPath: closedPath,
      archivePath,
      openTime: gen.openTime,
      closeTime: now,
      rows: gen.rows,
    });
  }

  /** Hands the buffered bytes to the current file's write queue. */
  #flushBuffer(): void {
    if (this.#buf.length === 0) return;
    const chunk = this.#buf.detach(this.#pool.pop());
    const gen = this.#gen;
    const marks = this.#marks;
    this.#marks = [];
    const place: ChunkPlace = {
      path: this.#options.path,
      inode: gen.inode,
      start: gen.offset,
      end: gen.offset + chunk.length,
    };
    gen.offset = place.end;
    this.#pending += chunk.length;
    gen.chain = gen.chain.then(async () => {
      try {
        if (gen.error === undefined) await this.#writeChunk(gen, chunk, place, marks);
        else if (marks.length > 0) this.#options.journal?.failed(marks);
      } catch (err) {
        if (marks.length > 0) this.#options.journal?.failed(marks);
        gen.error = new LogWriteError(
          `Cannot write to log file ${this.#livePath}: ${
            errorText(err)
          }; check free disk space and permissions`,
          { cause: err },
        );
      } finally {
        this.#release(chunk);
      }
    });
  }

  /**
   * Writes one chunk at `place.start`; a failure for want of space cuts the
   * file back to where the chunk began and tries again every second.
   */
  async #writeChunk(
    gen: Generation,
    chunk: Uint8Array,
    place: ChunkPlace,
    marks: unknown[],
  ): Promise<void> {
    const journal = this.#options.journal;
    while (true) {
      try {
        if (journal !== undefined && marks.length > 0) journal.beforeWrite(place, marks);
        await writeAll(gen.file, chunk);
        break;
      } catch (err) {
        if (!isOutOfSpace(err)) throw err;
        await gen.file.truncate(place.start);
        await gen.file.seek(place.start, Deno.SeekMode.Start);
        this.#setTrouble(
          `Cannot write to log file ${this.#livePath}: ${errorText(err)}; ` +
            `holding ${this.#pending} bytes and trying again every ${WRITE_RETRY_MS / 1000} s`,
        );
        await new Promise((r) => setTimeout(r, WRITE_RETRY_MS));
      }
    }
    this.#setTrouble(undefined);
    if (journal !== undefined && marks.length > 0) journal.written(marks);
  }

  #setTrouble(trouble: string | undefined): void {
    if ((trouble === undefined) === (this.#trouble === undefined)) return;
    this.#trouble = trouble;
    this.#options.onWriteTrouble?.(trouble);
  }

  #release(chunk: Uint8Array): void {
    this.#pending -= chunk.length;
    if (this.#pool.length < MAX_POOLED_BUFFERS && chunk.byteOffset === 0) {
      this.#pool.push(new Uint8Array(chunk.buffer));
    }
    if (this.#pending < this.#maxPending && this.#waiters.length > 0) {
      const waiters = this.#waiters;
      this.#waiters = [];
      for (const w of waiters) w();
    }
  }
}

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += await file.write(chunk.subarray(off));
}

/** ENOSPC or EDQUOT: the write may succeed once space returns. */
function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOSPC" || code === "EDQUOT") return true;
  return err instanceof Error && /os error (28|122)\)/.test(err.message);
}

async function truncateIfLonger(path: string, length: number): Promise<void> {
  try {
    if ((await Deno.stat(path)).size > length) await Deno.truncate(path, length);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

async function recoverLeftover(livePath: string, options: LogFileOptions): Promise<void> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(livePath);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return;
    throw err;
  }
  if (!info.isFile || info.size === 0) return;
  const closeTime = (info.mtime?.getTime() ?? Date.now()) / 1000;
  const openTime = Math.min(
    (info.birthtime?.getTime() ?? info.mtime?.getTime() ?? Date.now()) / 1000,
    closeTime,
  );
  const utc = options.utc ?? false;
  const rotatedPath = unusedPathSync(
    `${options.dir}/${rotatedFileName(options.path, openTime, { utc })}`,
  );
  await Deno.rename(livePath, rotatedPath);
  const a = options.archive;
  if (a !== undefined) {
    await archiveLogFile(rotatedPath, options.path, openTime, closeTime, {
      logDir: a.logDir,
      compress: a.compress ?? true,
      logger: a.logger,
      utc,
    });
  }
}

/** `path`, or `path` with `-2`, `-3`, … before `.log` when taken. */
function unusedPathSync(path: string): string {
  if (!existsSync(path)) return path;
  const dot = path.lastIndexOf(".log");
  for (let n = 2;; n++) {
    const candidate = `${path.slice(0, dot)}-${n}${path.slice(dot)}`;
    if (!existsSync(candidate)) return candidate;
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
