/**
 * Test support: TLS and DTLS conversations (the byte chunks or datagrams
 * each side sent, in order) through the real SSL/DTLS analyzers and the SSL
 * scripts, with a fake connection around them; returns the ssl.log rows,
 * the weirds and the violations. Builders make records, handshake
 * messages, hellos and extensions. Used by the unit tests and the fuzz test.
 */

import { LogRegistry, type LogStream } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import type { ConnEndpoints } from "../framework/mod.ts";
import { RecordingHost } from "../../../testing/analyzer_host.ts";
import { DtlsAnalyzer } from "./dtls_analyzer.ts";
import { sslStreamOf } from "./ssl_log.ts";
import { type CertificateSink, SslSession } from "./ssl_session.ts";
import { TlsAnalyzer } from "./tls_analyzer.ts";

/** One delivery: bytes (a datagram for DTLS) from a side, or a content gap. */
export type Chunk = { orig: boolean; data: Uint8Array } | { orig: boolean; gap: number };

/** What a conversation produced. */
export interface Outcome {
  readonly ssl: Record<string, ZeekValue>[];
  readonly weirds: { name: string; addl: string | undefined; source: string | undefined }[];
  readonly violations: string[];
  readonly confirmed: boolean;
}

const ID: ConnEndpoints = {
  origH: "10.0.0.1",
  origP: 40000,
  respH: "10.0.0.2",
  respP: 443,
  proto: "tcp",
};

/** Options of a run. */
export interface RunOptions {
  readonly dtls?: boolean;
  readonly certificates?: CertificateSink;
  readonly subjectIssuer?: boolean;
}

/** Runs the chunks through a fresh analyzer; then the connection ends. */
export function runTls(chunks: readonly Chunk[], options: RunOptions = {}): Outcome {
  const rows: Record<string, ZeekValue>[] = [];
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream: LogStream, _filter, values: readonly ZeekValue[]) {
        const row: Record<string, ZeekValue> = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        rows.push(row);
      },
    },
  });
  const host = new RecordingHost({
    uid: "CFakeTlsConn1",
    logs,
    id: ID,
    time: 1_700_000_000,
    startTime: 1_700_000_000,
  });
  const session = new SslSession(
    host,
    () => sslStreamOf(logs, { serverSubjectIssuer: options.subjectIssuer ?? false }),
    options.certificates,
  );
  const seq = [1, 1];
  if (options.dtls) {
    const dtls = new DtlsAnalyzer(host, session);
    for (const c of chunks) {
      host.time += 0.001;
      if ("data" in c) dtls.packet(c.data, c.orig);
    }
    dtls.done();
  } else {
    const tls = new TlsAnalyzer(host, session);
    for (const c of chunks) {
      host.time += 0.001;
      const side = c.orig ? 0 : 1;
      if ("gap" in c) {
        tls.undelivered(seq[side]!, c.gap, c.orig);
        seq[side]! += c.gap;
      } else {
        tls.stream(c.data, c.orig);
        seq[side]! += c.data.length;
      }
    }
    tls.done();
  }
  return { ssl: rows, weirds: host.weirds, violations: host.violations, confirmed: host.confirmed };
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const u8 = (v: number) => Uint8Array.of(v & 0xff);
const u16 = (v: number) => Uint8Array.of((v >> 8) & 0xff, v & 0xff);
const u24 = (v: number) => Uint8Array.of((v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);
const text = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

/** A TLS record. */
export function record(type: number, body: Uint8Array, version = 0x0303): Uint8Array {
  return concat(u8(type), u16(version), u16(body.length), body);
}

/** A handshake message (type, 24-bit length, body). */
export function handshake(type: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u8(type), u24(body.length), body);
}

/** An extension. */
export function ext(type: number, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  return concat(u16(type), u16(data.length), data);
}

/** `server_name` with host names. */
export function sni(...names: string[]): Uint8Array {
  const list = concat(...names.map((n) => concat(u8(0), u16(n.length), text(n))));
  return ext(0, concat(u16(list.length), list));
}

/** ALPN with protocol names. */
export function alpn(...names: string[]): Uint8Array {
  const list = concat(...names.map((n) => concat(u8(n.length), text(n))));
  return ext(16, concat(u16(list.length), list));
}

/** The server's `supported_versions`. */
export function selectedVersion(v: number): Uint8Array {
  return ext(43, u16(v));
}

/** The server's `key_share` (a group and a 32-byte key). */
export function serverKeyShare(group: number): Uint8Array {
  return ext(51, concat(u16(group), u16(32), new Uint8Array(32)));
}

/** A ClientHello body. */
export function clientHello(
  options: {
    version?: number;
    sessionId?: Uint8Array;
    cookie?: Uint8Array;
    ciphers?: number[];
    exts?: Uint8Array[];
  } = {},
): Uint8Array {
  const sid = options.sessionId ?? new Uint8Array(0);
  const ciphers = options.ciphers ?? [0xc02f, 0x1301];
  const exts = concat(...(options.exts ?? []));
  return handshake(
    1,
    concat(
      u16(options.version ?? 0x0303),
      new Uint8Array(32).fill(7),
      u8(sid.length),
      sid,
      options.cookie === undefined
        ? new Uint8Array(0)
        : concat(u8(options.cookie.length), options.cookie),
      u16(ciphers.length * 2),
      ...ciphers.map(u16),
      u8(1),
      u8(0),
      u16(exts.length),
      exts,
    ),
  );
}

/** A ServerHello body. */
export function serverHello(
  options: {
    version?: number;
    sessionId?: Uint8Array;
    cipher?: number;
    exts?: Uint8Array[];
    random?: Uint8Array;
  } = {},
): Uint8Array {
  const sid = options.sessionId ?? new Uint8Array(0);
  const exts = concat(...(options.exts ?? []));
  return handshake(
    2,
    concat(
      u16(options.version ?? 0x0303),
      options.random ?? new Uint8Array(32).fill(9),
      u8(sid.length),
      sid,
      u16(options.cipher ?? 0xc02f),
      u8(0),
      u16(exts.length),
      exts,
    ),
  );
}

/** A Certificate message with these DER blobs. */
export function certificate(...ders: Uint8Array[]): Uint8Array {
  const list = concat(...ders.map((d) => concat(u24(d.length), d)));
  return handshake(11, concat(u24(list.length), list));
}

/** An ECDHE ServerKeyExchange on a named curve (TLS 1.2 layout). */
export function ecdheKeyExchange(curve: number): Uint8Array {
  return handshake(
    12,
    concat(u8(3), u16(curve), u8(4), new Uint8Array(4), u16(0x0401), u16(2), u16(0)),
  );
}

/** A ChangeCipherSpec record. */
export const CCS = record(20, u8(1));
/** An encrypted record (application data, or a Finished after CCS). */
export const SEALED = (n = 40, type = 22) => record(type, new Uint8Array(n).fill(0xaa));
/** An alert record with (level, description) pairs. */
export const alerts = (...descriptions: number[]) =>
  record(21, concat(...descriptions.map((d) => concat(u8(2), u8(d)))));

/** A DTLS record (epoch, 48-bit sequence). */
export function dtlsRecord(
  type: number,
  epoch: number,
  sequence: number,
  body: Uint8Array,
  version = 0xfefd,
): Uint8Array {
  return concat(
    u8(type),
    u16(version),
    u16(epoch),
    u16(0),
    u16(Math.floor(sequence / 65536)),
    u16(sequence % 65536),
    u16(body.length),
    body,
  );
}

/** A DTLS handshake fragment of a message (type, total length, seq, offset, data). */
export function dtlsFragment(
  type: number,
  length: number,
  messageSeq: number,
  offset: number,
  data: Uint8Array,
): Uint8Array {
  return concat(u8(type), u24(length), u16(messageSeq), u24(offset), u24(data.length), data);
}
