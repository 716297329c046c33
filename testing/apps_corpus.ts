/**
 * Reading Zeek's application-log corpus (`../shared/conformance/zeek-apps`):
 * its manifest, its baseline files in their four formats (Zeek ASCII,
 * `zeek-cut -m`, `zeek-cut` without header, several ASCII logs appended),
 * and the plan of weir runs that reproduces them: which pcaps, in which
 * mode (bare with the protocols the command loads, or default), with
 * which checksum handling, `likely_server_ports` and redefs.
 *
 * The corpus's README says how the baselines were made; the rules it
 * states are applied here and in `apps_compare.ts`, nothing is copied.
 *
 * @module
 */

import { DecodedPacket, openPcapFile, OUTCOME_IP, PacketDecoder } from "../capture/mod.ts";
import type { TraceJobOptions } from "../mod/trace/mod.ts";
import { DEFAULT_LIKELY_SERVER_PORTS } from "../mod/analysis/conn/mod.ts";

/** Where the corpus is in a checkout: `../shared/conformance/zeek-apps` next to the repository. */
export const DEFAULT_APPS_CORPUS_DIR: string =
  new URL("../../shared/conformance/zeek-apps", import.meta.url).pathname;

/** One TCP or UDP payload of a corpus trace (copied: it outlives the packet). */
export interface CorpusPayload {
  /** The case directory and the pcap's file name. */
  readonly case: string;
  readonly file: string;
  readonly proto: number;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly payload: Uint8Array;
}

/**
 * Every non-empty TCP and UDP payload of the `.pcap` traces of the cases
 * whose directory matches `cases`, in capture order, trace by trace (for
 * fuzzers' seeds and parser checks); nothing when the corpus is absent.
 */
export async function* appsCorpusPayloads(
  cases: RegExp,
  dir: string = DEFAULT_APPS_CORPUS_DIR,
): AsyncGenerator<CorpusPayload> {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return;
  }
  for (const c of entries) {
    if (!c.isDirectory || !cases.test(c.name)) continue;
    for (const f of Deno.readDirSync(`${dir}/${c.name}`)) {
      if (!f.name.endsWith(".pcap")) continue;
      await using source = await openPcapFile(`${dir}/${c.name}/${f.name}`);
      const decoder = new PacketDecoder({ checksums: false });
      const d = new DecodedPacket();
      for (let b = await source.next(); b !== null; b = await source.next()) {
        for (let i = 0; i < b.count; i++) {
          if (decoder.decode(b, i, d) !== OUTCOME_IP || d.payloadCaplen === 0) continue;
          if (d.proto !== 6 && d.proto !== 17) continue;
          yield {
            case: c.name,
            file: f.name,
            proto: d.proto,
            srcPort: d.srcPort,
            dstPort: d.dstPort,
            payload: d.data.slice(d.payloadOffset, d.payloadOffset + d.payloadCaplen),
          };
        }
      }
    }
  }
}

/** The log kinds the corpus has baselines of, in the manifest's order. */
export const APPS_LOG_KINDS = ["dns-log", "http-log", "ssl-log", "weird-log", "conn-log"] as const;
export type AppsLogKind = typeof APPS_LOG_KINDS[number];

/** One baseline file as the manifest describes it (the fields the runner reads). */
export interface AppsBaseline {
  readonly file: string;
  readonly command: string;
  readonly mode: string;
  readonly checksums: string;
  readonly kind: AppsLogKind;
  readonly format: string;
  readonly rows: number;
  readonly canonifier: string;
  readonly compare: string;
  readonly columns?: readonly string[];
  readonly likely_server_ports?: string;
}

/** One case: its pcaps and baselines. */
export interface AppsCase {
  readonly case: string;
  readonly protocol: readonly string[];
  readonly pcaps: readonly { readonly file: string }[];
  readonly baselines: readonly AppsBaseline[];
}

/** The manifest, as the runner needs it. */
export interface AppsManifest {
  readonly cases: readonly AppsCase[];
  /** `likely_server_ports_notation`: `T`, `+DNS`, … → the ports each stands for, as text. */
  readonly likely_server_ports_notation: Readonly<Record<string, string>>;
}

/** Whether the corpus is present. */
export async function appsCorpusAvailable(dir: string = DEFAULT_APPS_CORPUS_DIR): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/manifest.json`)).isFile;
  } catch {
    return false;
  }
}

export async function readAppsManifest(
  dir: string = DEFAULT_APPS_CORPUS_DIR,
): Promise<AppsManifest> {
  return JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`)) as AppsManifest;
}

/** A Zeek log (or one run of a concatenated one): header lines, columns, rows. */
export interface ZeekLog {
  /** `#path`, `#types`, … by name (without `#`), as written; empty for cut files. */
  readonly header: ReadonlyMap<string, string>;
  readonly columns: readonly string[];
  /** `#types`, when the file has it. */
  readonly types: readonly string[] | undefined;
  readonly rows: readonly (readonly string[])[];
}

/**
 * Parses log text into one `ZeekLog` per header block (a concatenated
 * baseline has several). btest's first line and CRs (one baseline was
 * committed with CRLF) are dropped; a `zeek-cut -m` file's first plain
 * line is its header; a file without any header takes `columns`.
 */
export function parseZeekLogs(text: string, columns?: readonly string[]): ZeekLog[] {
  const logs: ZeekLog[] = [];
  let header = new Map<string, string>();
  let names: string[] | undefined = columns === undefined ? undefined : [...columns];
  let rows: string[][] = [];
  let open = false;
  const finish = () => {
    if (open) {
      const types = header.get("types")?.split("\t");
      logs.push({ header, columns: names ?? [], types, rows });
    }
    header = new Map();
    names = columns === undefined ? undefined : [...columns];
    rows = [];
    open = false;
  };
  for (const raw of text.split("\n")) {
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "" || line.startsWith("###")) continue;
    if (line.startsWith("#")) {
      if (line.startsWith("#separator") && header.size > 0) finish();
      open = true;
      const m = /^#(\w+)[\t ](.*)$/.exec(line);
      if (m !== null) header.set(m[1]!, m[2]!);
      if (m?.[1] === "fields") names = m[2]!.split("\t");
      continue;
    }
    open = true;
    if (names === undefined) {
      names = line.split("\t");
      continue;
    }
    rows.push(line.split("\t"));
  }
  finish();
  return logs;
}

/** The columns of a `zeek-cut` baseline without header, from the manifest or its command. */
export function cutColumns(b: AppsBaseline): readonly string[] | undefined {
  if (b.columns !== undefined) return b.columns;
  if (b.format !== "zeek-cut (no header)") return undefined;
  const m = /zeek-cut\s+((?:[\w.]+\s+)*?[\w.]+)\s*</.exec(b.command);
  return m === null ? undefined : m[1]!.split(/\s+/);
}

/** Reads a baseline file: one `ZeekLog` per run it holds. */
export async function readBaseline(dir: string, c: AppsCase, b: AppsBaseline): Promise<ZeekLog[]> {
  const text = await Deno.readTextFile(`${dir}/${c.case}/${b.file}`);
  return parseZeekLogs(text, b.format === "zeek-cut (no header)" ? cutColumns(b) : undefined);
}

/** The file weir writes for a kind: `dns-log` → `dns.log`. */
export function logFileOf(kind: AppsLogKind): string {
  return `${kind.slice(0, -"-log".length)}.log`;
}

/** What a run of weir is told besides the pcap and the log directory. */
export type AppsRunOptions = Omit<TraceJobOptions, "path" | "logDir">;

/** One set of weir runs (one per pcap) whose logs serve one or more baselines. */
export interface AppsRun {
  readonly case: AppsCase;
  /** One run per pcap, in this order; several only for concatenated baselines. */
  readonly pcaps: readonly string[];
  readonly options: AppsRunOptions;
  readonly baselines: readonly AppsBaseline[];
}

/** Zeek's script directory names → its analyzer names, for what a bare command loads. */
const ANALYZER_OF_SCRIPT_DIR: Readonly<Record<string, string>> = {
  dns: "DNS",
  http: "HTTP",
  ssl: "SSL",
  smtp: "SMTP",
  imap: "IMAP",
  pop3: "POP3",
  irc: "IRC",
  xmpp: "XMPP",
  mysql: "MySQL",
  rdp: "RDP",
  ftp: "FTP",
  ssh: "SSH",
};

/**
 * Groups a case's baselines into runs: a baseline's pcaps are the ones its
 * command names (all of them for a concatenated log), "same run" means
 * the previous baseline's run, and baselines with the same pcaps and
 * options share one run.
 */
export function planRuns(
  c: AppsCase,
  notation: AppsManifest["likely_server_ports_notation"],
): AppsRun[] {
  const runs: {
    case: AppsCase;
    pcaps: string[];
    options: AppsRunOptions;
    baselines: AppsBaseline[];
  }[] = [];
  const byKey = new Map<string, (typeof runs)[number]>();
  let previous: { pcaps: string[]; command: string } | undefined;
  for (const b of c.baselines) {
    const sameRun = /^same run/.test(b.command) && previous !== undefined;
    const command = sameRun ? previous!.command : b.command;
    const pcaps = sameRun ? previous!.pcaps : pcapsOf(c, b);
    const options = runOptionsFor(b, command, notation);
    const key = `${pcaps.join(" ")}\n${JSON.stringify(options)}`;
    let run = byKey.get(key);
    if (run === undefined) {
      run = { case: c, pcaps, options, baselines: [] };
      byKey.set(key, run);
      runs.push(run);
    }
    run.baselines.push(b);
    previous = { pcaps, command };
  }
  return runs;
}

/** The pcaps a baseline's command reads, in the manifest's order. */
export function pcapsOf(c: AppsCase, b: AppsBaseline): string[] {
  const all = c.pcaps.map((p) => p.file);
  if (b.format.startsWith("concatenated") || all.length === 1) return all;
  const named = all.filter((f) =>
    new RegExp(`(^|[\\s/])${escapeRegExp(f)}($|[\\s;])`).test(b.command)
  );
  if (named.length === 0) {
    throw new Error(`Cannot tell which pcap of ${c.case} makes ${b.file}: its command names none`);
  }
  return named;
}

/** How weir must run to reproduce a baseline made by `command`. */
export function runOptionsFor(
  b: AppsBaseline,
  command: string,
  notation: AppsManifest["likely_server_ports_notation"],
): AppsRunOptions {
  const isDefault = b.mode === "default";
  const loaded = isDefault ? [] : loadedAnalyzers(command);
  const ports = b.likely_server_ports ??
    (isDefault
      ? "default"
      : ["T", ...loaded.filter((a) => `+${a}` in notation).map((a) => `+${a}`)].join(""));
  const text = `${b.mode} ${command}`;
  const maxQueries = /dns_max_queries=(\d+)/.exec(text);
  const maxDepth = /dns_max_compression_chain_depth=(\d+)/.exec(text);
  return {
    checksums: b.checksums !== "-C",
    analyzers: isDefault ? "default" : loaded,
    likelyServerPorts: expandLikelyServerPorts(ports, notation),
    ...(/auth-addl/.test(text) ? { dnsAuthAddl: true } : {}),
    ...(/dns_skip_all_addl=F/.test(text) ? { dnsSkipAllAddl: false } : {}),
    ...(maxQueries ? { dnsMaxQueries: Number(maxQueries[1]) } : {}),
    ...(maxDepth ? { dnsMaxCompressionChainDepth: Number(maxDepth[1]) } : {}),
    ...(/log_include_server_certificate_subject_issuer=T/.test(text)
      ? { sslServerSubjectIssuer: true }
      : {}),
    ...(/log_include_client_certificate_subject_issuer=T/.test(text)
      ? { sslClientSubjectIssuer: true }
      : {}),
  };
}

/** The analyzers a bare command loads (`base/protocols/dns`, `policy/protocols/dns/auth-addl`, …). */
export function loadedAnalyzers(command: string): string[] {
  const out: string[] = [];
  for (const m of command.matchAll(/(?:^|\s)(?:base\/|policy\/)?protocols\/(\w+)/g)) {
    const name = ANALYZER_OF_SCRIPT_DIR[m[1]!];
    if (name !== undefined && !out.includes(name)) out.push(name);
  }
  return out;
}

/**
 * Expands the manifest's `likely_server_ports` notation (`T+DNS`,
 * `T+SSL (POP3 registers no ports)`, `default`) into `53/udp` strings,
 * reading what each symbol stands for from the manifest itself.
 */
export function expandLikelyServerPorts(
  value: string,
  notation: AppsManifest["likely_server_ports_notation"],
): readonly string[] {
  const text = value.replace(/\(.*?\)/g, "").trim();
  if (text === "default") return DEFAULT_LIKELY_SERVER_PORTS;
  const symbols = text.split("+").map((s) => s.trim()).filter((s) => s !== "");
  const ports: string[] = [];
  for (const [i, symbol] of symbols.entries()) {
    const description = notation[i === 0 ? symbol : `+${symbol}`];
    if (description === undefined) {
      throw new Error(
        `Cannot expand likely_server_ports "${value}": "${symbol}" is not in the manifest's notation`,
      );
    }
    for (const p of portsOfDescription(description)) if (!ports.includes(p)) ports.push(p);
  }
  // Sorted, so that runs whose notations name the same ports in another order are one run.
  return ports.sort();
}

/** `{80,81}/tcp + 443/udp (DTLS)`, `{6666..6669}/tcp`, `{53/tcp,53/udp}` → port strings. */
export function portsOfDescription(description: string): string[] {
  const out: string[] = [];
  const text = description.replace(/\(.*?\)/g, "");
  for (const m of text.matchAll(/\{([^}]*)\}(?:\/(tcp|udp|icmp))?|(\d+)\/(tcp|udp|icmp)/g)) {
    if (m[3] !== undefined) {
      out.push(`${m[3]}/${m[4]}`);
      continue;
    }
    for (const item of m[1]!.split(",").map((s) => s.trim())) {
      const own = /^(\d+)\/(tcp|udp|icmp)$/.exec(item);
      if (own !== null) {
        out.push(item);
        continue;
      }
      const range = /^(\d+)\.\.(\d+)$/.exec(item);
      const [from, to] = range === null
        ? [Number(item), Number(item)]
        : [Number(range[1]), Number(range[2])];
      for (let p = from; p <= to; p++) out.push(`${p}/${m[2]}`);
    }
  }
  return out;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
