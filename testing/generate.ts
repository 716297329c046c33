/**
 * A generator of synthetic traffic for tests and benchmarks, written as a
 * trace file: N flows of TCP (handshake, data, FIN teardown, with correct
 * sequence and acknowledgement numbers), UDP request/response and ICMP
 * echo, over IPv4 and IPv6, optionally VLAN-tagged (802.1Q, or QinQ with
 * an 802.1ad outer tag) and with IPv4 UDP datagrams split in three
 * fragments. Flows are interleaved at random, packets spaced evenly at the
 * chosen rate, and every checksum is correct. The same seed gives the same
 * bytes.
 *
 * With `applications`, flows to DNS (53, over UDP and TCP), HTTP (80) and
 * TLS (443) carry real application messages (see `app_payloads.ts`) instead
 * of random bytes: TCP segments end where the messages do (a message longer
 * than the MSS spans several), a flow ends after a whole exchange once it
 * has sent its share of packets, and the other flows use ports no
 * application is built for. With `http` as well, HTTP flows are HTTP-heavy
 * traffic (`HttpOptions`): as many requests as drawn, bodies up to
 * megabytes, gzip and chunked responses, the receiver's delayed ACKs.
 * With `tls`, TLS flows are TLS-heavy traffic (`TlsOptions`): full TLS 1.2
 * handshakes with the certificate chain, TLS 1.3 handshakes, TLS 1.2
 * resumptions by session id and by session ticket, and long encrypted
 * streams of 16 KiB records.
 *
 * Every flow has a distinct client address (10.0.0.0/8 or fd00::/64 plus
 * the flow's index), so no two flows share a 5-tuple and the returned
 * ground truth is exact per flow. Frames shorter than Ethernet's 60-byte
 * minimum are padded, as a receiving NIC would see them.
 *
 * @module
 */

import {
  APP_DNS,
  APP_HTTP,
  APP_NONE,
  APP_TLS,
  AppConversation,
  type ApplicationName,
  applicationName,
  type AppRandom,
  Burst,
  type HttpTraffic,
  type TlsHandshake,
  type TlsTraffic,
} from "./app_payloads.ts";
import {
  createPcapWriter,
  foldSum,
  openPcapWriter,
  type PcapWriter,
  sumWords,
  type TraceWriteFormat,
} from "../capture/mod.ts";

/** What to generate; every field has a default (`undefined` means the default). */
export interface GenerateOptions {
  /** Number of flows (default 100). */
  readonly flows?: number | undefined;
  /**
   * Packets per flow (default 10; TCP flows have at least 6, fragmented UDP
   * flows at least 4; TCP application flows run on to the end of the
   * exchange under way when they reach it).
   */
  readonly packetsPerFlow?: number | undefined;
  /** Share of flows over IPv6 (default 0). */
  readonly ipv6Share?: number | undefined;
  /** Share of flows with VLAN tags, half of them double-tagged (default 0). */
  readonly vlanShare?: number | undefined;
  /** Share of flows that are IPv4 UDP whose first datagram is sent in three fragments (default 0). */
  readonly fragmentsShare?: number | undefined;
  /** Share of UDP and of ICMP flows among the rest; TCP gets what remains (defaults 0.3, 0.1). */
  readonly udpShare?: number | undefined;
  readonly icmpShare?: number | undefined;
  /** Payload bytes per data packet, drawn uniformly (defaults 0 and 512; capped to fit a 1500-byte MTU). */
  readonly payloadMin?: number | undefined;
  readonly payloadMax?: number | undefined;
  /** Packets per second of trace time (default 10000). */
  readonly rate?: number | undefined;
  /** Epoch seconds of the first packet (default 1700000000). */
  readonly startTime?: number | undefined;
  /** Flows in progress at once, interleaved at random (default 64). */
  readonly concurrency?: number | undefined;
  readonly seed?: number | undefined;
  readonly format?: TraceWriteFormat | undefined;
  /**
   * Application payloads: `true` for `DEFAULT_APPLICATION_SHARES`, or the
   * share of all flows for each application (default: none, random bytes).
   */
  readonly applications?: boolean | ApplicationShares | undefined;
  /**
   * HTTP-heavy traffic on the HTTP flows `applications` asks for: `true`
   * for `DEFAULT_HTTP_TRAFFIC`, or the options (default: none, HTTP flows
   * as short keep-alive exchanges with bodies up to 24 KB that end when
   * the flow has sent `packetsPerFlow` packets).
   */
  readonly http?: boolean | HttpOptions | undefined;
  /**
   * TLS-heavy traffic on the TLS flows `applications` asks for: `true` for
   * `DEFAULT_TLS_TRAFFIC`, or the options (default: none, TLS flows as full
   * 1.2 or 1.3 handshakes and short exchanges that end when the flow has
   * sent `packetsPerFlow` packets).
   */
  readonly tls?: boolean | TlsOptions | undefined;
}

/**
 * HTTP-heavy traffic: connections of one or many requests, bodies up to
 * megabytes, some gzip-encoded and some chunked. The request count, not
 * `packetsPerFlow`, decides how long an HTTP flow is; a receiver ACKs every
 * second segment of a long burst; after `Connection: close` the server
 * closes. Fields left out take `DEFAULT_HTTP_TRAFFIC`'s values.
 */
export interface HttpOptions {
  /**
   * Most requests on one connection: 1 is one request per connection
   * (`Connection: close`); N > 1 gives keep-alive connections of 1 … N
   * requests, evenly drawn.
   */
  readonly requestsPerConnection?: number | undefined;
  /** Share of connections with one request and `Connection: close` even when N > 1. */
  readonly oneRequestShare?: number | undefined;
  /**
   * Largest response body in bytes (up to 64 MiB). Most bodies have the
   * default traffic's sizes (up to 24 KB), 5 % are empty, and 10 % are
   * spread evenly on a log scale from 24 KB to this.
   */
  readonly bodyMax?: number | undefined;
  /**
   * Share of responses to unconditional requests sent with
   * `Content-Encoding: gzip`: HTML, JSON, JavaScript or CSS compressed by
   * zlib, the Content-Length the encoded size.
   */
  readonly gzipShare?: number | undefined;
  /** Share of responses other than images sent with `Transfer-Encoding: chunked`. */
  readonly chunkedShare?: number | undefined;
}

/** What `http: true` gives: a mix of keep-alive and one-request connections, bodies to 1 MiB, a fifth gzip. */
export const DEFAULT_HTTP_TRAFFIC: Readonly<Record<keyof HttpOptions, number>> = Object.freeze({
  requestsPerConnection: 10,
  oneRequestShare: 0.3,
  bodyMax: 1024 * 1024,
  gzipShare: 0.2,
  chunkedShare: 0.2,
});

/**
 * TLS-heavy traffic: full TLS 1.2 handshakes (ServerHello, the certificate
 * chain, ServerKeyExchange, ServerHelloDone; the client's key exchange;
 * NewSessionTicket), full TLS 1.3 ones, and abbreviated TLS 1.2 ones that
 * resume a session: by session id (the client offers one, the server
 * echoes it; CCS and encrypted Finished from each side) or by session
 * ticket (a non-empty session_ticket extension and an empty session id;
 * the server sends a NewSessionTicket, then CCS and Finished). After the
 * handshake, 1 … N request/response exchanges of application data, the
 * last response of some connections a long stream, all in records of up to
 * 16 KiB of ciphertext; the receiver ACKs every second segment. The
 * exchange count, not `packetsPerFlow`, decides how long a TLS flow is.
 * Fields left out take `DEFAULT_TLS_TRAFFIC`'s values.
 */
export interface TlsOptions {
  /** Share of connections with a full TLS 1.3 handshake. */
  readonly tls13Share?: number | undefined;
  /** Share of connections that resume a TLS 1.2 session by session id. */
  readonly sessionIdShare?: number | undefined;
  /**
   * Share of connections that resume a TLS 1.2 session by session ticket;
   * full TLS 1.2 handshakes get what the three shares leave.
   */
  readonly ticketShare?: number | undefined;
  /** Most request/response exchanges on one connection (1 … N, evenly drawn). */
  readonly exchangesPerConnection?: number | undefined;
  /**
   * Share of connections whose last response is a long encrypted stream;
   * the other responses are 300 B to 40 KB.
   */
  readonly streamShare?: number | undefined;
  /**
   * Longest stream in bytes (up to 1 GiB); streams spread evenly on a log
   * scale from 256 KiB to this.
   */
  readonly streamMax?: number | undefined;
}

/**
 * What `tls: true` gives: 35 % full TLS 1.2 handshakes, 35 % TLS 1.3, 30 %
 * TLS 1.2 resumptions (half by id, half by ticket); 1–8 exchanges a
 * connection, a tenth of the connections ending in a stream of 256 KiB –
 * 8 MiB, so most of the trace's bytes are ciphertext.
 */
export const DEFAULT_TLS_TRAFFIC: Readonly<Record<keyof TlsOptions, number>> = Object.freeze({
  tls13Share: 0.35,
  sessionIdShare: 0.15,
  ticketShare: 0.15,
  exchangesPerConnection: 8,
  streamShare: 0.1,
  streamMax: 8 * 1024 * 1024,
});

/** The largest `streamMax`. */
const TLS_STREAM_LIMIT = 1024 * 1024 * 1024;

/** The largest `bodyMax`: the shared body buffers grow to it. */
const HTTP_BODY_LIMIT = 64 * 1024 * 1024;

/** Shares of all flows that carry each application; the rest are ordinary flows. */
export interface ApplicationShares {
  /** DNS over UDP to port 53. */
  readonly dns?: number | undefined;
  /** DNS over TCP to port 53. */
  readonly dnsTcp?: number | undefined;
  /** HTTP/1.1 to port 80. */
  readonly http?: number | undefined;
  /** TLS to port 443. */
  readonly tls?: number | undefined;
}

/** The mix `applications: true` gives: a quarter of the flows stay ordinary TCP, UDP and ICMP. */
export const DEFAULT_APPLICATION_SHARES: Readonly<Required<ApplicationShares>> = Object.freeze({
  dns: 0.3,
  dnsTcp: 0.05,
  http: 0.2,
  tls: 0.2,
});

/** What one flow put into the trace. */
export interface FlowTruth {
  readonly proto: "tcp" | "udp" | "icmp";
  readonly ipVersion: 4 | 6;
  readonly client: string;
  readonly server: string;
  readonly clientPort: number;
  readonly serverPort: number;
  readonly vlan: number;
  readonly innerVlan: number;
  readonly fragmented: boolean;
  /** The application whose messages the flow carries; null for random payloads. */
  readonly application: ApplicationName | null;
  /** The handshake of a TLS flow (null for other flows). */
  readonly tlsHandshake: TlsHandshake | null;
  /** Application messages each side sent (DNS messages, HTTP requests or responses, TLS records). */
  readonly clientMessages: number;
  readonly serverMessages: number;
  /** Frames on the wire, in total and per direction. */
  readonly packets: number;
  readonly clientPackets: number;
  readonly serverPackets: number;
  /** IP datagrams after reassembly (what Zeek counts as packets). */
  readonly datagrams: number;
  readonly clientDatagrams: number;
  readonly serverDatagrams: number;
  /** Frame bytes on the wire. */
  readonly bytes: number;
  /** Sum of the datagrams' IP total lengths, a reassembled datagram once (Zeek's *_ip_bytes). */
  readonly clientIpBytes: number;
  readonly serverIpBytes: number;
}

/** The ground truth of a generated trace. */
export interface TraceTruth {
  readonly packets: number;
  readonly bytes: number;
  readonly datagrams: number;
  readonly firstTime: number;
  readonly lastTime: number;
  readonly flows: readonly FlowTruth[];
}

const DEFAULTS = Object.freeze({
  flows: 100,
  packetsPerFlow: 10,
  ipv6Share: 0,
  vlanShare: 0,
  fragmentsShare: 0,
  udpShare: 0.3,
  icmpShare: 0.1,
  payloadMin: 0,
  payloadMax: 512,
  rate: 10000,
  startTime: 1700000000,
  concurrency: 64,
  seed: 1,
});

const KIND_TCP = 0;
const KIND_UDP = 1;
const KIND_ICMP = 2;
const MTU = 1500;
const MIN_FRAME = 60;
const TCP_SERVER_PORTS = [80, 443, 22, 25, 8080, 3306, 5432, 993];
const UDP_SERVER_PORTS = [53, 123, 161, 514, 5353, 1812];
/**
 * With applications on, ordinary flows use ports no Zeek analyzer claims,
 * so their random bytes meet no protocol parser and an analyzer benchmark
 * measures parsing of the real messages only.
 */
const TCP_OTHER_PORTS = [5001, 8888, 9000, 9092, 27017, 50000];
const UDP_OTHER_PORTS = [4000, 5004, 9999, 27015, 33434];
/** A TCP application flow's frame count is known only when its last exchange ends. */
const FRAMES_UNKNOWN = Number.MAX_SAFE_INTEGER;
const POOL_SIZE = 65536;

/** mulberry32: small, fast and good enough to pick sizes and ports. */
class Rng implements AppRandom {
  #s: number;
  /** Random bytes that payloads are copied from, one draw per copy rather than per byte. */
  readonly pool = new Uint8Array(POOL_SIZE);

  constructor(seed: number) {
    this.#s = seed >>> 0;
    for (let i = 0; i < POOL_SIZE; i++) this.pool[i] = this.u32() & 0xff;
  }

  u32(): number {
    let t = (this.#s = (this.#s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  float(): number {
    return this.u32() / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  fill(buf: Uint8Array, at: number, len: number): void {
    while (len > 0) {
      const n = len < POOL_SIZE ? len : POOL_SIZE;
      const from = this.int(POOL_SIZE - n + 1);
      buf.set(this.pool.subarray(from, from + n), at);
      at += n;
      len -= n;
    }
  }
}

class Flow {
  kind = KIND_TCP;
  v6 = false;
  fragmented = false;
  vlan = 0;
  innerVlan = 0;
  readonly client = new Uint8Array(16);
  readonly server = new Uint8Array(16);
  index = 0;
  clientPort = 0;
  serverPort = 0;
  step = 0;
  frames = 0;
  dataPackets = 0;
  clientSeq = 0;
  serverSeq = 0;
  ipId = 0;
  icmpId = 0;
  app = APP_NONE;
  conv: AppConversation | null = null;
  /** How much of the conversation's current burst is sent, and data segments so far. */
  burstSent = 0;
  segments = 0;
  /** TCP application flows: 0 data, then the FIN steps 1, 2, 3. */
  closing = 0;
  /** Full segments of the current burst since the receiver last ACKed (HTTP-heavy traffic). */
  unacked = 0;
  clientMessages = 0;
  serverMessages = 0;
  /** The datagram being sent in fragments (IPv4 UDP), and its length. */
  fragData: Uint8Array | null = null;
  fragLen = 0;
  packets = 0;
  clientPackets = 0;
  serverPackets = 0;
  clientDatagrams = 0;
  serverDatagrams = 0;
  bytes = 0;
  clientIpBytes = 0;
  serverIpBytes = 0;
}

function addrText(bytes: Uint8Array, v6: boolean): string {
  if (!v6) return `${bytes[0]}.${bytes[1]}.${bytes[2]}.${bytes[3]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

function checkShare(name: string, value: number): number {
  if (!(value >= 0 && value <= 1)) {
    throw new RangeError(`Cannot generate traffic with ${name} ${value}: use a share from 0 to 1`);
  }
  return value;
}

function checkCount(name: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(
      `Cannot generate traffic with ${name} ${value}: use an integer from ${min} to ${max}`,
    );
  }
  return value;
}

/** Builds the frames; one per trace. */
class TrafficGenerator {
  readonly #o: Settings;
  readonly #rng: Rng;
  readonly #pool: Uint8Array;
  readonly #w: PcapWriter;
  /** Conversations of finished flows, reused so their buffers are allocated once. */
  readonly #spareConversations: AppConversation[] = [];
  #packetIndex = 0;
  #nsPerPacket: number;
  readonly #truth: FlowTruth[] = [];
  #bytes = 0;
  #datagrams = 0;
  #lastSec = 0;
  #lastNsec = 0;
  #frameLen = 0;

  constructor(settings: Settings, writer: PcapWriter) {
    this.#o = settings;
    this.#rng = new Rng(settings.seed);
    this.#pool = this.#rng.pool;
    this.#w = writer;
    this.#nsPerPacket = 1e9 / settings.rate;
  }

  async run(): Promise<TraceTruth> {
    const o = this.#o;
    const active: Flow[] = [];
    let next = 0;
    while (next < o.flows && active.length < o.concurrency) active.push(this.#newFlow(next++));
    while (active.length > 0) {
      const j = this.#rng.int(active.length);
      const flow = active[j]!;
      this.#emit(flow);
      if (flow.step >= flow.frames) {
        this.#finish(flow);
        if (next < o.flows) active[j] = this.#newFlow(next++);
        else {
          active[j] = active[active.length - 1]!;
          active.pop();
        }
      }
      if (this.#w.needsFlush) await this.#w.flush();
    }
    return Object.freeze({
      packets: this.#packetIndex,
      bytes: this.#bytes,
      datagrams: this.#datagrams,
      firstTime: o.startTime,
      lastTime: this.#lastSec + this.#lastNsec * 1e-9,
      flows: Object.freeze(this.#truth),
    });
  }

  #newFlow(index: number): Flow {
    const o = this.#o;
    const rng = this.#rng;
    const f = new Flow();
    f.index = index;
    const apps = o.applications;
    if (rng.float() < o.fragmentsShare) {
      f.kind = KIND_UDP;
      f.fragmented = true;
    } else {
      const a = apps === null ? 1 : rng.float();
      if (apps !== null && a < apps.dns + apps.dnsTcp + apps.http + apps.tls) {
        f.app = a < apps.dns + apps.dnsTcp
          ? APP_DNS
          : a < apps.dns + apps.dnsTcp + apps.http
          ? APP_HTTP
          : APP_TLS;
        f.kind = a < apps.dns ? KIND_UDP : KIND_TCP;
      } else {
        const r = rng.float();
        f.kind = r < o.icmpShare ? KIND_ICMP : r < o.icmpShare + o.udpShare ? KIND_UDP : KIND_TCP;
      }
      f.v6 = rng.float() < o.ipv6Share;
    }
    if (rng.float() < o.vlanShare) {
      f.vlan = 1 + rng.int(4094);
      if (rng.float() < 0.5) f.innerVlan = 1 + rng.int(4094);
    }
    const id = index + 1;
    const srv = rng.u32();
    if (f.v6) {
      f.client.set([
        0xfd,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        id >>> 24,
        (id >>> 16) & 255,
        (id >>> 8) & 255,
        id & 255,
      ]);
      f.server.set([
        0x20,
        0x01,
        0x0d,
        0xb8,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        0,
        srv >>> 24,
        (srv >>> 16) & 255,
        (srv >>> 8) & 255,
        srv & 255,
      ]);
    } else {
      f.client.set([10, (id >>> 16) & 255, (id >>> 8) & 255, id & 255]);
      f.server.set([172, 16 + ((srv >>> 16) & 15), (srv >>> 8) & 255, srv & 255]);
    }
    f.clientPort = 1024 + rng.int(64511);
    const tcpPorts = apps === null ? TCP_SERVER_PORTS : TCP_OTHER_PORTS;
    const udpPorts = apps === null ? UDP_SERVER_PORTS : UDP_OTHER_PORTS;
    f.serverPort = f.app === APP_DNS
      ? 53
      : f.app === APP_HTTP
      ? 80
      : f.app === APP_TLS
      ? 443
      : f.kind === KIND_TCP
      ? tcpPorts[rng.int(tcpPorts.length)]!
      : f.kind === KIND_UDP
      ? udpPorts[rng.int(udpPorts.length)]!
      : 0;
    if (f.kind === KIND_ICMP) f.clientPort = 0;
    const ppf = o.packetsPerFlow;
    if (f.kind === KIND_TCP) {
      f.dataPackets = Math.max(0, ppf - 6);
      f.frames = 6 + f.dataPackets;
    } else if (f.fragmented) f.frames = Math.max(4, ppf);
    else f.frames = ppf;
    f.clientSeq = rng.u32();
    f.serverSeq = rng.u32();
    f.ipId = rng.int(65536);
    f.icmpId = rng.int(65536);
    if (f.app !== APP_NONE) {
      const conv = this.#spareConversations.pop() ?? new AppConversation();
      conv.reset(rng, f.app, f.kind === KIND_TCP, o.http, o.tls);
      f.conv = conv;
      if (f.kind === KIND_TCP) f.frames = FRAMES_UNKNOWN;
      // A stub resolver asks each question from a fresh source port: one
      // query and its answer per UDP flow, as real DNS traffic looks.
      else if (f.app === APP_DNS) f.frames = 2;
    }
    return f;
  }

  #finish(f: Flow): void {
    const tlsHandshake = f.conv?.tlsHandshake ?? null;
    if (f.conv !== null) {
      this.#spareConversations.push(f.conv);
      f.conv = null;
    }
    this.#truth.push(Object.freeze({
      proto: f.kind === KIND_TCP ? "tcp" : f.kind === KIND_UDP ? "udp" : "icmp",
      ipVersion: f.v6 ? 6 : 4,
      client: addrText(f.client, f.v6),
      server: addrText(f.server, f.v6),
      clientPort: f.clientPort,
      serverPort: f.serverPort,
      vlan: f.vlan,
      innerVlan: f.innerVlan,
      fragmented: f.fragmented,
      application: applicationName(f.app),
      tlsHandshake,
      clientMessages: f.clientMessages,
      serverMessages: f.serverMessages,
      packets: f.packets,
      clientPackets: f.clientPackets,
      serverPackets: f.serverPackets,
      datagrams: f.clientDatagrams + f.serverDatagrams,
      clientDatagrams: f.clientDatagrams,
      serverDatagrams: f.serverDatagrams,
      bytes: f.bytes,
      clientIpBytes: f.clientIpBytes,
      serverIpBytes: f.serverIpBytes,
    }));
  }

  #payloadSize(cap: number): number {
    const o = this.#o;
    const size = o.payloadMin + this.#rng.int(o.payloadMax - o.payloadMin + 1);
    return size < cap ? size : cap;
  }

  #emit(f: Flow): void {
    const step = f.step++;
    if (f.conv !== null) {
      if (f.kind === KIND_TCP) this.#appTcpStep(f, step);
      else this.#appUdpStep(f);
    } else if (f.kind === KIND_TCP) this.#tcpStep(f, step);
    else if (f.kind === KIND_UDP) this.#udpStep(f, step);
    else this.#icmpStep(f, step);
  }

  #tcpStep(f: Flow, step: number): void {
    const n = f.dataPackets;
    const mss = MTU - (f.v6 ? 60 : 40);
    if (step === 0) this.#tcp(f, true, 0x02, f.clientSeq, 0, 0);
    else if (step === 1) this.#tcp(f, false, 0x12, f.serverSeq, f.clientSeq + 1, 0);
    else if (step === 2) {
      f.clientSeq = (f.clientSeq + 1) >>> 0;
      f.serverSeq = (f.serverSeq + 1) >>> 0;
      this.#tcp(f, true, 0x10, f.clientSeq, f.serverSeq, 0);
    } else if (step < 3 + n) {
      const fromClient = (step - 3) % 2 === 0;
      const len = this.#payloadSize(mss);
      if (fromClient) {
        this.#tcp(f, true, 0x18, f.clientSeq, f.serverSeq, len);
        f.clientSeq = (f.clientSeq + len) >>> 0;
      } else {
        this.#tcp(f, false, 0x18, f.serverSeq, f.clientSeq, len);
        f.serverSeq = (f.serverSeq + len) >>> 0;
      }
    } else if (step === 3 + n) {
      this.#tcp(f, true, 0x11, f.clientSeq, f.serverSeq, 0);
      f.clientSeq = (f.clientSeq + 1) >>> 0;
    } else if (step === 4 + n) {
      this.#tcp(f, false, 0x11, f.serverSeq, f.clientSeq, 0);
      f.serverSeq = (f.serverSeq + 1) >>> 0;
    } else this.#tcp(f, true, 0x10, f.clientSeq, f.serverSeq, 0);
  }

  /** Handshake, the conversation's bursts cut at the MSS (or where it asks), then FIN, FIN, ACK. */
  #appTcpStep(f: Flow, step: number): void {
    if (step < 3) {
      this.#tcpStep(f, step);
      return;
    }
    const conv = f.conv!;
    const burst = conv.burst;
    if (f.closing === 0) {
      if (step === 3 || f.burstSent >= burst.length) {
        if (conv.next(this.#rng, f.segments >= f.dataPackets)) {
          f.burstSent = 0;
          f.unacked = 0;
          if (burst.fromClient) f.clientMessages += burst.messages;
          else f.serverMessages += burst.messages;
        } else f.closing = 1;
      }
    }
    if (f.closing === 0) {
      if (conv.ackEvery > 0 && f.unacked >= conv.ackEvery) {
        // The receiver's delayed ACK, mid-burst; the answer carries the last one.
        if (burst.fromClient) this.#tcp(f, false, 0x10, f.serverSeq, f.clientSeq, 0);
        else this.#tcp(f, true, 0x10, f.clientSeq, f.serverSeq, 0);
        f.unacked = 0;
        return;
      }
      const mss = MTU - (f.v6 ? 60 : 40);
      const sent = f.burstSent;
      const left = burst.length - sent;
      const cut = sent === 0 && burst.firstCut > 0 ? burst.firstCut : mss;
      const len = left < cut ? left : cut < mss ? cut : mss;
      // PSH on a burst's last segment, as a sender emptying its buffer sets it.
      const flags = len === left ? 0x18 : 0x10;
      if (burst.fromClient) {
        this.#tcp(f, true, flags, f.clientSeq, f.serverSeq, len, burst, sent);
        f.clientSeq = (f.clientSeq + len) >>> 0;
      } else {
        this.#tcp(f, false, flags, f.serverSeq, f.clientSeq, len, burst, sent);
        f.serverSeq = (f.serverSeq + len) >>> 0;
      }
      f.burstSent = sent + len;
      f.segments++;
      f.unacked++;
      return;
    }
    // The client closes first, unless the server said `Connection: close`.
    const clientFirst = !conv.serverCloses;
    if (f.closing === 1) this.#fin(f, clientFirst);
    else if (f.closing === 2) this.#fin(f, !clientFirst);
    else {
      if (clientFirst) this.#tcp(f, true, 0x10, f.clientSeq, f.serverSeq, 0);
      else this.#tcp(f, false, 0x10, f.serverSeq, f.clientSeq, 0);
      f.frames = f.step;
    }
    f.closing++;
  }

  #fin(f: Flow, fromClient: boolean): void {
    if (fromClient) {
      this.#tcp(f, true, 0x11, f.clientSeq, f.serverSeq, 0);
      f.clientSeq = (f.clientSeq + 1) >>> 0;
    } else {
      this.#tcp(f, false, 0x11, f.serverSeq, f.clientSeq, 0);
      f.serverSeq = (f.serverSeq + 1) >>> 0;
    }
  }

  /** One message a step, query then response, each in one datagram. */
  #appUdpStep(f: Flow): void {
    const conv = f.conv!;
    conv.next(this.#rng, false);
    const burst = conv.burst;
    if (burst.fromClient) f.clientMessages += burst.messages;
    else f.serverMessages += burst.messages;
    this.#udp(f, burst.fromClient, burst.data.length, burst.data.buffer);
  }

  #udpStep(f: Flow, step: number): void {
    if (f.fragmented) {
      if (step < 3) {
        this.#fragment(f, step);
        return;
      }
      this.#udp(f, (step - 3) % 2 === 1, this.#payloadSize(MTU - 28));
      return;
    }
    this.#udp(f, step % 2 === 0, this.#payloadSize(MTU - (f.v6 ? 48 : 28)));
  }

  #icmpStep(f: Flow, step: number): void {
    const request = step % 2 === 0;
    this.#icmp(f, request, Math.floor(step / 2) + 1, this.#payloadSize(MTU - (f.v6 ? 48 : 28)));
  }

  #nextTime(): void {
    const ns = Math.round(this.#packetIndex * this.#nsPerPacket);
    const whole = Math.floor(ns / 1e9);
    this.#lastSec = this.#o.startTime + whole;
    this.#lastNsec = ns - whole * 1e9;
    this.#packetIndex++;
  }

  /** Starts a frame with its Ethernet header and tags; returns where the IP header goes. */
  #begin(f: Flow, fromClient: boolean, ipLen: number): number {
    const tags = f.vlan === 0 ? 0 : f.innerVlan === 0 ? 1 : 2;
    const natural = 14 + 4 * tags + ipLen;
    const frameLen = natural < MIN_FRAME ? MIN_FRAME : natural;
    const at = this.#w.begin(frameLen);
    const buf = this.#w.buffer;
    this.#frameLen = frameLen;
    const client = f.index;
    const server = serverTag(f);
    buf[at] = 0x02;
    buf[at + 1] = fromClient ? 1 : 0;
    writeU32(buf, at + 2, fromClient ? server : client);
    buf[at + 6] = 0x02;
    buf[at + 7] = fromClient ? 0 : 1;
    writeU32(buf, at + 8, fromClient ? client : server);
    let p = at + 12;
    if (tags === 2) {
      writeU16(buf, p, 0x88a8);
      writeU16(buf, p + 2, f.vlan);
      writeU16(buf, p + 4, 0x8100);
      writeU16(buf, p + 6, f.innerVlan);
      p += 8;
    } else if (tags === 1) {
      writeU16(buf, p, 0x8100);
      writeU16(buf, p + 2, f.vlan);
      p += 4;
    }
    writeU16(buf, p, f.v6 ? 0x86dd : 0x0800);
    p += 2;
    buf.fill(0, p + ipLen, at + frameLen);
    return p;
  }

  #end(f: Flow, fromClient: boolean, ipTotal: number, datagramDone: boolean): void {
    this.#nextTime();
    this.#w.end(this.#lastSec, this.#lastNsec, this.#frameLen);
    const len = this.#frameLen;
    this.#bytes += len;
    f.bytes += len;
    f.packets++;
    if (fromClient) f.clientPackets++;
    else f.serverPackets++;
    if (datagramDone) {
      this.#datagrams++;
      if (fromClient) {
        f.clientDatagrams++;
        f.clientIpBytes += ipTotal;
      } else {
        f.serverDatagrams++;
        f.serverIpBytes += ipTotal;
      }
    }
  }

  /** Writes the IP header at `p`; returns where the transport header starts. */
  #ipHeader(
    buf: Uint8Array,
    p: number,
    f: Flow,
    fromClient: boolean,
    proto: number,
    payloadLen: number,
    fragField: number,
    id: number,
  ): number {
    const src = fromClient ? f.client : f.server;
    const dst = fromClient ? f.server : f.client;
    if (f.v6) {
      buf[p] = 0x60;
      buf[p + 1] = 0;
      writeU16(buf, p + 2, f.index & 0xffff);
      writeU16(buf, p + 4, payloadLen);
      buf[p + 6] = proto;
      buf[p + 7] = 64;
      buf.set(src, p + 8);
      buf.set(dst, p + 24);
      return p + 40;
    }
    const total = 20 + payloadLen;
    buf[p] = 0x45;
    buf[p + 1] = 0;
    writeU16(buf, p + 2, total);
    writeU16(buf, p + 4, id);
    writeU16(buf, p + 6, fragField);
    buf[p + 8] = 64;
    buf[p + 9] = proto;
    buf[p + 10] = 0;
    buf[p + 11] = 0;
    for (let i = 0; i < 4; i++) {
      buf[p + 12 + i] = src[i]!;
      buf[p + 16 + i] = dst[i]!;
    }
    const sum = ~foldSum(sumWords(buf, p, 20)) & 0xffff;
    writeU16(buf, p + 10, sum);
    return p + 20;
  }

  #pseudo(f: Flow, proto: number, len: number): number {
    const n = f.v6 ? 16 : 4;
    return sumWords(f.client, 0, n) + sumWords(f.server, 0, n) + proto + len;
  }

  /** Copies the payload from `src` at `srcAt`, or random bytes when `src` is null. */
  #fillPayload(
    buf: Uint8Array,
    at: number,
    len: number,
    src: Uint8Array | Burst | null,
    srcAt: number,
  ): void {
    if (src instanceof Burst) {
      src.copyTo(buf, at, srcAt, len);
      return;
    }
    if (src !== null) {
      buf.set(src.subarray(srcAt, srcAt + len), at);
      return;
    }
    const from = this.#rng.int(POOL_SIZE - len + 1);
    buf.set(this.#pool.subarray(from, from + len), at);
  }

  #tcp(
    f: Flow,
    fromClient: boolean,
    flags: number,
    seq: number,
    ack: number,
    len: number,
    src: Uint8Array | Burst | null = null,
    srcAt = 0,
  ): void {
    const l4 = 20 + len;
    const ipLen = (f.v6 ? 40 : 20) + l4;
    const p = this.#begin(f, fromClient, ipLen);
    const buf = this.#w.buffer;
    const q = this.#ipHeader(buf, p, f, fromClient, 6, l4, 0x4000, f.ipId++ & 0xffff);
    writeU16(buf, q, fromClient ? f.clientPort : f.serverPort);
    writeU16(buf, q + 2, fromClient ? f.serverPort : f.clientPort);
    writeU32(buf, q + 4, seq >>> 0);
    writeU32(buf, q + 8, (flags & 0x10) !== 0 ? ack >>> 0 : 0);
    buf[q + 12] = 0x50;
    buf[q + 13] = flags;
    writeU16(buf, q + 14, 65535);
    writeU16(buf, q + 16, 0);
    writeU16(buf, q + 18, 0);
    this.#fillPayload(buf, q + 20, len, src, srcAt);
    const sum = ~foldSum(this.#pseudo(f, 6, l4) + sumWords(buf, q, l4)) & 0xffff;
    writeU16(buf, q + 16, sum);
    this.#end(f, fromClient, ipLen, true);
  }

  #udp(f: Flow, fromClient: boolean, len: number, src: Uint8Array | null = null): void {
    const l4 = 8 + len;
    const ipLen = (f.v6 ? 40 : 20) + l4;
    const p = this.#begin(f, fromClient, ipLen);
    const buf = this.#w.buffer;
    const q = this.#ipHeader(buf, p, f, fromClient, 17, l4, 0, f.ipId++ & 0xffff);
    this.#udpDatagram(f, fromClient, buf, q, len, src);
    this.#end(f, fromClient, ipLen, true);
  }

  #udpDatagram(
    f: Flow,
    fromClient: boolean,
    buf: Uint8Array,
    q: number,
    len: number,
    src: Uint8Array | null = null,
  ): void {
    const l4 = 8 + len;
    writeU16(buf, q, fromClient ? f.clientPort : f.serverPort);
    writeU16(buf, q + 2, fromClient ? f.serverPort : f.clientPort);
    writeU16(buf, q + 4, l4);
    writeU16(buf, q + 6, 0);
    this.#fillPayload(buf, q + 8, len, src, 0);
    const sum = ~foldSum(this.#pseudo(f, 17, l4) + sumWords(buf, q, l4)) & 0xffff;
    writeU16(buf, q + 6, sum === 0 ? 0xffff : sum);
  }

  /** Sends the client's first datagram of an IPv4 UDP flow as three fragments, one per step. */
  #fragment(f: Flow, part: number): void {
    if (part === 0) {
      const len = 2960 + this.#rng.int(1400);
      f.fragData = new Uint8Array(8 + len);
      f.fragLen = 8 + len;
      this.#udpDatagram(f, true, f.fragData, 0, len);
    }
    const data = f.fragData!;
    const chunk = MTU - 20;
    const start = part * chunk;
    const last = part === 2;
    const size = last ? f.fragLen - start : chunk;
    const p = this.#begin(f, true, 20 + size);
    const buf = this.#w.buffer;
    const fragField = (last ? 0 : 0x2000) | (start >>> 3);
    const q = this.#ipHeader(buf, p, f, true, 17, size, fragField, f.ipId & 0xffff);
    buf.set(data.subarray(start, start + size), q);
    if (last) {
      f.ipId++;
      f.fragData = null;
    }
    this.#end(f, true, 20 + f.fragLen, last);
  }

  #icmp(f: Flow, request: boolean, seq: number, len: number): void {
    const l4 = 8 + len;
    const ipLen = (f.v6 ? 40 : 20) + l4;
    const p = this.#begin(f, request, ipLen);
    const buf = this.#w.buffer;
    const proto = f.v6 ? 58 : 1;
    const q = this.#ipHeader(buf, p, f, request, proto, l4, 0, f.ipId++ & 0xffff);
    buf[q] = f.v6 ? (request ? 128 : 129) : (request ? 8 : 0);
    buf[q + 1] = 0;
    writeU16(buf, q + 2, 0);
    writeU16(buf, q + 4, f.icmpId);
    writeU16(buf, q + 6, seq & 0xffff);
    this.#fillPayload(buf, q + 8, len, null, 0);
    let sum = sumWords(buf, q, l4);
    if (f.v6) sum += this.#pseudo(f, 58, l4);
    writeU16(buf, q + 2, ~foldSum(sum) & 0xffff);
    this.#end(f, request, ipLen, true);
  }
}

function serverTag(f: Flow): number {
  const s = f.server;
  const o = f.v6 ? 12 : 0;
  return ((s[o]! << 24) | (s[o + 1]! << 16) | (s[o + 2]! << 8) | s[o + 3]!) >>> 0;
}

function writeU16(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 8;
  b[o + 1] = v & 0xff;
}

function writeU32(b: Uint8Array, o: number, v: number): void {
  b[o] = v >>> 24;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

/** The options with every default filled in. */
type Settings = { -readonly [K in keyof typeof DEFAULTS]: number } & {
  applications: Required<{ -readonly [K in keyof ApplicationShares]: number }> | null;
  http: HttpTraffic | null;
  tls: TlsTraffic | null;
};

/** The options with every default filled in, checked before any file is touched. */
function resolve(options: GenerateOptions): Settings {
  const o: Settings = {
    ...DEFAULTS,
    applications: resolveApplications(options.applications),
    http: resolveHttp(options.http),
    tls: resolveTls(options.tls),
  };
  for (const key of Object.keys(DEFAULTS) as Array<keyof typeof DEFAULTS>) {
    const value = options[key];
    if (value !== undefined) o[key] = value;
  }
  checkCount("flows", o.flows, 0, 16_000_000);
  checkCount("packetsPerFlow", o.packetsPerFlow, 1, 1_000_000);
  checkShare("ipv6Share", o.ipv6Share);
  checkShare("vlanShare", o.vlanShare);
  checkShare("fragmentsShare", o.fragmentsShare);
  checkShare("udpShare", o.udpShare);
  checkShare("icmpShare", o.icmpShare);
  checkShare("udpShare + icmpShare", o.udpShare + o.icmpShare);
  checkCount("payloadMin", o.payloadMin, 0, 1472);
  checkCount("payloadMax", o.payloadMax, o.payloadMin, 65535);
  checkCount("concurrency", o.concurrency, 1, 1_000_000);
  if (!(o.rate > 0)) {
    throw new RangeError(`Cannot generate traffic at rate ${o.rate}: use packets per second > 0`);
  }
  if (o.http !== null && (o.applications?.http ?? 0) === 0) {
    throw new RangeError(
      "Cannot generate HTTP-heavy traffic without HTTP flows: set applications to true or give applications.http a share above 0",
    );
  }
  if (o.tls !== null && (o.applications?.tls ?? 0) === 0) {
    throw new RangeError(
      "Cannot generate TLS-heavy traffic without TLS flows: set applications to true or give applications.tls a share above 0",
    );
  }
  return o;
}

function resolveTls(option: boolean | TlsOptions | undefined): TlsTraffic | null {
  if (option === undefined || option === false) return null;
  const given = option === true ? {} : option;
  const d = DEFAULT_TLS_TRAFFIC;
  const t = Object.freeze({
    tls13Share: checkShare("tls.tls13Share", given.tls13Share ?? d.tls13Share),
    sessionIdShare: checkShare("tls.sessionIdShare", given.sessionIdShare ?? d.sessionIdShare),
    ticketShare: checkShare("tls.ticketShare", given.ticketShare ?? d.ticketShare),
    exchangesPerConnection: checkCount(
      "tls.exchangesPerConnection",
      given.exchangesPerConnection ?? d.exchangesPerConnection,
      1,
      1_000_000,
    ),
    streamShare: checkShare("tls.streamShare", given.streamShare ?? d.streamShare),
    streamMax: checkCount("tls.streamMax", given.streamMax ?? d.streamMax, 1, TLS_STREAM_LIMIT),
  });
  checkShare(
    "tls.tls13Share + tls.sessionIdShare + tls.ticketShare",
    t.tls13Share + t.sessionIdShare + t.ticketShare,
  );
  return t;
}

function resolveHttp(option: boolean | HttpOptions | undefined): HttpTraffic | null {
  if (option === undefined || option === false) return null;
  const given = option === true ? {} : option;
  const d = DEFAULT_HTTP_TRAFFIC;
  return Object.freeze({
    requestsPerConnection: checkCount(
      "http.requestsPerConnection",
      given.requestsPerConnection ?? d.requestsPerConnection,
      1,
      1_000_000,
    ),
    oneRequestShare: checkShare("http.oneRequestShare", given.oneRequestShare ?? d.oneRequestShare),
    bodyMax: checkCount("http.bodyMax", given.bodyMax ?? d.bodyMax, 0, HTTP_BODY_LIMIT),
    gzipShare: checkShare("http.gzipShare", given.gzipShare ?? d.gzipShare),
    chunkedShare: checkShare("http.chunkedShare", given.chunkedShare ?? d.chunkedShare),
  });
}

function resolveApplications(
  option: boolean | ApplicationShares | undefined,
): Settings["applications"] {
  if (option === undefined || option === false) return null;
  const given = option === true ? DEFAULT_APPLICATION_SHARES : option;
  const shares = {
    dns: checkShare("applications.dns", given.dns ?? 0),
    dnsTcp: checkShare("applications.dnsTcp", given.dnsTcp ?? 0),
    http: checkShare("applications.http", given.http ?? 0),
    tls: checkShare("applications.tls", given.tls ?? 0),
  };
  checkShare(
    "the sum of the applications' shares",
    shares.dns + shares.dnsTcp + shares.http + shares.tls,
  );
  return shares;
}

/** Generates a trace into `path` (pcap by default) and returns its ground truth. */
export async function generateTrace(
  path: string,
  options: GenerateOptions = {},
): Promise<TraceTruth> {
  const settings = resolve(options);
  const writer = await openPcapWriter(path, { format: options.format ?? "pcap" });
  try {
    return await new TrafficGenerator(settings, writer).run();
  } finally {
    await writer.close();
  }
}

/** Generates a trace in memory; for tests that need no file. */
export async function generateTraceBytes(
  options: GenerateOptions = {},
): Promise<{ readonly bytes: Uint8Array; readonly truth: TraceTruth }> {
  const settings = resolve(options);
  const writer = createPcapWriter({ format: options.format ?? "pcap" });
  const truth = await new TrafficGenerator(settings, writer).run();
  return { bytes: writer.bytes(), truth };
}
