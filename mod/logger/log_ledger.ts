/**
 * A logger's ledger: which acknowledged batches (sender node, incarnation,
 * sequence number, see `mod/log/acked_delivery.ts`) are in its files, so a
 * batch sent twice (its acknowledgement was lost, or the logger was killed
 * after writing it) is written once.
 *
 * It is the files' `ChunkJournal`: before a chunk of a log file is written,
 * one line in `<spool>/.weir-ledger` names the batches the chunk carries
 * and where it goes (the file's inode and byte range); once the chunk is in
 * the file the batches count as written and are acknowledged. A logger
 * killed in between leaves a ledger line whose chunk is missing or cut
 * short: at the next start the live file is cut back to where that chunk
 * began and its batches count as not written, so their resends are
 * written. Nothing is ever in a file twice, and no half line stays.
 *
 * Memory stays bounded: each batch carries the sender's low-water mark
 * (every sequence number below it is finished), and what is below it is
 * forgotten. The file is rewritten compactly at start and when it grows
 * past 16 MiB; senders silent for a day are forgotten then.
 *
 * @module
 */

import type { ChunkJournal, ChunkPlace } from "../log/mod.ts";
import type { Reporter } from "../process/mod.ts";

export const LEDGER_FILE = ".weir-ledger";
const COMPACT_BYTES = 16 * 1024 * 1024;
const FORGET_AFTER_MS = 24 * 3600 * 1000;

/** What a chunk carries for one acknowledged batch. */
export interface BatchMark {
  readonly sender: string;
  readonly incarnation: number;
  readonly seq: number;
}

interface SenderState {
  low: number;
  readonly done: Set<number>;
  touched: number;
}

/** What `admit` says about an arriving batch. */
export type Admission = "new" | "written" | "in-progress";

interface ChunkLine {
  readonly c: [string, number, number, number];
  readonly b: [string, number, number][];
}

interface StateLine {
  readonly d: [string, number, number, number[], number];
}

const encoder = new TextEncoder();

/** The ledger of one logger's spool directory. */
export class LogLedger implements ChunkJournal {
  /** Live files to cut back before they are recovered: path → length. */
  readonly truncations = new Map<string, number>();
  readonly #file: string;
  readonly #states = new Map<string, SenderState>();
  readonly #inProgress = new Set<string>();
  /** Lines of chunks being written now (kept through a rewrite), by their marks. */
  readonly #openChunks = new Map<readonly unknown[], string>();
  readonly #reporter: Reporter | undefined;
  #append: Deno.FsFile | undefined;
  #size = 0;
  /** Called with the batches a chunk carried once it is written. */
  onWritten: (marks: readonly BatchMark[]) => void = () => {};
  /** Called with the batches of a chunk that will never be written (their senders send them again). */
  onFailed: (marks: readonly BatchMark[]) => void = () => {};

  private constructor(file: string, reporter: Reporter | undefined) {
    this.#file = file;
    this.#reporter = reporter;
  }

  /**
   * Reads the ledger of `dir` (the logger's spool directory), works out
   * which live file a crash left cut short, and rewrites it compactly.
   */
  static open(dir: string, reporter?: Reporter): LogLedger {
    Deno.mkdirSync(dir, { recursive: true });
    const ledger = new LogLedger(`${dir}/${LEDGER_FILE}`, reporter);
    ledger.#recover(dir);
    ledger.#rewrite();
    return ledger;
  }

  /** Whether a batch is new, already written, or being written now. */
  admit(sender: string, incarnation: number, seq: number, low: number): Admission {
    const state = this.#state(sender, incarnation);
    state.touched = Date.now();
    if (low > state.low) {
      state.low = low;
      for (const s of state.done) if (s < low) state.done.delete(s);
    }
    if (seq < state.low || state.done.has(seq)) return "written";
    const key = batchKey({ sender, incarnation, seq });
    if (this.#inProgress.has(key)) return "in-progress";
    this.#inProgress.add(key);
    return "new";
  }

  /** A batch admitted as new will not be written after all (it could not be decoded). */
  abandon(mark: BatchMark): void {
    this.#inProgress.delete(batchKey(mark));
  }

  /** `ChunkJournal`: records the chunk's batches and place before it is written. */
  beforeWrite(place: ChunkPlace, marks: readonly unknown[]): void {
    const line: ChunkLine = {
      c: [place.path, place.inode, place.start, place.end],
      b: (marks as readonly BatchMark[]).map((m) => [m.sender, m.incarnation, m.seq]),
    };
    const text = JSON.stringify(line) + "\n";
    this.#write(encoder.encode(text));
    this.#openChunks.set(marks, text);
  }

  /** `ChunkJournal`: the chunk is in the file. */
  written(marks: readonly unknown[]): void {
    this.#openChunks.delete(marks);
    const batches = marks as readonly BatchMark[];
    for (const m of batches) {
      this.#inProgress.delete(batchKey(m));
      const state = this.#state(m.sender, m.incarnation);
      if (m.seq >= state.low) state.done.add(m.seq);
    }
    this.onWritten(batches);
    if (this.#size > COMPACT_BYTES) this.#rewrite();
  }

  /** The chunk with `marks` will not be written (its file failed for good). */
  failed(marks: readonly unknown[]): void {
    this.#openChunks.delete(marks);
    for (const m of marks as readonly BatchMark[]) this.abandon(m);
    this.onFailed(marks as readonly BatchMark[]);
  }

  close(): void {
    this.#append?.close();
    this.#append = undefined;
  }

  #state(sender: string, incarnation: number): SenderState {
    const key = `${sender}|${incarnation}`;
    let state = this.#states.get(key);
    if (state === undefined) {
      state = { low: 0, done: new Set(), touched: Date.now() };
      this.#states.set(key, state);
    }
    return state;
  }

  /** Appends whole lines: a write that fails (disk full) is cut back out, then rethrown. */
  #write(bytes: Uint8Array): void {
    let off = 0;
    try {
      while (off < bytes.length) off += this.#append!.writeSync(bytes.subarray(off));
    } catch (error) {
      if (off > 0) this.#append!.truncateSync(this.#size);
      throw error;
    }
    this.#size += bytes.length;
  }

  #recover(dir: string): void {
    let text: string;
    try {
      text = Deno.readTextFileSync(this.#file);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return;
      throw error;
    }
    const last = new Map<string, ChunkLine>();
    let bad = 0;
    for (const raw of text.split("\n")) {
      if (raw === "") continue;
      let line: Partial<ChunkLine & StateLine>;
      try {
        line = JSON.parse(raw);
      } catch {
        bad++; // the last line, cut short by a kill
        continue;
      }
      if (line.d !== undefined) {
        const [sender, incarnation, low, done, touched] = line.d;
        const state = this.#state(sender, incarnation);
        state.low = low;
        state.touched = touched;
        for (const s of done) state.done.add(s);
      } else if (line.c !== undefined && line.b !== undefined) {
        for (const [sender, incarnation, seq] of line.b) {
          this.#state(sender, incarnation).done.add(seq);
        }
        last.set(line.c[0], line as ChunkLine);
      }
    }
    if (bad > 1) this.#reporter?.warning(`Skipped ${bad} unreadable lines of ${this.#file}`);
    for (const [path, chunk] of last) {
      const [, inode, start, end] = chunk.c;
      let info: Deno.FileInfo;
      try {
        info = Deno.statSync(`${dir}/${path}.log`);
      } catch (error) {
        if (error instanceof Deno.errors.NotFound) continue;
        throw error;
      }
      if (info.ino !== inode || info.size >= end || info.size < start) continue;
      // The logger died while writing this chunk: none of it counts.
      if (info.size > start) this.truncations.set(path, start);
      for (const [sender, incarnation, seq] of chunk.b) {
        this.#state(sender, incarnation).done.delete(seq);
      }
      this.#reporter?.warning(
        `${path}.log: the last write before the logger stopped did not finish; ` +
          `cut it back to ${start} bytes, its ${chunk.b.length} batches will be written again`,
      );
    }
  }

  /** Writes the state alone to a new file and appends there from now on. */
  #rewrite(): void {
    const now = Date.now();
    const lines: string[] = [];
    for (const [key, state] of this.#states) {
      if (now - state.touched > FORGET_AFTER_MS) {
        this.#states.delete(key);
        continue;
      }
      const bar = key.lastIndexOf("|");
      const line: StateLine = {
        d: [
          key.slice(0, bar),
          Number(key.slice(bar + 1)),
          state.low,
          [...state.done],
          state.touched,
        ],
      };
      lines.push(JSON.stringify(line));
    }
    const text = lines.map((l) => l + "\n").join("") + [...this.#openChunks.values()].join("");
    try {
      Deno.writeTextFileSync(`${this.#file}.tmp`, text);
      Deno.renameSync(`${this.#file}.tmp`, this.#file);
    } catch (error) {
      // No room for a new file (disk full): go on appending to the old one.
      this.#reporter?.warning(
        `Cannot rewrite ${this.#file}: ${error instanceof Error ? error.message : error}`,
      );
      if (this.#append === undefined) {
        this.#append = Deno.openSync(this.#file, { append: true, create: true });
        this.#size = this.#append.statSync().size;
      }
      return;
    }
    this.#append?.close();
    this.#append = Deno.openSync(this.#file, { append: true });
    this.#size = encoder.encode(text).length;
  }
}

/** One string for a batch's id (a map key). */
export function batchKey(mark: BatchMark): string {
  return `${mark.sender}|${mark.incarnation}|${mark.seq}`;
}
