/**
 * Every log of one run as plain files in one directory, the way `zeek -r`
 * leaves them: `<dir>/<path>.log`, opened on the first row for that path
 * (a log nothing writes to never appears), never rotated. `weir -r` writes
 * through it; a logger's files (rotation, archives, network batches) are
 * the logger role's.
 *
 * @module
 */

import type { ZeekValue } from "../../zeek/mod.ts";
import { LogFile, type LogFileOptions } from "./log_file.ts";
import type { LogFilter, LogSink, LogStream } from "./stream.ts";

/** How every file of the directory is written. */
export type LogDirectoryOptions = Omit<LogFileOptions, "path" | "fields">;

interface Entry {
  file: LogFile | undefined;
  readonly filter: LogFilter;
  queued: (readonly ZeekValue[])[];
}

/** A `LogSink` writing each filter's path to its own file in one directory. */
export class LogDirectory implements LogSink, AsyncDisposable {
  readonly #options: LogDirectoryOptions;
  readonly #entries = new Map<string, Entry>();
  #opening = false;

  constructor(options: LogDirectoryOptions) {
    this.#options = options;
  }

  /** The files written so far, by path. */
  files(): Map<string, string> {
    const out = new Map<string, string>();
    for (const [path, e] of this.#entries) if (e.file) out.set(path, e.file.filePath);
    return out;
  }

  write(_stream: LogStream, filter: LogFilter, values: readonly ZeekValue[]): void {
    const entry = this.#entries.get(filter.path);
    if (entry?.file !== undefined) {
      entry.file.writeRow(values, filter.indices);
      return;
    }
    // The file opens asynchronously: rows wait (in order) until `ready()` opens it.
    if (entry === undefined) {
      this.#entries.set(filter.path, { file: undefined, filter, queued: [values] });
    } else entry.queued.push(values);
  }

  /** Opens files rows are waiting for, writes those rows, and waits while the disk is behind. */
  async ready(): Promise<void> {
    if (!this.#opening) {
      this.#opening = true;
      try {
        for (const entry of this.#entries.values()) {
          if (entry.file !== undefined) continue;
          const file = await LogFile.open({
            ...this.#options,
            path: entry.filter.path,
            fields: entry.filter.fields,
          });
          entry.file = file;
          for (const values of entry.queued) file.writeRow(values, entry.filter.indices);
          entry.queued = [];
        }
      } finally {
        this.#opening = false;
      }
    }
    for (const entry of this.#entries.values()) await entry.file?.ready();
  }

  /** Writes what waits and closes every file (`#close` line). */
  async close(): Promise<void> {
    await this.ready();
    for (const entry of this.#entries.values()) await entry.file?.close();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
