/**
 * The connection tracker: takes decoded packets in capture order and keeps
 * Zeek's per-connection state for them (lookup by 5-tuple, originator
 * choice, TCP/UDP/ICMP/other rules, tunnels as parents), fires Zeek's
 * default timers from network time, and when a connection is removed
 * writes its `Conn::Info` row (built by `ConnRecords`) to `Conn::LOG`.
 *
 * Two clocks, as in Zeek (real captures hold packets stamped earlier than
 * the one before them, and conn.log must show what Zeek shows for them):
 *
 * - Network time (`now`) never goes back: each packet moves it to the later
 *   of its own timestamp and the current network time (Z: src/RunState.cc,
 *   `dispatch_packet`: "network_time never goes back", max of
 *   `timer_mgr->Time()` and the packet time), and a live capture's idle
 *   tick may move it to the wall clock (`forward_network_time_if_applicable`).
 *   Timers fire when network time reaches them and are handed network time
 *   (Z: src/Timer.cc, `TimerMgr::Advance`/`DoAdvance`), so they never run
 *   backwards; a timer armed at a time already past fires at the next
 *   advance, before the next packet is processed.
 * - Packet time is each packet's own timestamp, unclamped. It is what a
 *   connection records: `start_time` at creation (Z: IPBasedAnalyzer.cc,
 *   `NewConn` with `run_state::processing_start_time`, which `dispatch_packet`
 *   sets to the packet's time) and `last_time` on every accepted packet
 *   (Z: `SetLastTime(run_state::current_timestamp)` in TCPSessionAdapter.cc
 *   `Process`, UDP.cc and ICMP.cc `DeliverPacket`,
 *   UnknownIPTransport.cc), so `last_time` can step back and conn.log's
 *   `ts` is the first packet's own stamp; `duration` is
 *   `last_time - start_time` (Z: Conn.cc `Connection::GetVal`) and is only
 *   logged when positive (Z: base/protocols/conn/main.zeek `set_conn`).
 *   Timers derived from a connection's times inherit packet time: the
 *   inactivity timer at `last_time + timeout` (Z: Session.cc
 *   `SetInactivityTimeout`, `InactivityTimer`), the attempt timer at the
 *   SYN's time + `tcp_attempt_delay`, the close timers at `last_time` +
 *   delay (TCPSessionAdapter.cc `UpdateInactiveState`, `ConnectionClosed`).
 *   The TCP expire timer counts from network time instead: first at
 *   `network_time + tcp_SYN_timeout` (the `TCPSessionAdapter`
 *   constructor), then from the time it fired (`ExpireTimer`).
 *
 * Per packet nothing is allocated for untunnelled traffic; objects appear
 * only when a connection ends (its log row and, when a script asks, its
 * `connection` record).
 *
 * @module
 */

import {
  CHECKSUM_BAD,
  type DecodedPacket,
  OUTCOME_IP,
  TCP_ACK,
  TCP_SYN,
  TUNNEL_GENEVE,
  TUNNEL_GTPV1,
  TUNNEL_VXLAN,
  type TunnelLayer,
} from "../../../capture/mod.ts";
import { isLocalAddress, type LocalNet, PRIVATE_LOCAL_NETS } from "../../../config/mod.ts";
import type { EventRegistry } from "../../bus/mod.ts";
import type { LogRegistry, LogStream } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { type ConnLogColumns, defineConnStream } from "./conn_log.ts";
import {
  CONNECTION_TYPE,
  type ConnEndpointsText,
  ConnRecords,
  innermost,
  type TunnelInfo,
} from "./conn_record.ts";
import {
  CF_HAS_INNER_VLAN,
  CF_HAS_MAC,
  CF_HAS_VLAN,
  CF_SEEN_ORIG,
  CF_SEEN_RESP,
  CF_TUNNEL,
  CF_WEIRD,
  ConnTable,
  EF_ACTIVE,
  EF_DID_CLOSE,
  TIMER_KINDS,
  wordBytes,
} from "./conn_table.ts";
import { TCP_INACTIVE, TCP_RESET, TCP_SYN_ACK_SENT, TCP_SYN_SENT } from "./conn_state.ts";
import { COUNT_CHECKSUM, HIST_DATA, HIST_UNDIRECTED, HistoryStore } from "./history.ts";
import { icmpCounterpart } from "./icmp_ports.ts";
import { BARE_LIKELY_SERVER_PORTS, LikelyServerPorts } from "./likely_server_ports.ts";
import {
  INACTIVITY_ICMP,
  INACTIVITY_LONG,
  INACTIVITY_NONE,
  INACTIVITY_UDP,
  INACTIVITY_UNKNOWN,
  TcpAnalyzer,
  type TcpHost,
  TIMER_ATTEMPT,
  TIMER_DELETE,
  TIMER_EXPIRE,
  TIMER_EXPIRE_CLOSE,
  TIMER_INACTIVITY,
} from "./tcp.ts";
import { TimerQueue } from "./timer_queue.ts";
import { UidGenerator } from "./uid.ts";

/** Zeek's default timer values (Z: scripts/base/init-bare.zeek), in seconds. */
export interface ConnTimeouts {
  readonly tcpInactivity: number;
  readonly udpInactivity: number;
  readonly icmpInactivity: number;
  readonly unknownIpInactivity: number;
  /** `Conn::port_inactivity_timeouts` for 21, 22, 23, 513/tcp. */
  readonly portInactivity: number;
  readonly tcpAttemptDelay: number;
  readonly tcpSynTimeout: number;
  readonly tcpSessionTimer: number;
  readonly tcpConnectionLinger: number;
  readonly tcpCloseDelay: number;
}

export const DEFAULT_CONN_TIMEOUTS: ConnTimeouts = Object.freeze({
  tcpInactivity: 300,
  udpInactivity: 60,
  icmpInactivity: 60,
  unknownIpInactivity: 60,
  portInactivity: 3600,
  tcpAttemptDelay: 5,
  tcpSynTimeout: 5,
  tcpSessionTimer: 6,
  tcpConnectionLinger: 5,
  tcpCloseDelay: 5,
});

/** Zeek's `Tunnel::max_changes_per_connection`. */
export const DEFAULT_MAX_TUNNEL_CHANGES = 5;

/** Options of a tracker; every field has Zeek's bare-mode default. */
export interface ConnTrackerOptions {
  /** `likely_server_ports` (default: bare mode's tunnel ports). */
  readonly likelyServerPorts?: LikelyServerPorts | readonly string[];
  /** `Site::local_nets` (default: Zeek's private address space). */
  readonly localNets?: readonly LocalNet[];
  /**
   * Enforce TCP/UDP/ICMP and IP header checksums (default true). The
   * decoder must verify them too (`PacketDecoder({ checksums: true })`);
   * false is `zeek -C`.
   */
  readonly checksums?: boolean;
  /** `ignore_checksums_nets`: sources whose checksums are not enforced. */
  readonly ignoreChecksumsNets?: readonly LocalNet[];
  /** `report_gaps_for_partial` (default false). */
  readonly reportGapsForPartial?: boolean;
  /** Key on VLAN ids too and log `id.ctx.*` (Zeek's `vlan_fivetuple`); default false. */
  readonly vlanKey?: boolean;
  /** Log `orig_l2_addr`/`resp_l2_addr` (mac-logging); default false. */
  readonly macAddresses?: boolean;
  readonly timeouts?: Partial<ConnTimeouts>;
  readonly uids?: UidGenerator;
  /** Where `Conn::LOG` rows go; the stream is defined in it unless already there. */
  readonly logs?: LogRegistry;
  /** Where `new_connection`, `connection_established` and `connection_state_remove` go. */
  readonly events?: EventRegistry;
  /**
   * Hears that the connection in a slot ends, before its conn.log row is
   * built and before the slot can be reused (the pipeline's analyzers
   * stage finishes the connection here).
   */
  readonly onRemove?: (slot: number) => void;
  /**
   * conn.log's `service` for a connection (the analyzers' confirmations,
   * comma-separated in Zeek's order), asked when its row is built.
   */
  readonly serviceOf?: (slot: number) => string | undefined;
  /**
   * Hears a weird of a live connection (Zeek's `Connection::Weird`): the
   * pipeline turns it into weird.log with the connection's sampling state.
   * The TCP weirds of one packet arrive once the packet is tracked, in the
   * order Zeek raises them, so they carry the roles the packet left (Zeek
   * flips the `connection` record its queued events hold in place); the
   * reuse weirds of a connection a SYN replaces arrive before it is removed.
   */
  readonly onWeird?: (slot: number, name: string, addl: string, source: string) => void;
  /**
   * Whether a TCP connection's payload goes through a reassembler (an
   * analyzer's streams), which raises `truncated_tcp_payload` itself; the
   * tracker raises it for the others (default: none is reassembled).
   */
  readonly reassembles?: (slot: number) => boolean;
  /** Hears that an analyzer timer armed with `armAnalyzerTimer` is due. */
  readonly onAnalyzerTimer?: (slot: number, now: number) => void;
  /** Initial connection slots (the table grows as needed). */
  readonly initialSlots?: number;
}

/** Counters of a tracker. */
export interface ConnTrackerStats {
  readonly packets: number;
  readonly connections: number;
  readonly live: number;
  /** Packets dropped for a bad IP header checksum. */
  readonly badIpChecksums: number;
  /** Transport packets discarded for a bad checksum (their connection still counts). */
  readonly badChecksums: number;
}

/** Structural view of the UDP facts shared by a packet and a tunnel layer. */
interface UdpView {
  readonly addrWords: Int32Array;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly udpLen: number;
  readonly ipTotalLen: number;
  readonly l4Checksum: number;
  readonly addr: Uint32Array;
}

/** The analyzers' session timer (Zeek's DNS expire timer), beside tcp.ts's kinds. */
const TIMER_ANALYZER = 5;
const TAG_KIND_BITS = 3;
const TAG_KGEN_SHIFT = 3;
const TAG_GEN_SHIFT = 11;
const TAG_GEN_MASK = 0x1fffff;
const CH_CARET = 94;
const CH_C = 67;
const CH_D = 68;
const CH_X = 88;
const BROADCAST = 0xffffffff | 0;
const LONG_INACTIVITY_PORTS = new Set([21, 22, 23, 513]);

/** The connection events and their argument lists. */
export const CONN_EVENTS = Object.freeze(
  ["new_connection", "connection_established", "connection_state_remove"] as const,
);

/** Tracks connections and writes `Conn::LOG`; feed it packets in capture order. */
export class ConnTracker implements TcpHost {
  readonly table: ConnTable;
  readonly stream: LogStream;
  readonly #h: HistoryStore;
  readonly #tcp: TcpAnalyzer;
  readonly #q: TimerQueue;
  readonly #uids: UidGenerator;
  readonly #ports: LikelyServerPorts;
  readonly #localNets: readonly LocalNet[];
  readonly #ignoreNets: readonly LocalNet[];
  readonly #checksums: boolean;
  readonly #timeouts: ConnTimeouts;
  readonly #inactivitySeconds: Float64Array;
  readonly #logs: LogRegistry | undefined;
  readonly #events: EventRegistry | undefined;
  readonly #onRemove: ((slot: number) => void) | undefined;
  readonly #onAnalyzerTimer: ((slot: number, now: number) => void) | undefined;
  readonly #onWeird:
    | ((slot: number, name: string, addl: string, source: string) => void)
    | undefined;
  readonly #reassembles: ((slot: number) => boolean) | undefined;
  /** The current packet's weirds, held until it is tracked (names, addl, sources are constants). */
  readonly #weirdNames: string[] = [];
  readonly #weirdAddls: string[] = [];
  readonly #weirdSources: string[] = [];
  #weirdCount = 0;
  readonly #tunnels = new Map<number, TunnelInfo>();
  readonly #records: ConnRecords;
  /** Per IP protocol number: connections created, and live now. */
  readonly #createdByProto = new Float64Array(256);
  readonly #liveByProto = new Int32Array(256);
  readonly #ipTunnels = new Map<string, number>();
  readonly #scratchBytes = new Uint8Array(16);
  readonly #scratchWords = new Int32Array(8);
  #now = 0;
  #ordinal = 0;
  #packets = 0;
  #connections = 0;
  #badIp = 0;
  #badL4 = 0;
  #lastSlot = -1;
  #lastSide = 0;
  #lastFlipped = false;

  constructor(options: ConnTrackerOptions = {}) {
    this.table = new ConnTable({
      vlanKey: options.vlanKey ?? false,
      macAddresses: options.macAddresses ?? false,
      ...(options.initialSlots === undefined ? {} : { initialSlots: options.initialSlots }),
    });
    this.#h = new HistoryStore(this.table);
    const timeouts = { ...DEFAULT_CONN_TIMEOUTS, ...options.timeouts };
    this.#timeouts = timeouts;
    this.#tcp = new TcpAnalyzer(this.table, this.#h, this, {
      tcpAttemptDelay: timeouts.tcpAttemptDelay,
      tcpSynTimeout: timeouts.tcpSynTimeout,
      tcpCloseDelay: timeouts.tcpCloseDelay,
      tcpSessionTimer: timeouts.tcpSessionTimer,
      tcpConnectionLinger: timeouts.tcpConnectionLinger,
    }, options.reportGapsForPartial ?? false);
    this.#q = new TimerQueue();
    this.#uids = options.uids ?? new UidGenerator();
    const ports = options.likelyServerPorts ?? BARE_LIKELY_SERVER_PORTS;
    this.#ports = ports instanceof LikelyServerPorts ? ports : LikelyServerPorts.parse(ports);
    this.#localNets = options.localNets ?? PRIVATE_LOCAL_NETS;
    this.#ignoreNets = options.ignoreChecksumsNets ?? [];
    this.#checksums = options.checksums ?? true;
    this.#inactivitySeconds = Float64Array.of(
      0,
      timeouts.udpInactivity,
      timeouts.tcpInactivity,
      timeouts.icmpInactivity,
      timeouts.unknownIpInactivity,
      timeouts.portInactivity,
    );
    const columns: ConnLogColumns = {
      vlanContext: options.vlanKey ?? false,
      macAddresses: options.macAddresses ?? false,
    };
    this.#logs = options.logs;
    const existing = options.logs?.stream("Conn::LOG");
    this.stream = existing ?? defineConnStream(columns);
    if (existing === undefined) options.logs?.add(this.stream);
    this.#events = options.events;
    this.#onRemove = options.onRemove;
    this.#onAnalyzerTimer = options.onAnalyzerTimer;
    this.#onWeird = options.onWeird;
    this.#reassembles = options.reassembles;
    this.#records = new ConnRecords({
      ...(options.serviceOf === undefined ? {} : { serviceOf: options.serviceOf }),
      table: this.table,
      history: this.#h,
      tcp: this.#tcp,
      uids: this.#uids,
      localNets: this.#localNets,
      tunnels: this.#tunnels,
    });
    if (options.events !== undefined) {
      for (const name of CONN_EVENTS) options.events.declare(name, [["c", CONNECTION_TYPE]]);
    }
  }

  /** Network time: the latest packet (or clock) time seen; it never goes back. */
  get now(): number {
    return this.#now;
  }

  /**
   * The connection slot the last `packet()` was counted in, or -1 when it
   * was not (not IP, or discarded for a bad checksum). Valid until the
   * next `packet()` or `advance()`, which may remove the connection.
   */
  get lastSlot(): number {
    return this.#lastSlot;
  }

  /**
   * Whether tracking the last packet swapped the roles of an existing
   * connection (a SYN-ACK seen first, …): the packet arrived under the
   * other roles. The flip of a new connection is not counted.
   */
  get lastFlipped(): boolean {
    return this.#lastFlipped;
  }

  /** Whether the last packet came from the originator of `lastSlot`. */
  get lastIsOrig(): boolean {
    return this.#lastSide === 0;
  }

  /** Connections by transport, tracked now and ever created (Zeek's session metrics). */
  sessions(): {
    readonly active: { readonly tcp: number; readonly udp: number; readonly icmp: number };
    readonly total: { readonly tcp: number; readonly udp: number; readonly icmp: number };
  } {
    const live = this.#liveByProto, made = this.#createdByProto;
    return {
      active: { tcp: live[6]!, udp: live[17]!, icmp: live[1]! + live[58]! },
      total: { tcp: made[6]!, udp: made[17]!, icmp: made[1]! + made[58]! },
    };
  }

  stats(): ConnTrackerStats {
    return Object.freeze({
      packets: this.#packets,
      connections: this.#connections,
      live: this.table.count,
      badIpChecksums: this.#badIp,
      badChecksums: this.#badL4,
    });
  }

  /**
   * Processes one decoded packet stamped `ts` (default: its own
   * timestamp). Network time moves to `ts` unless it is already later, and
   * timers due by then fire first, as in Zeek; the connection itself takes
   * `ts` as it is, even when earlier than the packet before (see the
   * module comment).
   */
  packet(d: DecodedPacket, ts: number = d.ts): void {
    this.#lastSlot = -1;
    this.#lastFlipped = false;
    this.advance(ts);
    if (d.outcome !== OUTCOME_IP) return;
    this.#packets++;
    const depth = d.tunnelDepth;
    if (this.#checksums && d.ipChecksum === CHECKSUM_BAD && !this.#ignored(d.addr)) {
      this.#badIp++;
      return;
    }
    if (depth === 0) {
      this.#inner(d, ts, "");
      return;
    }
    let encap = "";
    for (let i = 0; i < depth; i++) {
      const layer = d.tunnels[i]!;
      if (this.#checksums && layer.ipChecksum === CHECKSUM_BAD && !this.#ignored(layer.addr)) {
        this.#badIp++;
        this.#lastSlot = -1;
        return;
      }
      let parent: number;
      if (
        layer.type === TUNNEL_VXLAN || layer.type === TUNNEL_GTPV1 || layer.type === TUNNEL_GENEVE
      ) {
        const slot = this.#udp(layer, d, ts, encap);
        parent = this.table.ordinal[slot]!;
      } else parent = this.#ipTunnel(layer);
      encap = encap === "" ? String(parent) : `${encap},${parent}`;
    }
    // The outer UDP layers were counted in their tunnels' connections (which set
    // lastSlot); the packet itself is only the inner one.
    this.#lastSlot = -1;
    this.#inner(d, ts, encap);
  }

  /**
   * Moves network time to `now` and fires every timer due by then: call it
   * with the wall clock when a live capture goes quiet, so idle
   * connections still expire. Network time never moves backwards: an
   * earlier `now` only fires timers already due (Z: src/RunState.cc
   * `dispatch_packet`, `forward_network_time_if_applicable`).
   */
  advance(now: number): void {
    if (now > this.#now) this.#now = now;
    now = this.#now;
    const q = this.#q;
    const t = this.table;
    while (q.peekTime() <= now) {
      q.pop();
      const slot = q.slot;
      const tag = q.tag;
      if ((tag >>> TAG_GEN_SHIFT) !== (t.generation[slot]! & TAG_GEN_MASK)) continue;
      const kind = tag & ((1 << TAG_KIND_BITS) - 1);
      if (((tag >>> TAG_KGEN_SHIFT) & 0xff) !== t.timerGen[slot * TIMER_KINDS + kind]) continue;
      this.#fire(slot, kind, now);
    }
  }

  /** Removes every connection still open, as Zeek does at the end of input. */
  flush(): void {
    for (const slot of this.table.liveSlots()) this.#remove(slot);
  }

  /** The uid of a live connection (for tests and scripts). */
  uidOf(slot: number): string {
    return this.#records.uid(slot);
  }

  /** A live connection's id as logs print it (after any flip). */
  endpointsOf(slot: number): ConnEndpointsText {
    return this.#records.endpoints(slot);
  }

  /** The `connection` record of a live connection (built on demand). */
  connectionOf(slot: number): ZeekValue {
    return this.#records.connection(slot);
  }

  /** Whether the responder of a live connection has a multicast address (224/4, ff00::/8). */
  respIsMulticast(slot: number): boolean {
    const a = this.table.addr;
    const b = slot * 8 + 4;
    if (a[b] === 0 && a[b + 1] === 0 && a[b + 2] === 0xffff) return (a[b + 3]! >>> 28) === 0xe;
    return (a[b]! >>> 24) === 0xff;
  }

  /** Bytes each side sent so far (conn.log's orig_bytes + resp_bytes). */
  bytesOf(slot: number): number {
    return this.#records.size(slot, 0) + this.#records.size(slot, 1);
  }

  /** The time of a live connection's first packet (`c$start_time`). */
  startTimeOf(slot: number): number {
    return this.table.startTime[slot]!;
  }

  /** Whether one side's address of a live connection is local (undefined: no local networks). */
  isLocal(slot: number, isOrig: boolean): boolean | undefined {
    return this.#records.isLocal(slot, isOrig);
  }

  /** The time of a live connection's last packet. */
  lastTimeOf(slot: number): number {
    return this.table.lastTime[slot]!;
  }

  /** Adds a direction-less history letter once per connection (Zeek's `CheckHistory`, e.g. `X`). */
  historyOnce(slot: number, letter: string): void {
    const t = this.table;
    const seen = t.historySeen[slot]!;
    // The bit is set on both halves, so a later flip (which swaps them) keeps it.
    if ((seen & HIST_UNDIRECTED) !== 0) return;
    t.historySeen[slot] = seen | HIST_UNDIRECTED | (HIST_UNDIRECTED << 8);
    this.#h.append(slot, letter.charCodeAt(0));
  }

  /** Arms the analyzers' timer of a live connection; `onAnalyzerTimer` hears it at `time`. */
  armAnalyzerTimer(slot: number, time: number): void {
    this.arm(slot, TIMER_ANALYZER, time);
  }

  /** Ends a live connection now (an analyzer's session timer decided so). */
  removeConnection(slot: number): void {
    this.#remove(slot);
  }

  // TcpHost

  flip(slot: number): void {
    const t = this.table;
    t.flip(slot);
    this.#h.flip(slot);
    this.#tcp.flip(slot);
    const f = t.flags[slot]!;
    const seen = f & (CF_SEEN_ORIG | CF_SEEN_RESP);
    const swapped = ((seen & CF_SEEN_ORIG) !== 0 ? CF_SEEN_RESP : 0) |
      ((seen & CF_SEEN_RESP) !== 0 ? CF_SEEN_ORIG : 0);
    t.flags[slot] = (f & ~(CF_SEEN_ORIG | CF_SEEN_RESP)) | swapped;
    this.#h.append(slot, CH_CARET);
  }

  arm(slot: number, kind: number, time: number): void {
    const t = this.table;
    const at = slot * TIMER_KINDS + kind;
    const kgen = (t.timerGen[at]! + 1) & 0xff;
    t.timerGen[at] = kgen;
    this.#q.push(
      time,
      slot,
      kind | (kgen << TAG_KGEN_SHIFT) | ((t.generation[slot]! & TAG_GEN_MASK) << TAG_GEN_SHIFT),
    );
  }

  cancelTcpTimers(slot: number): void {
    this.#cancel(slot, TIMER_ATTEMPT);
    this.#cancel(slot, TIMER_EXPIRE);
    this.#cancel(slot, TIMER_EXPIRE_CLOSE);
    this.#cancel(slot, TIMER_DELETE);
  }

  setInactivity(slot: number, inactivityClass: number): void {
    const t = this.table;
    const seconds = this.#inactivitySeconds[inactivityClass]!;
    if (seconds === this.#inactivitySeconds[t.inactivity[slot]!]) return;
    t.inactivity[slot] = inactivityClass;
    if (seconds > 0) this.arm(slot, TIMER_INACTIVITY, t.lastTime[slot]! + seconds);
    else this.#cancel(slot, TIMER_INACTIVITY);
  }

  established(slot: number): void {
    const t = this.table;
    let port = t.respPort[slot]!;
    if (t.state[slot * 2] === TCP_INACTIVE) {
      const origPort = t.origPort[slot]!;
      if (!this.#ports.has(port, 6) && this.#ports.has(origPort, 6)) port = origPort;
    }
    if (LONG_INACTIVITY_PORTS.has(port)) this.setInactivity(slot, INACTIVITY_LONG);
    this.#emit("connection_established", slot);
  }

  weird(slot: number, name: string, addl: string, source: string): void {
    this.table.flags[slot]! |= CF_WEIRD;
    if (this.#onWeird === undefined) return;
    const n = this.#weirdCount++;
    this.#weirdNames[n] = name;
    this.#weirdAddls[n] = addl;
    this.#weirdSources[n] = source;
  }

  reassembles(slot: number): boolean {
    return this.#reassembles !== undefined && this.#reassembles(slot);
  }

  /** Hands the weirds held for the connection in `slot` to `onWeird`. */
  #flushWeirds(slot: number): void {
    const n = this.#weirdCount;
    if (n === 0) return;
    this.#weirdCount = 0;
    for (let i = 0; i < n; i++) {
      this.#onWeird!(slot, this.#weirdNames[i]!, this.#weirdAddls[i]!, this.#weirdSources[i]!);
    }
  }

  #cancel(slot: number, kind: number): void {
    const at = slot * TIMER_KINDS + kind;
    this.table.timerGen[at] = (this.table.timerGen[at]! + 1) & 0xff;
  }

  #fire(slot: number, kind: number, now: number): void {
    const t = this.table;
    switch (kind) {
      case TIMER_ANALYZER:
        this.#onAnalyzerTimer?.(slot, now);
        return;
      case TIMER_INACTIVITY: {
        const timeout = this.#inactivitySeconds[t.inactivity[slot]!]!;
        if (timeout === 0) return;
        const due = t.lastTime[slot]! + timeout;
        if (due <= now) this.#remove(slot);
        else this.arm(slot, TIMER_INACTIVITY, due);
        return;
      }
      case TIMER_ATTEMPT: {
        const o = t.state[slot * 2]!;
        if (
          (o === TCP_SYN_SENT || o === TCP_SYN_ACK_SENT) && t.state[slot * 2 + 1] === TCP_INACTIVE
        ) {
          this.#remove(slot);
        }
        return;
      }
      case TIMER_EXPIRE:
      case TIMER_EXPIRE_CLOSE: {
        if (t.lastTime[slot]! + this.#timeouts.tcpConnectionLinger < now) {
          const o = slot * 2;
          const oClosed = (t.eflags[o]! & EF_DID_CLOSE) !== 0;
          const rClosed = (t.eflags[o + 1]! & EF_DID_CLOSE) !== 0;
          const os = t.state[o]!;
          const rs = t.state[o + 1]!;
          if (
            (oClosed || rClosed) &&
            ((oClosed && rClosed) || os === TCP_RESET || rs === TCP_RESET ||
              os === TCP_INACTIVE || rs === TCP_INACTIVE)
          ) {
            this.#remove(slot);
            return;
          }
          if (os === TCP_INACTIVE && rs === TCP_INACTIVE) {
            this.#remove(slot);
            return;
          }
        }
        this.arm(slot, kind, now + this.#timeouts.tcpSessionTimer);
        return;
      }
      case TIMER_DELETE:
        this.#remove(slot);
        return;
    }
  }

  #ignored(addr: Uint32Array): boolean {
    const nets = this.#ignoreNets;
    if (nets.length === 0) return false;
    return isLocalAddress(nets, wordBytes(addr, 0, this.#scratchBytes));
  }

  #ipTunnel(layer: TunnelLayer): number {
    const a = layer.addr;
    let lower = true;
    for (let i = 0; i < 4; i++) {
      if (a[i] !== a[4 + i]) {
        lower = a[i]! < a[4 + i]!;
        break;
      }
    }
    const first = lower ? 0 : 4;
    const second = lower ? 4 : 0;
    const key = `${layer.type}:${a[first]},${a[first + 1]},${a[first + 2]},${a[first + 3]}-${
      a[second]
    },${a[second + 1]},${a[second + 2]},${a[second + 3]}`;
    let ordinal = this.#ipTunnels.get(key);
    if (ordinal === undefined) {
      ordinal = this.#ordinal++;
      this.#ipTunnels.set(key, ordinal);
    }
    return ordinal;
  }

  /** The innermost packet of `d`, tunnelled inside `encap` (ordinals of the tunnels). */
  #inner(d: DecodedPacket, ts: number, encap: string): void {
    const proto = d.proto;
    if (proto === 6) this.#tcpPacket(d, ts, encap);
    else if (proto === 17) this.#udp(d, d, ts, encap);
    else if (proto === 1 || proto === 58) this.#icmp(d, ts, encap);
    else this.#other(d, ts, encap);
  }

  #lookup(
    words: Int32Array,
    proto: number,
    sport: number,
    dport: number,
    oneWay: boolean,
    d: DecodedPacket,
  ): number {
    const t = this.table;
    const vlan = t.vlanKey ? d.vlan : 0;
    const inner = t.vlanKey ? d.innerVlan : 0;
    const hash = ConnTable.hashKey(words, proto, sport, dport, vlan, inner);
    this.#hash = hash;
    return t.find(words, proto, sport, dport, oneWay, vlan, inner, hash);
  }

  #hash = 0;

  #create(
    words: Int32Array,
    proto: number,
    sport: number,
    dport: number,
    oneWay: boolean,
    d: DecodedPacket,
    ts: number,
    encap: string,
  ): number {
    const t = this.table;
    const vlan = t.vlanKey ? d.vlan : 0;
    const inner = t.vlanKey ? d.innerVlan : 0;
    const slot = t.insert(words, proto, sport, dport, oneWay, vlan, inner, this.#hash);
    t.ordinal[slot] = this.#ordinal++;
    t.startTime[slot] = ts;
    t.lastTime[slot] = ts;
    this.#connections++;
    this.#createdByProto[proto]!++;
    this.#liveByProto[proto]!++;
    if (t.vlanKey) {
      if (d.vlanTags >= 1) t.flags[slot]! |= CF_HAS_VLAN;
      if (d.vlanTags >= 2) t.flags[slot]! |= CF_HAS_INNER_VLAN;
    }
    if (t.macAddresses && d.macOffset >= 0) {
      const m = t.mac;
      const at = d.macOffset;
      const frame = this.#frame;
      if (frame !== undefined) {
        t.flags[slot]! |= CF_HAS_MAC;
        for (let i = 0; i < 6; i++) {
          m[slot * 12 + i] = frame[at + 6 + i]!;
          m[slot * 12 + 6 + i] = frame[at + i]!;
        }
      }
    }
    if (encap !== "") {
      t.flags[slot]! |= CF_TUNNEL;
      this.#tunnels.set(slot, { encap, parents: new Set(), changes: 0, limited: false });
    }
    // TCP starts with the UDP timeout until an endpoint leaves the handshake (Zeek 4.1 and later).
    const cls = proto === 6 || proto === 17
      ? INACTIVITY_UDP
      : proto === 1 || proto === 58
      ? INACTIVITY_ICMP
      : INACTIVITY_UNKNOWN;
    t.inactivity[slot] = INACTIVITY_NONE;
    this.setInactivity(slot, cls);
    // The first expire timer counts from network time, not the packet's (Zeek's TCPSessionAdapter()).
    if (proto === 6) this.#tcp.init(slot, this.#now);
    return slot;
  }

  /** The frame the current packet's link layer lies in (for mac-logging). */
  #frame: Uint8Array | undefined;

  /**
   * Sets the buffer the next packet's `macOffset` points into (the batch's
   * `data`), so mac-logging can copy the link-layer addresses.
   */
  setFrame(frame: Uint8Array): void {
    this.#frame = frame;
  }

  #checkEncapsulation(slot: number, encap: string): void {
    const t = this.table;
    if ((t.flags[slot]! & CF_TUNNEL) === 0) {
      if (encap === "") return;
      t.flags[slot]! |= CF_TUNNEL;
      this.#tunnels.set(slot, { encap, parents: new Set(), changes: 0, limited: false });
      return;
    }
    const info = this.#tunnels.get(slot)!;
    if (info.encap === encap) return;
    if (info.changes < DEFAULT_MAX_TUNNEL_CHANGES) {
      info.changes++;
      if (encap !== "") info.parents.add(innermost(encap));
    } else if (!info.limited) {
      info.limited = true;
      this.#h.append(slot, CH_X);
    }
    info.encap = encap;
  }

  #validate(src: Uint32Array, checksum: number): boolean {
    return !(this.#checksums && checksum === CHECKSUM_BAD && !this.#ignored(src));
  }

  #tcpPacket(d: DecodedPacket, ts: number, encap: string): void {
    const t = this.table;
    const words = d.addrWords;
    const sport = d.srcPort;
    const dport = d.dstPort;
    let slot = this.#lookup(words, 6, sport, dport, false, d);
    if (slot >= 0 && this.#tcp.isReuse(slot, d, ts)) {
      this.#flushWeirds(slot);
      this.#remove(slot);
      slot = -1;
    }
    let side: number;
    if (slot < 0) {
      slot = this.#create(words, 6, sport, dport, false, d, ts, encap);
      side = 0;
      const flags = d.tcpFlags;
      const syn = (flags & TCP_SYN) !== 0;
      if (
        (!syn || (flags & TCP_ACK) !== 0) && !isBroadcast(words) &&
        this.#ports.has(sport, 6)
      ) {
        const flip = this.#ports.has(dport, 6) ? !syn && sport < dport : true;
        if (flip) {
          this.flip(slot);
          side = 1;
        }
      }
      this.#emit("new_connection", slot);
    } else {
      side = t.lastSrcIsOrig ? 0 : 1;
      this.#checkEncapsulation(slot, encap);
    }
    if (!this.#validate(d.addr, d.l4Checksum)) {
      this.#badL4++;
      this.#h.scaled(slot, side, COUNT_CHECKSUM, CH_C);
      // Zeek raises `bad_TCP_checksum` on the connection: it counts for `DidWeird`.
      t.flags[slot]! |= CF_WEIRD;
      return;
    }
    const arrivedSide = side;
    side = this.#tcp.packet(slot, side, d, ts);
    this.#flushWeirds(slot);
    this.#lastFlipped = side !== arrivedSide;
    const e = slot * 2 + side;
    t.pkts[e] = t.pkts[e]! + 1;
    t.ipBytes[e] = t.ipBytes[e]! + d.ipTotalLen;
    this.#lastSlot = slot;
    this.#lastSide = side;
  }

  /** A UDP datagram, the packet's own or a tunnel's outer one; returns its connection. */
  #udp(v: UdpView, d: DecodedPacket, ts: number, encap: string): number {
    const t = this.table;
    const words = v.addrWords;
    const sport = v.srcPort;
    const dport = v.dstPort;
    let slot = this.#lookup(words, 17, sport, dport, false, d);
    let side: number;
    if (slot < 0) {
      slot = this.#create(words, 17, sport, dport, false, d, ts, encap);
      side = 0;
      if (
        this.#ports.has(sport, 17) && !this.#ports.has(dport, 17) &&
        !isBroadcast(words)
      ) {
        this.flip(slot);
        side = 1;
      }
      this.#emit("new_connection", slot);
    } else {
      side = t.lastSrcIsOrig ? 0 : 1;
      this.#checkEncapsulation(slot, encap);
    }
    if (!this.#validate(v.addr, v.l4Checksum)) {
      this.#badL4++;
      this.#h.scaled(slot, side, COUNT_CHECKSUM, CH_C);
      return slot;
    }
    t.lastTime[slot] = ts;
    this.#h.check(slot, side, HIST_DATA, CH_D);
    const e = slot * 2 + side;
    const ulen = v.udpLen - 8;
    t.eflags[e]! |= EF_ACTIVE;
    t.lastSeq[e] = t.lastSeq[e]! + (ulen > 0 ? ulen : 0);
    t.pkts[e] = t.pkts[e]! + 1;
    t.ipBytes[e] = t.ipBytes[e]! + v.ipTotalLen;
    this.#lastSlot = slot;
    this.#lastSide = side;
    return slot;
  }

  #icmp(d: DecodedPacket, ts: number, encap: string): void {
    const t = this.table;
    const words = d.addrWords;
    const proto = d.proto;
    const counterpart = icmpCounterpart(proto === 58, d.icmpType, d.icmpCode);
    const oneWay = counterpart < 0;
    const sport = d.icmpType;
    const dport = oneWay ? -1 - counterpart : counterpart;
    let slot = this.#lookup(words, proto, sport, dport, oneWay, d);
    let side: number;
    if (slot < 0) {
      slot = this.#create(words, proto, sport, dport, oneWay, d, ts, encap);
      side = 0;
      this.#emit("new_connection", slot);
    } else {
      side = t.lastSrcIsOrig ? 0 : 1;
      this.#checkEncapsulation(slot, encap);
    }
    if (!this.#validate(d.addr, d.l4Checksum)) {
      this.#badL4++;
      return;
    }
    t.lastTime[slot] = ts;
    const e = slot * 2 + side;
    t.eflags[e]! |= EF_ACTIVE;
    t.lastSeq[e] = t.lastSeq[e]! + d.payloadLen;
    if (d.l4Caplen >= d.l4Len) {
      t.pkts[e] = t.pkts[e]! + 1;
      t.ipBytes[e] = t.ipBytes[e]! + d.ipTotalLen;
    }
    this.#lastSlot = slot;
    this.#lastSide = side;
  }

  #other(d: DecodedPacket, ts: number, encap: string): void {
    const t = this.table;
    const words = d.addrWords;
    let slot = this.#lookup(words, d.proto, 0, 0, false, d);
    let side: number;
    if (slot < 0) {
      slot = this.#create(words, d.proto, 0, 0, false, d, ts, encap);
      side = 0;
      this.#emit("new_connection", slot);
    } else {
      side = t.lastSrcIsOrig ? 0 : 1;
      this.#checkEncapsulation(slot, encap);
    }
    t.lastTime[slot] = ts;
    const e = slot * 2 + side;
    t.pkts[e] = t.pkts[e]! + 1;
    t.ipBytes[e] = t.ipBytes[e]! + d.ipTotalLen;
    this.#lastSlot = slot;
    this.#lastSide = side;
  }

  #emit(name: typeof CONN_EVENTS[number], slot: number): void {
    const events = this.#events;
    if (events === undefined || !events.hasHandlers(name)) return;
    events.dispatch(name, [this.#records.connection(slot)]);
  }

  #remove(slot: number): void {
    const t = this.table;
    this.#liveByProto[t.proto[slot]!]!--;
    this.#onRemove?.(slot);
    if (this.#logs !== undefined) this.#logs.write(this.stream, this.#records.row(slot));
    this.#emit("connection_state_remove", slot);
    this.#h.release(slot);
    this.#tcp.release(slot);
    if ((t.flags[slot]! & CF_TUNNEL) !== 0) this.#tunnels.delete(slot);
    t.remove(slot);
  }
}

function isBroadcast(words: Int32Array): boolean {
  return words[7] === BROADCAST && words[6] === 0xffff && words[5] === 0 && words[4] === 0;
}
