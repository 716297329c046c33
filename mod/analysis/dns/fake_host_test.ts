/**
 * Test support, no tests of its own (named `_test` so it may reach past the
 * doors, like every test file; never shipped): a `RecordingHost` whose
 * violations and weirds go to one list per trace, and a small driver that feeds a pcap's
 * DNS traffic through analyzers the way the framework will: one connection
 * per 5-tuple, roles by Zeek's rules, UDP DNS sessions expired by
 * `expireWhenIdle`, TCP segments put in order, FIN/RST as `closed()`.
 *
 * @module
 */

import {
  CHECKSUM_BAD,
  DecodedPacket,
  openPcapFile,
  OUTCOME_IP,
  PacketDecoder,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "../../../capture/mod.ts";
import { formatAddress } from "../../../capture/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { RecordingHost } from "../../../testing/analyzer_host.ts";
import { EventRegistry } from "../../bus/mod.ts";
import { AsciiWriter, LogRegistry, type LogStream } from "../../log/mod.ts";
import { RowBuffer } from "../../log/ascii_values.ts";
import type {
  AnalyzerSpec,
  ConnEndpoints,
  PacketAnalyzer,
  StreamAnalyzer,
} from "../framework/mod.ts";

export interface RecordedWeird {
  readonly name: string;
  readonly addl: string | undefined;
  readonly uid: string;
}

/** What every fake connection of one run shares: the logs and the records of effects. */
export class FakeWorld {
  readonly logs = new LogRegistry({ validate: true });
  readonly rows: { stream: LogStream; values: ZeekValue[] }[] = [];
  readonly weirds: RecordedWeird[] = [];
  readonly violations: { reason: string; uid: string }[] = [];
  readonly events: EventRegistry | undefined;
  #uids = 0;

  constructor(withEvents = false) {
    this.logs.setSink({
      write: (stream, _filter, values) => this.rows.push({ stream, values: [...values] }),
    });
    this.events = withEvents
      ? new EventRegistry((name, error) => {
        throw new Error(`handler of ${name} failed: ${error}`);
      })
      : undefined;
  }

  nextUid(): string {
    return `C${++this.#uids}`;
  }

  /** The rows of a stream rendered by Zeek's ASCII writer, one line each, without newline. */
  render(streamId = "DNS::LOG"): string[] {
    const stream = this.logs.stream(streamId);
    if (stream === undefined) return [];
    const filter = this.logs.filters(stream)[0]!;
    const writer = new AsciiWriter(filter.fields);
    const out: string[] = [];
    for (const r of this.rows) {
      if (r.stream !== stream) continue;
      const buf = new RowBuffer();
      writer.appendRow(buf, r.values, filter.indices);
      out.push(new TextDecoder().decode(buf.view()).replace(/\n$/, ""));
    }
    return out;
  }
}

/** One fake connection; its violations and weirds go to its world's lists. */
export class FakeHost extends RecordingHost {
  readonly world: FakeWorld;
  /** Network time of its last packet, for idle expiry. */
  lastTime = 0;

  constructor(world: FakeWorld, id: ConnEndpoints, time = 0) {
    super({ uid: world.nextUid(), logs: world.logs, events: world.events, id, time });
    this.world = world;
    this.lastTime = time;
  }

  override violate(reason: string): void {
    this.world.violations.push({ reason, uid: this.uid });
  }
  override weird(name: string, addl?: string): void {
    this.world.weirds.push({ name, addl, uid: this.uid });
  }
}

/** How a driver treats one trace. */
export interface DriveOptions {
  /** Likely server ports for the role decision at creation (`53/udp` …). */
  readonly serverPorts?: readonly string[];
  readonly withEvents?: boolean;
  /** Drop packets with a bad IP or transport checksum, as Zeek does without `-C` (default false). */
  readonly checksums?: boolean;
}

interface Conn {
  readonly host: FakeHost;
  readonly key: string;
  readonly origKey: string;
  readonly udp: PacketAnalyzer | undefined;
  readonly tcp: StreamAnalyzer | undefined;
  /** Next expected sequence number per side (orig, resp) for TCP; -1 before the first. */
  readonly next: [number, number];
  readonly held: [Map<number, Uint8Array>, Map<number, Uint8Array>];
}

const DNS_PORT_SET = ["53/udp", "53/tcp", "137/udp", "5353/udp", "5355/udp"];

/**
 * Feeds every UDP/TCP packet of `path` whose port is one of the analyzer's
 * ports through `spec`, and ends every connection at the end.
 */
export async function driveTrace(
  path: string,
  spec: AnalyzerSpec,
  options: DriveOptions = {},
): Promise<FakeWorld> {
  const world = new FakeWorld(options.withEvents ?? false);
  const server = new Set(options.serverPorts ?? DNS_PORT_SET);
  const ports = new Set(spec.ports);
  const conns = new Map<string, Conn>();
  const order: Conn[] = [];
  const end = (c: Conn) => {
    c.udp?.done();
    c.tcp?.done();
    conns.delete(c.key);
  };
  await using source = await openPcapFile(path);
  const checksums = options.checksums ?? false;
  const decoder = new PacketDecoder({ checksums });
  const d = new DecodedPacket();
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    for (let i = 0; i < batch.count; i++) {
      if (decoder.decode(batch, i, d) !== OUTCOME_IP) continue;
      if (d.proto !== 6 && d.proto !== 17) continue;
      if (checksums && (d.ipChecksum === CHECKSUM_BAD || d.l4Checksum === CHECKSUM_BAD)) continue;
      const t = d.ts;
      for (const c of [...conns.values()]) {
        const e = c.host.expire;
        if (e === undefined || t < e.due) continue;
        if (t - c.host.lastTime >= e.idle) end(c);
        else e.due = t + e.every;
      }
      const proto = d.proto === 6 ? "tcp" : "udp";
      const src = formatAddress(d.addr, 0);
      const dst = formatAddress(d.addr, 4);
      const sp = d.srcPort;
      const dp = d.dstPort;
      const a = `${src}|${sp}`;
      const b = `${dst}|${dp}`;
      const key = `${proto}|${a < b ? a + "|" + b : b + "|" + a}`;
      let c = conns.get(key);
      if (c === undefined) {
        const srcServer = server.has(`${sp}/${proto}`);
        const dstServer = server.has(`${dp}/${proto}`);
        let flip = srcServer && !dstServer;
        if (proto === "tcp" && (d.tcpFlags & (TCP_SYN | TCP_ACK)) === TCP_SYN) flip = false;
        const id: ConnEndpoints = flip
          ? { origH: dst, origP: dp, respH: src, respP: sp, proto }
          : { origH: src, origP: sp, respH: dst, respP: dp, proto };
        if (!ports.has(`${id.respP}/${proto}`)) continue;
        const host = new FakeHost(world, id, t);
        if (flip) host.historyText += "^";
        c = {
          host,
          key,
          origKey: flip ? b : a,
          udp: proto === "udp" ? spec.createPacketAnalyzer!(host) : undefined,
          tcp: proto === "tcp" ? spec.createStreamAnalyzer!(host) : undefined,
          next: [-1, -1],
          held: [new Map(), new Map()],
        };
        conns.set(key, c);
        order.push(c);
      }
      const host = c.host;
      host.time = t;
      host.lastTime = t;
      // Roles may have flipped since creation: the direction is by the current originator.
      const id = host.endpoints();
      const isOrig = `${id.origH}|${id.origP}` === a;
      const payload = d.data.subarray(d.payloadOffset, d.payloadOffset + d.payloadCaplen);
      if (c.udp !== undefined) {
        c.udp.packet(payload, isOrig);
        continue;
      }
      const side = isOrig ? 0 : 1;
      const flags = d.tcpFlags;
      if (c.next[side] < 0) c.next[side] = (flags & TCP_SYN) !== 0 ? d.tcpSeq + 1 : d.tcpSeq;
      if (payload.length > 0 && (flags & TCP_RST) === 0) {
        c.held[side].set(d.tcpSeq >>> 0, payload.slice());
        for (
          let seg = c.held[side].get(c.next[side]);
          seg !== undefined;
          seg = c.held[side].get(c.next[side])
        ) {
          c.held[side].delete(c.next[side]);
          c.next[side] = (c.next[side] + seg.length) >>> 0;
          c.tcp!.stream(seg, isOrig);
        }
      }
      if ((flags & (TCP_FIN | TCP_RST)) !== 0) c.tcp!.closed(isOrig);
    }
  }
  for (const c of order) if (conns.has(c.key)) end(c);
  return world;
}
