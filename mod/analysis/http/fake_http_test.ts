/**
 * Test support: one HTTP conversation (the byte chunks each side sent, in
 * order) through the real HTTP analyzer, its scripts and file analysis,
 * with a fake connection around it; returns the rows of http.log,
 * files.log and the weirds. Used by the unit tests and the fuzz test.
 */

import { LogRegistry, type LogStream } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { FileAnalysis, type FileAnalysisOptions } from "../files/mod.ts";
import type { ConnEndpoints } from "../framework/mod.ts";
import { RecordingHost } from "../../../testing/analyzer_host.ts";
import { HttpAnalyzer, type HttpOptions } from "./http_analyzer.ts";
import { HTTP_LOG_ID } from "./http_log.ts";

/** One delivery: bytes from a side, or a content gap of `gap` bytes. */
export type Chunk = { orig: boolean; data: Uint8Array } | { orig: boolean; gap: number };

/** What a conversation produced. */
export interface Outcome {
  readonly http: Record<string, ZeekValue>[];
  readonly files: Record<string, ZeekValue>[];
  readonly weirds: { name: string; addl: string | undefined; source: string | undefined }[];
  readonly violations: string[];
  readonly confirmed: boolean;
  readonly detected: boolean;
  /** Files open when the connection ended (those of 206 replies stay open, as in Zeek). */
  readonly openFiles: number;
  /** Files open after the input ended (none may be). */
  readonly openAfterFinish: number;
}

const ID: ConnEndpoints = {
  origH: "10.0.0.1",
  origP: 40000,
  respH: "10.0.0.2",
  respP: 80,
  proto: "tcp",
};

/** Runs the chunks through a fresh analyzer; the connection then ends (FIN both ways). */
export function runConversation(
  chunks: readonly Chunk[],
  options: HttpOptions & { files?: FileAnalysisOptions } = {},
): Outcome {
  const rows = new Map<string, Record<string, ZeekValue>[]>();
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream: LogStream, _filter, values: readonly ZeekValue[]) {
        const row: Record<string, ZeekValue> = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        const list = rows.get(stream.id) ?? [];
        list.push(row);
        rows.set(stream.id, list);
      },
    },
  });
  const host = new RecordingHost({
    uid: "CFakeHttpConn1",
    logs,
    id: ID,
    time: 1_700_000_000,
    startTime: 1_700_000_000,
    local: true,
  });
  const files = new FileAnalysis(logs, undefined, options.files);
  const http = new HttpAnalyzer(host, files, options);
  const seq = [1, 1];
  for (const c of chunks) {
    host.time += 0.001;
    const side = c.orig ? 0 : 1;
    if ("gap" in c) {
      http.undelivered(seq[side]!, c.gap, c.orig);
      seq[side]! += c.gap;
    } else {
      http.stream(c.data, c.orig);
      seq[side]! += c.data.length;
    }
  }
  http.endOfStream(true);
  http.endOfStream(false);
  http.done();
  const open = files.openFiles;
  files.finish();
  return {
    http: rows.get(HTTP_LOG_ID) ?? [],
    files: rows.get("Files::LOG") ?? [],
    weirds: host.weirds,
    violations: host.violations,
    confirmed: host.confirmed,
    detected: host.detected,
    openFiles: open,
    openAfterFinish: files.openFiles,
  };
}

/** Text as the bytes of a chunk. */
export function bytes(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** A request and a reply, each one chunk. */
export function exchange(request: string, reply: string): Chunk[] {
  return [{ orig: true, data: bytes(request) }, { orig: false, data: bytes(reply) }];
}
