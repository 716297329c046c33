/**
 * Test support: TCP conversations (built ones, or corpus pcaps) through a
 * real packet pipeline with a STARTTLS analyzer and a stand-in named
 * "SSL" that records what its parent forwards and confirms on a TLS
 * record header (0x16 0x03); returns what the stand-ins saw and the rows
 * of conn.log, weird.log and analyzer.log.
 */

import { concat, ethernet, ipv4, tcp } from "../../../testing/frames.ts";
import {
  type Borrowed,
  lend,
  LINKTYPE_ETHERNET,
  openPcapFile,
  PacketBatch,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
} from "../../../capture/mod.ts";
import { LogRegistry } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { PacketPipeline } from "../../pipeline/mod.ts";
import { ReassemblyMemory } from "../tcp/mod.ts";
import { WeirdLog } from "../weird/mod.ts";
import { type AnalyzerSpec, createAnalyzerStage } from "../framework/mod.ts";

const T0 = 1_700_000_000;
export const text = (s: string): Uint8Array => new TextEncoder().encode(s);

/** What one SSL stand-in (one connection's child) received. */
export interface SslSeen {
  /** The originator's bytes, concatenated. */
  orig: Uint8Array;
  /** The responder's bytes, concatenated. */
  resp: Uint8Array;
  /** Each delivery's side, in order (`>` originator, `<` responder). */
  readonly order: string[];
  gaps: number;
}

/** The stand-in SSL analyzer: records and confirms on `16 03` at a side's start. */
export function recordingSsl(seen: SslSeen[]): AnalyzerSpec {
  return {
    name: "SSL",
    ports: [],
    serverPorts: [],
    signatures: [],
    createStreamAnalyzer(host) {
      const s: SslSeen = { orig: new Uint8Array(0), resp: new Uint8Array(0), order: [], gaps: 0 };
      seen.push(s);
      return {
        stream(data, isOrig) {
          if (isOrig) s.orig = concat(s.orig, data);
          else s.resp = concat(s.resp, data);
          s.order.push(isOrig ? ">" : "<");
          const side = isOrig ? s.orig : s.resp;
          if (side.length >= 2 && side[0] === 0x16 && side[1] === 0x03) host.confirm();
        },
        undelivered: () => void s.gaps++,
        closed: () => {},
        done: () => {},
      };
    },
  };
}

/** A TLS handshake record of `type` (1 ClientHello, 2 ServerHello) with `body` filler bytes. */
export function helloRecord(type: number, body = 40): Uint8Array {
  const hs = new Uint8Array(4 + body);
  hs[0] = type;
  hs[3] = body;
  hs[4] = 3;
  hs[5] = 3;
  for (let i = 6; i < hs.length; i++) hs[i] = (i * 37) & 0xff;
  return concat(new Uint8Array([0x16, 0x03, 0x01, 0, hs.length]), hs);
}

export const CLIENT_HELLO: Uint8Array = helloRecord(1);
export const SERVER_HELLO: Uint8Array = helloRecord(2, 60);

/** One delivery of a conversation: bytes from a side, or a gap of `gap` bytes. */
export type Turn = { orig: boolean; data: Uint8Array } | { orig: boolean; gap: number };

/** `>` for the client, `<` for the server: one line (CRLF added) or raw bytes. */
export function c(data: string | Uint8Array): Turn {
  return { orig: true, data: typeof data === "string" ? text(`${data}\r\n`) : data };
}
export function s(data: string | Uint8Array): Turn {
  return { orig: false, data: typeof data === "string" ? text(`${data}\r\n`) : data };
}

/** The frames of a TCP connection from 10.0.0.1:40000 to 10.0.0.2:`port`: handshake, turns, FINs. */
export function conversation(port: number, turns: readonly Turn[]): [number, Uint8Array][] {
  const client = { src: "10.0.0.1", dst: "10.0.0.2" };
  const server = { src: "10.0.0.2", dst: "10.0.0.1" };
  let cseq = 1000;
  let sseq = 5000;
  let t = 0;
  const frames: [number, Uint8Array][] = [];
  const seg = (orig: boolean, flags: number, payload: Uint8Array = new Uint8Array(0)) => {
    const frame = orig
      ? ethernet(
        0x0800,
        ipv4(6, tcp({ sport: 40000, dport: port, flags, seq: cseq, ack: sseq, payload }), client),
      )
      : ethernet(
        0x0800,
        ipv4(6, tcp({ sport: port, dport: 40000, flags, seq: sseq, ack: cseq, payload }), server),
      );
    frames.push([t, frame]);
    t += 0.01;
  };
  seg(true, TCP_SYN);
  cseq++;
  seg(false, TCP_SYN | TCP_ACK);
  sseq++;
  seg(true, TCP_ACK);
  for (const turn of turns) {
    if ("gap" in turn) {
      if (turn.orig) cseq += turn.gap;
      else sseq += turn.gap;
      continue;
    }
    seg(turn.orig, TCP_ACK | TCP_PSH, turn.data);
    if (turn.orig) cseq += turn.data.length;
    else sseq += turn.data.length;
  }
  seg(true, TCP_ACK | TCP_FIN);
  cseq++;
  seg(false, TCP_ACK | TCP_FIN);
  sseq++;
  seg(true, TCP_ACK);
  return frames;
}

/** What a run produced. */
export interface Outcome {
  readonly ssl: SslSeen[];
  readonly rows: Map<string, Record<string, ZeekValue>[]>;
  /** conn.log's `service` of each connection, in row order ("-" for none). */
  readonly services: string[];
  readonly weirds: string[];
  readonly failures: string[];
}

function pipelineFor(
  analyzers: readonly AnalyzerSpec[],
  checksums: boolean,
  ports?: readonly string[],
  realSsl?: AnalyzerSpec,
) {
  const ssl: SslSeen[] = [];
  const rows = new Map<string, Record<string, ZeekValue>[]>();
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream, _filter, values) {
        const row: Record<string, ZeekValue> = {};
        stream.columns.forEach((col, i) => (row[col.name] = values[i]));
        rows.set(stream.path, [...(rows.get(stream.path) ?? []), row]);
      },
    },
  });
  const pipeline = new PacketPipeline({
    checksums,
    sessions: { logs, ...(ports === undefined ? {} : { likelyServerPorts: ports }) },
    weirds: new WeirdLog({ logs }),
    analyzers: createAnalyzerStage({
      analyzers: [...analyzers, realSsl ?? recordingSsl(ssl)],
      logs,
      reassembly: new ReassemblyMemory(),
    }),
  });
  const outcome = (): Outcome => ({
    ssl,
    rows,
    services: (rows.get("conn") ?? []).map((r) => String(r["service"] ?? "-")),
    weirds: (rows.get("weird") ?? []).map((r) => `${r["name"]}${r["addl"] ? ` ${r["addl"]}` : ""}`),
    failures: (rows.get("analyzer") ?? []).map((r) =>
      `${r["analyzer_name"]}: ${r["failure_reason"]}`
    ),
  });
  return { pipeline, outcome };
}

/** Runs built frames through a pipeline with `analyzers` and the SSL stand-in. */
export function run(
  analyzers: readonly AnalyzerSpec[],
  frames: readonly [number, Uint8Array][],
): Outcome {
  const { pipeline, outcome } = pipelineFor(analyzers, false);
  const b = new PacketBatch(frames.length);
  b.data = concat(...frames.map(([, f]) => f));
  let at = 0;
  frames.forEach(([t, frame], i) => {
    b.offset[i] = at;
    b.caplen[i] = frame.length;
    b.wireLen[i] = frame.length;
    b.linkType[i] = LINKTYPE_ETHERNET;
    b.tsSec[i] = T0 + Math.floor(t);
    b.tsNsec[i] = Math.round((t - Math.floor(t)) * 1e9);
    at += frame.length;
  });
  b.count = frames.length;
  const batch: Borrowed<PacketBatch> = lend(b);
  pipeline.runBatch(batch);
  pipeline.flush();
  return outcome();
}

/** Runs a pcap file through a pipeline with `analyzers` and the SSL stand-in (or `ssl`). */
export async function runPcap(
  path: string,
  analyzers: readonly AnalyzerSpec[],
  options: { checksums: boolean; likelyServerPorts?: readonly string[]; ssl?: AnalyzerSpec },
): Promise<Outcome> {
  const { pipeline, outcome } = pipelineFor(
    analyzers,
    options.checksums,
    options.likelyServerPorts,
    options.ssl,
  );
  await using source = await openPcapFile(path);
  await pipeline.run(source);
  pipeline.flush();
  return outcome();
}

/** The bytes as text, for readable assertion messages. */
export function show(bytes: Uint8Array): string {
  return [...bytes].map((
    b,
  ) => (b >= 32 && b < 127 ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`))
    .join("");
}

/** Standard base64 of bytes (for building test input). */
export function encodeBase64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}
