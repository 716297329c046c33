/**
 * `zeek -r`: runs the packet pipeline over a pcap or pcapng file, with the
 * protocol analyzers Zeek's default scripts would load (or the ones asked
 * for), and leaves every log it writes (conn.log, dns.log, weird.log, …) in
 * a directory, in Zeek's ASCII format or as JSON lines. Several workers can
 * share one file: each keeps only the flows the symmetric flow hash gives
 * it, the way a flow-balanced capture would split them.
 *
 * @module
 */

import { openPcapFile, openTrace } from "../../capture/mod.ts";
import { type FileHashName, type LocalNet, parseCidr } from "../../config/mod.ts";
import type { EventRegistry } from "../bus/mod.ts";
import { type JsonTimestamps, LogDirectory, type LogFileFormat, LogRegistry } from "../log/mod.ts";
import {
  type ConnTimeouts,
  type ConnTrackerStats,
  LikelyServerPorts,
  UidGenerator,
  type UidOptions,
} from "../analysis/conn/mod.ts";
import { createAnalyzerStage } from "../analysis/framework/mod.ts";
import { WeirdLog } from "../analysis/weird/mod.ts";
import { ReassemblyMemory } from "../analysis/tcp/mod.ts";
import {
  type AnalyzerSelection,
  likelyServerPortsFor,
  PacketPipeline,
  type PacketPipelineOptions,
  selectAnalyzers,
} from "../pipeline/mod.ts";

/** What `analyzeTrace` does; only `path` and `logDir` are required. */
export interface TraceJobOptions {
  /** The pcap or pcapng file. */
  readonly path: string;
  /** Where the logs are written (created if missing). */
  readonly logDir: string;
  /** The protocol analyzers: `default` (Zeek's default scripts, the default), `none`, or names (`["DNS"]`, bare mode). */
  readonly analyzers?: AnalyzerSelection;
  /** `policy/protocols/dns/auth-addl`: dns.log gets `auth` and `addl`. */
  readonly dnsAuthAddl?: boolean;
  /** Hashes of every file in files.log (weir.cfg `FileHashes`; none by default). */
  readonly fileHashes?: readonly FileHashName[];
  /** `HTTP::default_capture_password` (weir.cfg `HTTPCapturePassword`). */
  readonly httpCapturePassword?: boolean;
  /** `SSL::log_include_server_certificate_subject_issuer`: ssl.log gets `subject` and `issuer`. */
  readonly sslServerSubjectIssuer?: boolean;
  /** `SSL::log_include_client_certificate_subject_issuer`: ssl.log gets `client_subject` and `client_issuer`. */
  readonly sslClientSubjectIssuer?: boolean;
  /** `ascii` (Zeek's TSV, default) or `json` (`LogAscii::use_json=T`). */
  readonly format?: LogFileFormat;
  /** `LogAscii::json_timestamps` for JSON output. */
  readonly jsonTimestamps?: JsonTimestamps;
  /** Enforce checksums (default true); false is `zeek -C`. */
  readonly checksums?: boolean;
  /** `ignore_checksums_nets`, as CIDRs. */
  readonly ignoreChecksumsNets?: readonly string[];
  /** `likely_server_ports` as `80/tcp` strings (default: what the loaded analyzers give, as in Zeek). */
  readonly likelyServerPorts?: readonly string[];
  /** `Site::local_nets` (default: Zeek's private address space). */
  readonly localNets?: readonly LocalNet[];
  /** `report_gaps_for_partial` (default false). */
  readonly reportGapsForPartial?: boolean;
  /** VLAN-aware connection key with `id.ctx.*` columns (default false). */
  readonly vlanKey?: boolean;
  /** `orig_l2_addr`/`resp_l2_addr` columns (default false). */
  readonly macAddresses?: boolean;
  /** Bytes to drop from the front of every frame before decoding it as raw IP (Zeek's SKIP analyzer). */
  readonly skipBytes?: number;
  /** Keep only flows whose hash falls to worker `index` of `count`. */
  readonly worker?: { readonly index: number; readonly count: number };
  readonly uids?: UidOptions;
  readonly timeouts?: Partial<ConnTimeouts>;
  /** Handlers for the connection events. */
  readonly events?: EventRegistry;
  /** A BPF filter (tcpdump syntax): only matching packets are analysed. */
  readonly filter?: string;
  /** Write `#open`/`#close` in UTC (default: local time, as Zeek). */
  readonly utc?: boolean;
  /** `dns_skip_all_addl` (Zeek's default true). */
  readonly dnsSkipAllAddl?: boolean;
  /** `dns_max_queries` (Zeek's default 25). */
  readonly dnsMaxQueries?: number;
  /** `dns_max_compression_chain_depth` (Zeek's default 20). */
  readonly dnsMaxCompressionChainDepth?: number;
}

/** What a trace job did. */
export interface TraceJobResult {
  /** Packets read from the file. */
  readonly packets: number;
  /** Packets this worker analysed (all of them without `worker`). */
  readonly analyzed: number;
  /** Connections created (rows written to conn.log). */
  readonly connections: number;
  /** Weirds the decoder counted, and their names. */
  readonly weirds: number;
  readonly weirdNames: readonly (readonly [string, number])[];
  readonly tracker: ConnTrackerStats;
  /** Where conn.log is (written when the trace had a connection). */
  readonly logPath: string;
  /** Every log written, by path (`conn`, `dns`, `weird`, …). */
  readonly logPaths: ReadonlyMap<string, string>;
  /** What the reader had to say about the file (a truncated last record), if anything. */
  readonly warning: string | undefined;
}

/** Thrown when the options of a trace job cannot be used. */
export class TraceJobOptionError extends Error {
  override readonly name = "TraceJobOptionError";
}

/**
 * Analyses a trace file and writes `conn.log` into `logDir`.
 *
 * @example
 * ```ts
 * const r = await analyzeTrace({ path: "trace.pcap", logDir: ".", checksums: false });
 * console.log(`${r.packets} packets, ${r.connections} connections`);
 * ```
 */
export async function analyzeTrace(options: TraceJobOptions): Promise<TraceJobResult> {
  const ignoreNets = parseNets(options.ignoreChecksumsNets ?? [], "ignoreChecksumsNets");
  const checksums = options.checksums ?? true;
  const selection = options.analyzers ?? "default";
  const analyzers = selectAnalyzers(selection, {
    dnsAuthAddl: options.dnsAuthAddl ?? false,
    ...(options.dnsSkipAllAddl === undefined ? {} : { dnsSkipAllAddl: options.dnsSkipAllAddl }),
    ...(options.dnsMaxQueries === undefined ? {} : { dnsMaxQueries: options.dnsMaxQueries }),
    ...(options.dnsMaxCompressionChainDepth === undefined
      ? {}
      : { dnsMaxCompressionChainDepth: options.dnsMaxCompressionChainDepth }),
    ...(options.fileHashes === undefined ? {} : { fileHashes: options.fileHashes }),
    ...(options.httpCapturePassword === undefined
      ? {}
      : { httpCapturePassword: options.httpCapturePassword }),
    ...(options.sslServerSubjectIssuer === undefined
      ? {}
      : { sslServerSubjectIssuer: options.sslServerSubjectIssuer }),
    ...(options.sslClientSubjectIssuer === undefined
      ? {}
      : { sslClientSubjectIssuer: options.sslClientSubjectIssuer }),
  });
  const ports = LikelyServerPorts.parse(
    options.likelyServerPorts ?? likelyServerPortsFor(selection, analyzers),
  );

  const logs = new LogRegistry();
  logs.setEvents(options.events);
  const reassembly = new ReassemblyMemory();
  const pipeline = createPipeline(options.path, {
    weirds: new WeirdLog({ logs }),
    checksums,
    ...(analyzers.length === 0 ? {} : {
      analyzers: createAnalyzerStage({
        analyzers,
        reassembly,
        logs,
        ...(options.events === undefined ? {} : { events: options.events }),
      }),
    }),
    macAddresses: options.macAddresses ?? false,
    skipBytes: options.skipBytes ?? 0,
    ...(options.worker === undefined ? {} : { flowSplit: options.worker }),
    sessions: {
      likelyServerPorts: ports,
      ignoreChecksumsNets: ignoreNets,
      reportGapsForPartial: options.reportGapsForPartial ?? false,
      vlanKey: options.vlanKey ?? false,
      uids: new UidGenerator(options.uids),
      logs,
      ...(options.localNets === undefined ? {} : { localNets: options.localNets }),
      ...(options.timeouts === undefined ? {} : { timeouts: options.timeouts }),
      ...(options.events === undefined ? {} : { events: options.events }),
    },
  });
  await using source = options.filter === undefined
    ? await openPcapFile(options.path)
    : await openTrace(options.path, { filter: options.filter });
  const logDir = new LogDirectory({
    dir: options.logDir,
    format: options.format ?? "ascii",
    utc: options.utc ?? false,
    flushIntervalMs: 0,
    recoverLeftover: false,
    ...(options.jsonTimestamps === undefined
      ? {}
      : { json: { timestamps: options.jsonTimestamps } }),
  });
  logs.setSink(logDir);
  try {
    await pipeline.run(source, { afterBatch: () => logDir.ready() });
    pipeline.flush();
  } finally {
    await logDir.close();
  }
  const stats = pipeline.stats();
  const logPaths = logDir.files();
  const warning = source.stats().warning;
  return Object.freeze({
    packets: stats.packets,
    analyzed: stats.analyzed,
    connections: stats.sessions.connections,
    weirds: pipeline.decoder.weirds.total(),
    weirdNames: Object.freeze(pipeline.decoder.weirds.entries()),
    tracker: stats.sessions,
    logPath: logPaths.get("conn") ?? `${options.logDir}/conn.log`,
    logPaths,
    warning,
  });
}

/** The pipeline for `path`, its option errors (a flow split, skip bytes) named by the file. */
function createPipeline(path: string, options: PacketPipelineOptions): PacketPipeline {
  try {
    return new PacketPipeline(options);
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    throw new TraceJobOptionError(`Cannot analyse ${path}: ${error.message}`);
  }
}

function parseNets(cidrs: readonly string[], option: string): LocalNet[] {
  const nets: LocalNet[] = [];
  const bad: string[] = [];
  for (const cidr of cidrs) {
    const net = parseCidr(cidr.trim());
    if (typeof net === "string") bad.push(`"${cidr}" (${net})`);
    else nets.push(net);
  }
  if (bad.length > 0) {
    throw new TraceJobOptionError(
      `Cannot use ${option} ${bad.join(", ")}: write each network as a CIDR such as 10.0.0.0/8`,
    );
  }
  return nets;
}
