/**
 * When logs rotate and where rotated logs go, as Zeek and zeekctl do it.
 *
 * - Rotation is aligned like Zeek's `calc_next_rotate` with the default
 *   `log_rotate_base_time = "0:00"`: the next rotation is the first
 *   `midnight + k × interval` after now, counted from the midnight (local
 *   time) that began the current day.
 * - A rotated file is `<path>-<yy-mm-dd_HH.MM.SS>.log` (open time), next to
 *   the live file in the spool directory.
 * - zeekctl's `make-archive-name` files it as
 *   `<LogDir>/<YYYY-MM-DD>/<path>.<HH:MM:SS>-<HH:MM:SS>[-<logger>].log`,
 *   the day and first time from the open time, the second from the close
 *   time; `archive-log` then gzips it to `….log.gz` when CompressLogs=1.
 * - zeekctl's `expire-logs` deletes archived files older than
 *   LogExpireInterval (by modification time) and then the emptied day
 *   directories; 0 means never.
 *
 * Times are in the process's local time zone unless `utc` is set.
 *
 * @module
 */

import { createReadStream, createWriteStream } from "node:fs";
import { createGzip } from "node:zlib";
import { pipeline } from "node:stream/promises";

/** Zeek's default `Log::default_rotation_interval` under zeekctl (LogRotationInterval). */
export const DEFAULT_ROTATION_INTERVAL_SEC = 3600;

/** Thrown when a rotated log cannot be archived. */
export class LogArchiveError extends Error {
  override readonly name = "LogArchiveError";
}

interface TimeParts {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

function timeParts(seconds: number, utc: boolean): TimeParts {
  // time_t(t) in Zeek truncates toward zero.
  const d = new Date(Math.trunc(seconds) * 1000);
  return utc
    ? {
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
      hour: d.getUTCHours(),
      minute: d.getUTCMinutes(),
      second: d.getUTCSeconds(),
    }
    : {
      year: d.getFullYear(),
      month: d.getMonth() + 1,
      day: d.getDate(),
      hour: d.getHours(),
      minute: d.getMinutes(),
      second: d.getSeconds(),
    };
}

function two(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** `%Y-%m-%d-%H-%M-%S`, the form of `#open`/`#close` and of zeekctl's archive times. */
export function formatLogTimestamp(seconds: number, utc = false): string {
  const t = timeParts(seconds, utc);
  return `${t.year}-${two(t.month)}-${two(t.day)}-${two(t.hour)}-${two(t.minute)}-${two(t.second)}`;
}

/** `%y-%m-%d_%H.%M.%S`, the form in rotated file names and `archive-log` arguments. */
export function formatRotationTimestamp(seconds: number, utc = false): string {
  const t = timeParts(seconds, utc);
  return `${two(t.year % 100)}-${two(t.month)}-${two(t.day)}_${two(t.hour)}.${two(t.minute)}.${
    two(t.second)
  }`;
}

/** Options for names derived from times. */
export interface NameOptions {
  readonly utc?: boolean;
  /** File extension without the dot; `log` unless a writer says otherwise. */
  readonly ext?: string;
}

/**
 * The spool-directory name of a rotated file.
 *
 * @example
 * ```ts
 * rotatedFileName("conn", Date.UTC(2026, 7, 21, 10) / 1000, { utc: true }); // "conn-26-08-21_10.00.00.log"
 * ```
 */
export function rotatedFileName(path: string, openTime: number, options: NameOptions = {}): string {
  return `${path}-${formatRotationTimestamp(openTime, options.utc)}.${options.ext ?? "log"}`;
}

/** Options of an archive name. */
export interface ArchiveNameOptions extends NameOptions {
  /** Appended as `-<logger>` when the cluster has several loggers. */
  readonly logger?: string | undefined;
  /** Adds `.gz` (CompressLogs=1). */
  readonly compress?: boolean;
}

/**
 * The archive name of a rotated log relative to LogDir, as zeekctl's
 * `make-archive-name` (plus `.gz` when compressed) makes it.
 *
 * @example
 * ```ts
 * const open = Date.UTC(2026, 7, 21, 10) / 1000;
 * archiveName("conn", open, open + 3600, { utc: true, compress: true });
 * // "2026-08-21/conn.10:00:00-11:00:00.log.gz"
 * ```
 */
export function archiveName(
  path: string,
  openTime: number,
  closeTime: number,
  options: ArchiveNameOptions = {},
): string {
  const utc = options.utc ?? false;
  const o = timeParts(openTime, utc);
  const c = timeParts(closeTime, utc);
  const day = `${o.year}-${two(o.month)}-${two(o.day)}`;
  const from = `${two(o.hour)}:${two(o.minute)}:${two(o.second)}`;
  const to = `${two(c.hour)}:${two(c.minute)}:${two(c.second)}`;
  const suffix = options.logger ? `-${options.logger}` : "";
  return `${day}/${path}.${from}-${to}${suffix}.${options.ext ?? "log"}${
    options.compress ? ".gz" : ""
  }`;
}

/** Options of the rotation schedule. */
export interface RotationScheduleOptions {
  /** Seconds after midnight the schedule is aligned to (`log_rotate_base_time`); default 0. */
  readonly baseSec?: number;
  readonly utc?: boolean;
}

/**
 * The time of the next rotation after `now`, as Zeek's `calc_next_rotate`
 * computes it: `startOfDay + base + ceil((now - startOfDay - base) / interval) × interval`,
 * or one interval later when that is not in the future.
 */
export function nextRotationTime(
  now: number,
  intervalSec: number,
  options: RotationScheduleOptions = {},
): number {
  if (!(intervalSec > 0)) {
    throw new RangeError(
      `Cannot schedule log rotation every ${intervalSec} s; the interval must be positive`,
    );
  }
  const d = new Date(Math.trunc(now) * 1000);
  if (options.utc) d.setUTCHours(0, 0, 0, 0);
  else d.setHours(0, 0, 0, 0);
  const startOfDay = d.getTime() / 1000;
  const base = options.baseSec ?? 0;
  const delta = startOfDay + base +
    Math.ceil((now - startOfDay - base) / intervalSec) * intervalSec - now;
  return now + (delta > 0 ? delta : intervalSec);
}

/** Options of `archiveLogFile`. */
export interface ArchiveOptions extends ArchiveNameOptions {
  readonly logDir: string;
}

/**
 * Moves a rotated file into the archive under LogDir, gzipping it on the way
 * when `compress` is set (streamed, never read whole into memory), and
 * removes the source. An existing archive of the same name is never
 * overwritten: a `-2`, `-3`, … is added before the extension. Returns the
 * archive path.
 */
export async function archiveLogFile(
  source: string,
  path: string,
  openTime: number,
  closeTime: number,
  options: ArchiveOptions,
): Promise<string> {
  const relative = archiveName(path, openTime, closeTime, options);
  const slash = relative.indexOf("/");
  const dayDir = `${options.logDir}/${relative.slice(0, slash)}`;
  try {
    await Deno.mkdir(dayDir, { recursive: true });
    const dest = await unusedPath(`${options.logDir}/${relative}`);
    const tmp = `${dayDir}/.${relative.slice(slash + 1)}.${crypto.randomUUID()}.tmp`;
    try {
      if (options.compress) {
        await pipeline(
          createReadStream(source),
          createGzip(),
          createWriteStream(tmp, { flags: "wx" }),
        );
        await Deno.rename(tmp, dest);
        await Deno.remove(source);
      } else {
        try {
          await Deno.rename(source, dest);
        } catch (err) {
          if (!isCrossDevice(err)) throw err;
          await Deno.copyFile(source, tmp);
          await Deno.rename(tmp, dest);
          await Deno.remove(source);
        }
      }
    } catch (err) {
      await Deno.remove(tmp).catch(() => {});
      throw err;
    }
    return dest;
  } catch (err) {
    throw new LogArchiveError(
      `Cannot archive log ${source} into ${options.logDir}/${relative}: ${errorText(err)}; ` +
        `check that LogDir exists and is writable (the rotated file is left in place)`,
      { cause: err },
    );
  }
}

/** What `expireArchives` removed. */
export interface ExpireResult {
  readonly removedFiles: readonly string[];
  readonly removedDirs: readonly string[];
}

/** Options of `expireArchives`. */
export interface ExpireOptions {
  /** zeekctl's KeepLogs: file name globs (`*`, `?`) that never expire. */
  readonly keep?: readonly string[];
}

const DAY_DIR = /^\d{4}-\d{2}-\d{2}$/;

/**
 * zeekctl's `expire-logs`: deletes files in LogDir's `YYYY-MM-DD`
 * directories last modified more than `olderThanSec` before `now`, then the
 * day directories left empty. `olderThanSec` 0 keeps everything.
 */
export async function expireArchives(
  logDir: string,
  olderThanSec: number,
  now: number,
  options: ExpireOptions = {},
): Promise<ExpireResult> {
  const removedFiles: string[] = [];
  const removedDirs: string[] = [];
  if (!(olderThanSec > 0)) return { removedFiles, removedDirs };
  const keep = (options.keep ?? []).map(globToRegExp);
  const cutoff = now - olderThanSec;
  for await (const day of Deno.readDir(logDir)) {
    if (!day.isDirectory || !DAY_DIR.test(day.name)) continue;
    const dir = `${logDir}/${day.name}`;
    let left = 0;
    for await (const entry of Deno.readDir(dir)) {
      const file = `${dir}/${entry.name}`;
      if (!entry.isFile || keep.some((re) => re.test(entry.name))) {
        left++;
        continue;
      }
      const info = await Deno.lstat(file);
      const mtime = (info.mtime?.getTime() ?? 0) / 1000;
      if (mtime < cutoff) {
        await Deno.remove(file);
        removedFiles.push(file);
      } else {
        left++;
      }
    }
    if (left === 0) {
      try {
        await Deno.remove(dir);
        removedDirs.push(dir);
      } catch {
        // A file archived into it meanwhile keeps it, as rmdir does for zeekctl.
      }
    }
  }
  return { removedFiles, removedDirs };
}

/** `path`, or `path` with `-2`, `-3`, … before its extension when taken. */
export async function unusedPath(path: string): Promise<string> {
  if (!(await exists(path))) return path;
  const slash = path.lastIndexOf("/");
  const dot = path.lastIndexOf(".log");
  if (dot <= slash) return `${path}-${crypto.randomUUID().slice(0, 8)}`;
  const stem = dot < 0 ? path : path.slice(0, dot);
  const ext = dot < 0 ? "" : path.slice(dot);
  for (let n = 2;; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!(await exists(candidate))) return candidate;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

function isCrossDevice(err: unknown): boolean {
  return err instanceof Error &&
    /EXDEV|cross-device/i.test(`${err.message} ${(err as { code?: string }).code ?? ""}`);
}

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
