/**
 * Zeek's file analysis framework as its default scripts run it for
 * protocol analyzers (Z: src/file_analysis/{Manager,File}.cc,
 * scripts/base/frameworks/files/main.zeek; research note §2):
 *
 * - A protocol names a file by a **handle** string; the file id (`fuid`) is
 *   Zeek's keyed hash of it (`zeek/file_id.ts`), so the same traffic gives
 *   the same ids in every run. The hash is computed once per file: open
 *   files are found by their handle.
 * - Data arrives in stream order (or at an offset, for partial content);
 *   the first `bofBufferSize` bytes (4096) are kept to sniff the MIME type
 *   with Zeek's magic signatures when the buffer fills, at the end of the
 *   file or at its first gap (`file_sniff`).
 * - A file with a known total size ends as soon as that many bytes came;
 *   others end when the protocol says so, after `timeoutSec` (2 min) of
 *   inactivity, or when the input ends (then `timedout` is T, as at Zeek's
 *   termination).
 * - On removal, files.log gets one row per connection the file was seen on.
 * - Hashes (MD5, SHA1, SHA256) only when asked for, as Zeek's base scripts
 *   compute none for protocol files.
 *
 * @module
 */

import { createHash, type Hash } from "node:crypto";
import { fileId, latin1LogValue, T, type ZeekType, type ZeekValue } from "../../../zeek/mod.ts";
import type { EventRegistry } from "../../bus/mod.ts";
import type { LogRegistry, LogStream } from "../../log/mod.ts";
import type { ConnEndpoints } from "../framework/mod.ts";
import { detectMime } from "./magic.ts";
import { filesStreamOf } from "./files_log.ts";

/** `default_file_bof_buffer_size`. */
export const DEFAULT_BOF_BUFFER_SIZE = 4096;
/** `default_file_timeout_interval`: 2 min of inactivity. */
export const DEFAULT_FILE_TIMEOUT_SEC = 120;
/** The hash analyzers a site can turn on (Zeek's `hash-all-files` policy: all three). */
export type FileHash = "md5" | "sha1" | "sha256";

/** How often (network seconds) open files are checked for inactivity. */
const SWEEP_EVERY_SEC = 10;

/** Options of a pipeline's file analysis. */
export interface FileAnalysisOptions {
  /** Hashes computed for every file (none by default, as Zeek's base scripts). */
  readonly hashes?: readonly FileHash[];
  readonly bofBufferSize?: number;
  readonly timeoutSec?: number;
  /** Zeek's `digest_salt`, the key of the fuid hash. */
  readonly digestSalt?: string;
}

/** A connection a file is seen on, as files.log names it. */
export interface FileConn {
  readonly uid: string;
  readonly id: ConnEndpoints;
  /** `Site::is_local_addr` of a side's address (undefined: no local networks). */
  isLocal(isOrig: boolean): boolean | undefined;
}

/** The events of site scripts that file analysis raises. */
const FILE_EVENTS = ["file_new", "file_state_remove"] as const;

/** One file being analysed (Zeek's `fa_file` and its `Files::Info`). */
export class AnalyzedFile {
  readonly fuid: string;
  readonly handle: string;
  readonly source: string;
  readonly isOrig: boolean;
  /** Network time of the first data (files.log `ts`). */
  readonly ts: number;
  lastActive: number;
  seenBytes = 0;
  missingBytes = 0;
  overflowBytes = 0;
  /** A bigint where it passes 2^53 (a Content-Length can say anything). */
  totalBytes: number | bigint | undefined;
  mimeType: string | undefined;
  filename: string | undefined;
  localOrig: boolean | undefined;
  timedout = false;
  /** Called with the sniffed type (`file_sniff`, undefined when nothing matched). */
  onSniff: ((mime: string | undefined) => void) | undefined;
  /** The connections the file was seen on, in order. */
  readonly conns: FileConn[] = [];
  done = false;
  streamOffset = 0;
  #bof: Uint8Array[] = [];
  #bofSize = 0;
  #bofFull = false;
  #sniffed = false;
  readonly #analysis: FileAnalysis;
  readonly #hashes: Hash[] | undefined;

  constructor(
    analysis: FileAnalysis,
    fuid: string,
    handle: string,
    source: string,
    isOrig: boolean,
    now: number,
    hashes: readonly FileHash[],
  ) {
    this.#analysis = analysis;
    this.fuid = fuid;
    this.handle = handle;
    this.source = source;
    this.isOrig = isOrig;
    this.ts = now;
    this.lastActive = now;
    this.#hashes = hashes.length === 0 ? undefined : hashes.map((h) => createHash(h));
  }

  /** `IsComplete`: a total size is known and reached. */
  get complete(): boolean {
    return this.totalBytes !== undefined && this.streamOffset >= Number(this.totalBytes);
  }

  /** `File::DataIn`: bytes at `offset` (stream order when undefined). Borrowed. */
  dataIn(data: Uint8Array, offset: number = this.streamOffset): void {
    if (this.done) return;
    if (offset === this.streamOffset) this.#deliverStream(data);
    else if (offset > this.streamOffset) {
      // Zeek's file reassembler would hold this until the hole is flushed as
      // a gap at the end; the result in files.log is the same.
      this.gap(this.streamOffset, offset - this.streamOffset);
      this.#deliverStream(data);
    } else this.overflowBytes += data.length;
    if (this.complete) this.#analysis.remove(this);
  }

  /** `File::Gap`: `len` bytes at `offset` will never come. */
  gap(_offset: number, len: number): void {
    if (this.done) return;
    if (!this.#bofFull) {
      this.#bofFull = true;
      this.#deliverStream(EMPTY);
    }
    this.streamOffset += len;
    this.missingBytes += len;
  }

  /** `SetTotalBytes` (files.log `total_bytes`). */
  setTotal(size: number | bigint): void {
    this.totalBytes = size;
    if (this.complete) this.#analysis.remove(this);
  }

  /** `File::EndOfFile`: sniff what is buffered, finish the hashes. */
  finish(): { md5?: string; sha1?: string; sha256?: string } {
    if (!this.#bofFull) {
      this.#bofFull = true;
      this.#deliverStream(EMPTY);
    }
    this.done = true;
    const out: { md5?: string; sha1?: string; sha256?: string } = {};
    const names = this.#analysis.hashes;
    this.#hashes?.forEach((h, i) => (out[names[i]!] = h.digest("hex")));
    return out;
  }

  #deliverStream(data: Uint8Array): void {
    if (!this.#bofFull) {
      // Only what the buffer still takes is copied (a chunk can be 64 KiB of inflated body).
      const room = this.#analysis.bofBufferSize - this.#bofSize;
      if (data.length > 0) this.#bof.push(data.subarray(0, room).slice());
      this.#bofSize += Math.min(data.length, room);
      if (this.#bofSize >= this.#analysis.bofBufferSize) this.#bofFull = true;
    }
    if (!this.#sniffed && this.#bofFull && this.missingBytes === 0) this.#sniff();
    const hashes = this.#hashes;
    if (hashes !== undefined && data.length > 0) { for (const h of hashes) h.update(data); }
    this.streamOffset += data.length;
    this.seenBytes += data.length;
  }

  /** `InferMetadata` and `file_sniff`. */
  #sniff(): void {
    this.#sniffed = true;
    const size = this.#bofSize;
    const chunks = this.#bof;
    this.#bof = [];
    if (size === 0) return;
    let buf = chunks.length === 1 ? chunks[0]! : concatAll(chunks, size);
    const max = this.#analysis.bofBufferSize;
    if (buf.length > max) buf = buf.subarray(0, max);
    this.mimeType = detectMime(buf);
    this.onSniff?.(this.mimeType);
  }
}

/** The file analysis of one pipeline: open files by handle, files.log. */
export class FileAnalysis {
  readonly logs: LogRegistry;
  readonly events: EventRegistry | undefined;
  readonly hashes: readonly FileHash[];
  readonly bofBufferSize: number;
  readonly #timeout: number;
  readonly #salt: string | undefined;
  readonly #byHandle = new Map<string, AnalyzedFile>();
  #stream: LogStream | undefined;
  #nextSweep = 0;

  constructor(
    logs: LogRegistry,
    events: EventRegistry | undefined,
    options: FileAnalysisOptions = {},
  ) {
    this.logs = logs;
    this.events = events;
    this.hashes = Object.freeze([...(options.hashes ?? [])]);
    this.bofBufferSize = options.bofBufferSize ?? DEFAULT_BOF_BUFFER_SIZE;
    this.#timeout = options.timeoutSec ?? DEFAULT_FILE_TIMEOUT_SEC;
    this.#salt = options.digestSalt;
    if (events !== undefined) {
      for (const name of FILE_EVENTS) {
        if (events.lookup(name) === undefined) events.declare(name, [["f", FA_FILE_TYPE]]);
      }
    }
  }

  /** Files open now. */
  get openFiles(): number {
    return this.#byHandle.size;
  }

  /** The open file of a handle, if any (`LookupFile` by id). */
  lookup(handle: string): AnalyzedFile | undefined {
    return this.#byHandle.get(handle);
  }

  /**
   * `Manager::GetFile`: the open file of `handle`, or a new one (fuid hashed
   * from the handle, `file_new`, then `overNewConnection`). For an open file,
   * `conn` is added when `updateConn` and it is new to the file (then
   * `overNewConnection` runs for it too). An empty handle means no file.
   */
  file(
    handle: string,
    source: string,
    conn: FileConn,
    isOrig: boolean,
    now: number,
    updateConn: boolean,
    overNewConnection: (file: AnalyzedFile, conn: FileConn) => void,
  ): AnalyzedFile | undefined {
    if (handle === "") return undefined;
    let file = this.#byHandle.get(handle);
    if (file === undefined) {
      if (now >= this.#nextSweep) this.#sweep(now);
      file = new AnalyzedFile(
        this,
        fileId(handle, this.#salt),
        handle,
        source,
        isOrig,
        now,
        this.hashes,
      );
      this.#byHandle.set(handle, file);
      this.#raise("file_new", file);
      this.#addConn(file, conn, overNewConnection);
      return file;
    }
    file.lastActive = now;
    if (updateConn && !file.conns.some((c) => c.uid === conn.uid)) {
      this.#addConn(file, conn, overNewConnection);
    }
    return file;
  }

  /** `RemoveFile`: ends the file and writes its files.log rows. */
  remove(file: AnalyzedFile): void {
    if (this.#byHandle.get(file.handle) !== file) return;
    this.#byHandle.delete(file.handle);
    const hashes = file.finish();
    this.#raise("file_state_remove", file);
    this.#write(file, hashes);
  }

  /** The input ended: every open file times out, as at Zeek's termination. */
  finish(): void {
    for (const file of [...this.#byHandle.values()]) {
      file.timedout = true;
      this.remove(file);
    }
  }

  #sweep(now: number): void {
    this.#nextSweep = now + SWEEP_EVERY_SEC;
    for (const file of [...this.#byHandle.values()]) {
      if (now - file.lastActive >= this.#timeout) {
        file.timedout = true;
        this.remove(file);
      }
    }
  }

  #addConn(
    file: AnalyzedFile,
    conn: FileConn,
    overNewConnection: (file: AnalyzedFile, conn: FileConn) => void,
  ): void {
    file.conns.push(conn);
    file.localOrig = conn.isLocal(file.isOrig);
    overNewConnection(file, conn);
  }

  #write(file: AnalyzedFile, hashes: { md5?: string; sha1?: string; sha256?: string }): void {
    const stream = this.#stream ??= filesStreamOf(this.logs);
    const analyzers = this.hashes.map((h) => h.toUpperCase());
    for (const conn of file.conns.length === 0 ? [undefined] : file.conns) {
      this.logs.write(stream, [
        file.ts,
        file.fuid,
        conn?.uid,
        conn?.id.origH,
        conn?.id.origP,
        conn?.id.respH,
        conn?.id.respP,
        file.source,
        0,
        analyzers,
        file.mimeType,
        file.filename === undefined ? undefined : latin1LogValue(file.filename),
        file.lastActive - file.ts,
        file.localOrig,
        file.isOrig,
        file.seenBytes,
        file.totalBytes,
        file.missingBytes,
        file.overflowBytes,
        file.timedout,
        undefined,
        hashes.md5,
        hashes.sha1,
        hashes.sha256,
        undefined,
        undefined,
        undefined,
      ]);
    }
  }

  #raise(name: typeof FILE_EVENTS[number], file: AnalyzedFile): void {
    const events = this.events;
    if (events === undefined || !events.hasHandlers(name)) return;
    events.dispatch(name, [faFile(file)]);
  }
}

/** The `fa_file` fields site scripts get (a subset of Zeek's). */
const FA_FILE_TYPE: ZeekType = T.record("fa_file", [
  ["id", T.string],
  ["source", T.string],
  ["is_orig", T.bool, "optional"],
  ["last_active", T.time],
  ["seen_bytes", T.count],
  ["total_bytes", T.count, "optional"],
  ["missing_bytes", T.count],
  ["overflow_bytes", T.count],
  ["mime_type", T.string, "optional"],
  ["filename", T.string, "optional"],
]);

function faFile(f: AnalyzedFile): ZeekValue {
  return {
    id: f.fuid,
    source: f.source,
    is_orig: f.isOrig,
    last_active: f.lastActive,
    seen_bytes: f.seenBytes,
    total_bytes: f.totalBytes,
    missing_bytes: f.missingBytes,
    overflow_bytes: f.overflowBytes,
    mime_type: f.mimeType,
    filename: f.filename === undefined ? undefined : latin1LogValue(f.filename),
  };
}

const EMPTY = new Uint8Array(0);

function concatAll(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
