/**
 * Test support: the certificates of TLS 1.0–1.2 handshakes in pcaps, taken
 * out of the TCP streams with a small record and handshake walk (no
 * analyzer): for the corpus test and as fuzz seeds.
 */

import { DecodedPacket, openPcapFile, OUTCOME_IP, PacketDecoder } from "../../../capture/mod.ts";
import { DEFAULT_APPS_CORPUS_DIR } from "../../../testing/apps_corpus.ts";

/** The payload of each TCP direction of a pcap, put in sequence order (duplicates dropped). */
async function tcpStreams(path: string): Promise<Map<string, { data: Uint8Array }>> {
  const segments = new Map<string, { bySeq: Map<number, Uint8Array> }>();
  await using source = await openPcapFile(path);
  const decoder = new PacketDecoder({ checksums: false });
  const d = new DecodedPacket();
  for (let b = await source.next(); b !== null; b = await source.next()) {
    for (let i = 0; i < b.count; i++) {
      if (decoder.decode(b, i, d) !== OUTCOME_IP || d.proto !== 6 || d.payloadCaplen === 0) {
        continue;
      }
      const view = new DataView(d.data.buffer, d.data.byteOffset, d.data.byteLength);
      const seq = view.getUint32(d.l4Offset + 4);
      const key = `${[...d.addr].join(".")}:${d.srcPort}>${d.dstPort}`;
      let stream = segments.get(key);
      if (stream === undefined) segments.set(key, stream = { bySeq: new Map() });
      const payload = d.data.slice(d.payloadOffset, d.payloadOffset + d.payloadCaplen);
      const had = stream.bySeq.get(seq);
      if (had === undefined || had.length < payload.length) stream.bySeq.set(seq, payload);
    }
  }
  const out = new Map<string, { data: Uint8Array }>();
  for (const [key, { bySeq }] of segments) {
    const seqs = [...bySeq.keys()].sort((a, b) => a - b);
    const parts: Uint8Array[] = [];
    let next = seqs[0]!;
    for (const seq of seqs) {
      const p = bySeq.get(seq)!;
      if (seq > next) break;
      if (seq + p.length <= next) continue;
      parts.push(p.subarray(next - seq));
      next = seq + p.length;
    }
    const data = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    out.set(key, { data });
  }
  return out;
}

/**
 * The TLS (1.0–1.2) Certificate messages in a byte stream: records from
 * the first handshake record header on, handshake bytes reassembled across
 * records, until ChangeCipherSpec.
 */
function certificateMessages(stream: Uint8Array): Uint8Array[][] {
  let at = -1;
  for (let i = 0; i + 5 <= stream.length; i++) {
    if (stream[i] === 22 && stream[i + 1] === 3 && stream[i + 2]! <= 3) {
      at = i;
      break;
    }
  }
  if (at < 0) return [];
  const handshake: number[] = [];
  while (at + 5 <= stream.length) {
    const type = stream[at]!;
    const length = (stream[at + 3]! << 8) | stream[at + 4]!;
    if (stream[at + 1] !== 3 || at + 5 + length > stream.length) break;
    if (type === 20) break;
    if (type === 22) handshake.push(...stream.subarray(at + 5, at + 5 + length));
    at += 5 + length;
  }
  const out: Uint8Array[][] = [];
  const h = Uint8Array.from(handshake);
  for (let p = 0; p + 4 <= h.length;) {
    const length = (h[p + 1]! << 16) | (h[p + 2]! << 8) | h[p + 3]!;
    if (p + 4 + length > h.length) break;
    if (h[p] === 11) {
      const body = h.subarray(p + 4, p + 4 + length);
      const certs: Uint8Array[] = [];
      const total = (body[0]! << 16) | (body[1]! << 8) | body[2]!;
      for (let q = 3; q + 3 <= Math.min(body.length, 3 + total);) {
        const n = (body[q]! << 16) | (body[q + 1]! << 8) | body[q + 2]!;
        certs.push(body.slice(q + 3, q + 3 + n));
        q += 3 + n;
      }
      out.push(certs);
    }
    p += 4 + length;
  }
  return out;
}

/** The certificates of each Certificate message of a pcap's TCP streams. */
export async function pcapCertificates(path: string): Promise<Uint8Array[][]> {
  const out: Uint8Array[][] = [];
  for (const { data } of (await tcpStreams(path)).values()) out.push(...certificateMessages(data));
  return out;
}

/** The certificates of every `.pcap` of the corpus; none when it is absent. */
export async function corpusCertificates(
  dir: string = DEFAULT_APPS_CORPUS_DIR,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  let cases: Deno.DirEntry[];
  try {
    cases = [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return out;
  }
  for (const c of cases) {
    if (!c.isDirectory) continue;
    for (
      const f of [...Deno.readDirSync(`${dir}/${c.name}`)].sort((a, b) =>
        a.name.localeCompare(b.name)
      )
    ) {
      if (!f.name.endsWith(".pcap")) continue;
      for (const message of await pcapCertificates(`${dir}/${c.name}/${f.name}`)) {
        out.push(...message);
      }
    }
  }
  return out;
}
