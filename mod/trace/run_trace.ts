/**
 * `weir -r FILE`: like `zeek -r`, analyse a trace and leave its logs in the
 * current directory. With several workers, each is a process of weir that
 * keeps the flows the symmetric flow hash gives it (every connection is
 * seen whole by one worker); each log their files hold is merged into one, rows
 * in timestamp order under one header.
 *
 * @module
 */

import type { FileHashName, LocalNet } from "../../config/mod.ts";
import { analyzeTrace, type TraceJobResult } from "./trace_job.ts";

export interface TraceRunOptions {
  readonly path: string;
  /** Where conn.log goes (the current directory for `weir -r`). */
  readonly logDir: string;
  /** False is `-C`. */
  readonly checksums: boolean;
  readonly workers: number;
  readonly filter?: string;
  readonly json?: boolean;
  readonly localNets?: readonly LocalNet[];
  /** weir.cfg's file hashes and HTTP password capture (from `--config`). */
  readonly fileHashes?: readonly FileHashName[];
  readonly httpCapturePassword?: boolean;
  /** How to start worker `index` of `count` writing into `dir` (a process of weir). */
  readonly spawnWorker: (index: number, count: number, dir: string) => Deno.Command;
  /** Progress and result lines for the operator. */
  readonly say: (line: string) => void;
}

/** What one worker prints as its last stdout line. */
interface WorkerSummary {
  readonly packets: number;
  readonly analyzed: number;
  readonly connections: number;
  readonly weirds: number;
  readonly warning?: string | undefined;
}

/** Runs the job in this process (one worker) or in `workers` child processes. */
export async function runTrace(options: TraceRunOptions): Promise<void> {
  const started = performance.now();
  if (options.workers <= 1) {
    const r = await analyzeOne(options, undefined, options.logDir);
    report(options, r, started);
    return;
  }
  const tmp = await Deno.makeTempDir({ dir: options.logDir, prefix: ".weir-trace-" });
  let failure: unknown;
  try {
    const children: Deno.ChildProcess[] = [];
    const settled = await Promise.allSettled(
      Array.from({ length: options.workers }, async (_, index) => {
        const dir = `${tmp}/${index}`;
        await Deno.mkdir(dir);
        const child = options.spawnWorker(index, options.workers, dir).spawn();
        children.push(child);
        const out = await child.output();
        const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
        if (!out.success) {
          // The others' work is lost anyway: stop them now, not when they finish.
          for (const other of children) if (other !== child) killQuietly(other);
          throw new TraceWorkerError(
            `trace worker ${index + 1} of ${options.workers} failed: ${
              new TextDecoder().decode(out.stderr).trim() || `exit code ${out.code}`
            }`,
          );
        }
        options.say(`worker ${index + 1}/${options.workers} done`);
        return JSON.parse(text) as WorkerSummary;
      }),
    );
    // Every worker has ended before anything is merged or removed: the
    // first real failure is the one reported.
    const rejected = settled.find((r) =>
      r.status === "rejected" && r.reason instanceof TraceWorkerError
    ) ??
      settled.find((r) => r.status === "rejected");
    if (rejected !== undefined) throw (rejected as PromiseRejectedResult).reason;
    const results = settled.map((r) => (r as PromiseFulfilledResult<WorkerSummary>).value);
    // Every log any worker wrote (conn.log, dns.log, weird.log, …), merged by name.
    const names = new Set<string>();
    for (let i = 0; i < results.length; i++) {
      for await (const entry of Deno.readDir(`${tmp}/${i}`)) {
        if (entry.isFile && entry.name.endsWith(".log")) names.add(entry.name);
      }
    }
    for (const name of [...names].sort()) {
      const inputs: string[] = [];
      for (let i = 0; i < results.length; i++) {
        const input = `${tmp}/${i}/${name}`;
        if (await Deno.stat(input).then(() => true, () => false)) inputs.push(input);
      }
      await mergeLogs(inputs, `${options.logDir}/${name}`, options.json ?? false);
    }
    report(options, {
      packets: results[0]!.packets,
      analyzed: results.reduce((n, r) => n + r.analyzed, 0),
      connections: results.reduce((n, r) => n + r.connections, 0),
      weirds: results.reduce((n, r) => n + r.weirds, 0),
      warning: results.find((r) => r.warning !== undefined)?.warning,
    }, started);
  } catch (error) {
    failure = error;
  }
  try {
    await Deno.remove(tmp, { recursive: true });
  } catch (error) {
    // A failure already on its way is the one to report.
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
}

/** A trace worker process failed (its own message, not a cleanup error). */
class TraceWorkerError extends Error {
  override readonly name = "TraceWorkerError";
}

function killQuietly(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGTERM");
  } catch {
    // It has ended already.
  }
}

/** One worker's share, as a child process runs it; prints its summary as JSON. */
export async function runTraceWorker(
  options: TraceRunOptions,
  index: number,
  count: number,
): Promise<void> {
  const r = await analyzeOne(options, { index, count }, options.logDir);
  const summary: WorkerSummary = {
    packets: r.packets,
    analyzed: r.analyzed,
    connections: r.connections,
    weirds: r.weirds,
    ...(r.warning === undefined ? {} : { warning: r.warning }),
  };
  // deno-lint-ignore no-console
  console.log(JSON.stringify(summary));
}

function analyzeOne(
  options: TraceRunOptions,
  worker: { index: number; count: number } | undefined,
  logDir: string,
): Promise<TraceJobResult> {
  return analyzeTrace({
    path: options.path,
    logDir,
    checksums: options.checksums,
    format: options.json ? "json" : "ascii",
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    ...(options.localNets === undefined ? {} : { localNets: options.localNets }),
    ...(options.fileHashes === undefined ? {} : { fileHashes: options.fileHashes }),
    ...(options.httpCapturePassword === undefined
      ? {}
      : { httpCapturePassword: options.httpCapturePassword }),
    ...(worker === undefined ? {} : { worker }),
  });
}

function report(options: TraceRunOptions, r: WorkerSummary, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  if (r.warning !== undefined) options.say(`warning: ${r.warning}`);
  options.say(
    `${options.path}: ${r.packets} packets, ${r.connections} connections, ${r.weirds} weirds ` +
      `in ${seconds.toFixed(2)} s → logs in ${options.logDir}`,
  );
}

/**
 * Merges the workers' files: one header (the earliest `#open`), every row in
 * timestamp order, and the latest `#close`. JSON lines have no header.
 */
export async function mergeLogs(
  inputs: readonly string[],
  output: string,
  json: boolean,
): Promise<void> {
  const rows: { ts: number; line: string }[] = [];
  let header: string[] = [];
  let open = "";
  let close = "";
  for (const input of inputs) {
    const lines = (await Deno.readTextFile(input)).split("\n");
    const head: string[] = [];
    for (const line of lines) {
      if (line.length === 0) continue;
      if (line.startsWith("#")) {
        if (line.startsWith("#close\t")) {
          const at = line.slice(7);
          if (at > close) close = at;
        } else if (line.startsWith("#open\t")) {
          const at = line.slice(6);
          if (open === "" || at < open) open = at;
          head.push(line);
        } else head.push(line);
        continue;
      }
      const ts = json ? jsonTs(line) : Number(line.slice(0, line.indexOf("\t")));
      rows.push({ ts: Number.isFinite(ts) ? ts : 0, line });
    }
    if (header.length === 0) header = head;
  }
  rows.sort((a, b) => a.ts - b.ts);
  const out: string[] = header.map((l) => (l.startsWith("#open\t") ? `#open\t${open}` : l));
  for (const r of rows) out.push(r.line);
  if (!json && close !== "") out.push(`#close\t${close}`);
  await Deno.writeTextFile(output, out.join("\n") + "\n");
}

/** The `ts` of a JSON row in seconds, whichever `json_timestamps` wrote it. */
function jsonTs(line: string): number {
  const raw = /"ts":("[^"]*"|[0-9.eE+-]+)/.exec(line)?.[1];
  if (raw === undefined) return 0;
  return raw.startsWith('"') ? Date.parse(raw.slice(1, -1)) / 1000 : Number(raw);
}
