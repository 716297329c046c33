/**
 * The analyzers stage as Zeek's core and base scripts run it: analyzers
 * attach to a new connection by its responder port
 * (`IPBasedAnalyzer::BuildSessionAnalyzerTree`), UDP payloads go to them
 * datagram by datagram, TCP payloads through a reassembler; confirmations
 * fill `service` in their order (`dpd.zeek`, `connection$service` is an
 * ordered set), violations remove the analyzer as `dpd.zeek` does and the
 * first one after a confirmation is written to analyzer.log.
 *
 * Connections without an analyzer cost one array read per packet.
 *
 * @module
 */

import type { DecodedPacket } from "../../../capture/mod.ts";
import type { EventRegistry } from "../../bus/mod.ts";
import type { LogRegistry, LogStream } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import type { ConnTracker } from "../conn/mod.ts";
import type {
  AnalyzerHost,
  AnalyzerSpec,
  ChildAnalyzer,
  ConnEndpoints,
  PacketAnalyzer,
  StreamAnalyzer,
} from "./analyzer.ts";
import type { AnalyzerStage, AnalyzerStageFactory } from "./analyzer_stage.ts";
import { ANALYZER_LOG, FAILURE_DATA_MAX_SIZE } from "./analyzer_log.ts";
import { AnalyzerRegistry } from "./registry.ts";
import { Pia, type PiaReplayTarget } from "./pia.ts";
import type { ConnWeirds } from "../weird/mod.ts";
import { type ReassemblyMemory, TcpStreams, type TcpStreamSink } from "../tcp/mod.ts";

/** `DPD::ignore_violations_after`: past this many payload bytes, violations are ignored. */
export const DEFAULT_IGNORE_VIOLATIONS_AFTER = 10240;
/** `max_analyzer_violations`: per analyzer instance; the next one is a weird. */
export const DEFAULT_MAX_ANALYZER_VIOLATIONS = 1000;

/** What the stage needs besides the sessions stage it is built on. */
export interface AnalyzerStageOptions {
  readonly analyzers: readonly AnalyzerSpec[];
  readonly logs: LogRegistry;
  readonly events?: EventRegistry | undefined;
  /**
   * The pipeline's reassembly memory (its bound and counters): TCP
   * connections with an analyzer are reassembled in it. Without it TCP
   * analyzers never attach.
   */
  readonly reassembly?: ReassemblyMemory | undefined;
}

/** One analyzer on one connection. */
class Attached implements AnalyzerHost {
  readonly spec: AnalyzerSpec;
  readonly conn: ConnState;
  analyzer: PacketAnalyzer | StreamAnalyzer | undefined;
  confirmed = false;
  removed = false;
  violations = 0;

  constructor(spec: AnalyzerSpec, conn: ConnState) {
    this.spec = spec;
    this.conn = conn;
  }

  get uid(): string {
    return this.conn.uid;
  }
  get logs(): LogRegistry {
    return this.conn.stage.logs;
  }
  get events(): EventRegistry | undefined {
    return this.conn.stage.events;
  }
  endpoints(): ConnEndpoints {
    // Formatting addresses is not free and analyzers ask per message: the id
    // is kept until the roles change.
    return this.conn.endpoints ??= this.conn.stage.sessions.endpointsOf(this.conn.slot);
  }
  respIsMulticast(): boolean {
    return this.conn.stage.sessions.respIsMulticast(this.conn.slot);
  }
  now(): number {
    return this.conn.stage.sessions.now;
  }
  startTime(): number {
    return this.conn.stage.sessions.startTimeOf(this.conn.slot);
  }
  isLocal(isOrig: boolean): boolean | undefined {
    return this.conn.stage.sessions.isLocal(this.conn.slot, isOrig);
  }
  partial(): boolean {
    return this.conn.reassembly?.partial ?? false;
  }
  connection(): ZeekValue {
    return this.conn.stage.sessions.connectionOf(this.conn.slot);
  }
  confirm(): void {
    if (this.confirmed || this.removed) return;
    this.confirmed = true;
    const conn = this.conn;
    if (!conn.services.includes(this.spec.name)) {
      conn.services.push(this.spec.name);
      conn.serviceText = serviceText(conn.services);
    }
  }
  violate(reason: string, data?: Uint8Array): void {
    if (this.removed) return;
    this.conn.stage.violation(this, reason, data);
  }
  weird(name: string, addl?: string, source: string = this.spec.name): void {
    this.conn.stage.weird(this.conn, name, addl, source);
  }
  fileWeird(fuid: string, name: string, addl?: string): void {
    this.conn.stage.fileWeird(fuid, name, addl);
  }
  detectProtocol(rest: Uint8Array, isOrig: boolean): void {
    this.conn.stage.detect(this.conn, rest, isOrig);
  }
  startChild(name: string): ChildAnalyzer | undefined {
    return this.conn.stage.child(this, name);
  }
  disable(): void {
    if (this.removed) return;
    this.removed = true;
    this.conn.checkListeners();
  }
  flip(): void {
    this.conn.stage.sessions.flip(this.conn.slot);
    this.conn.endpoints = undefined;
    this.conn.reassembly?.flip();
  }
  history(letter: string): void {
    this.conn.stage.sessions.historyOnce(this.conn.slot, letter);
  }
  expireWhenIdle(everySec: number, idleSec: number): void {
    const conn = this.conn;
    conn.expireEvery = everySec;
    conn.expireIdle = idleSec;
    conn.stage.sessions.armAnalyzerTimer(conn.slot, this.now() + everySec);
  }
}

/** The analyzers of one connection. */
class ConnState {
  readonly stage: Stage;
  readonly slot: number;
  readonly uid: string;
  readonly udp: Attached[] = [];
  readonly tcp: Attached[] = [];
  /** Analyzers attached as children of another (`startChild`); their parents feed them. */
  readonly children: Attached[] = [];
  /** `connection$service`, in confirmation order, Zeek's analyzer names. */
  readonly services: string[] = [];
  /** conn.log's `service`: the names lower-cased, comma-separated (undefined when none). */
  serviceText: string | undefined;
  /** `connection$failed_analyzers`. */
  readonly failed = new Set<string>();
  reassembly: TcpStreams | undefined;
  /** Dynamic protocol detection, while the connection's first bytes are buffered. */
  pia: Pia | undefined;
  /** The id as logs print it, until the roles change. */
  endpoints: ConnEndpoints | undefined;
  expireEvery = 0;
  expireIdle = 0;
  /**
   * No TCP analyzer is attached any more (all removed or disabled); once
   * the PIA has stopped too, reassembly stops (`idle`).
   */
  unheard = false;
  /** Reassembly was stopped: the streams reach no one. */
  idle = false;

  constructor(stage: Stage, slot: number) {
    this.stage = stage;
    this.slot = slot;
    this.uid = stage.sessions.uidOf(slot);
  }

  /** After a removal: whether any TCP analyzer (or child) still listens. */
  checkListeners(): void {
    if (this.reassembly === undefined) return;
    for (const a of this.tcp) if (!a.removed) return;
    for (const a of this.children) if (!a.removed) return;
    this.unheard = true;
  }
}

class Stage implements AnalyzerStage {
  readonly sessions: ConnTracker;
  readonly logs: LogRegistry;
  readonly events: EventRegistry | undefined;
  readonly #registry: AnalyzerRegistry;
  readonly #weirds: ConnWeirds | undefined;
  readonly #memory: ReassemblyMemory | undefined;
  readonly #analyzerLog: LogStream;
  /** Per slot: the connection's analyzers, or `NONE` once decided there are none. */
  #conns: (ConnState | typeof NONE | undefined)[] = [];
  /** Violations of this packet, settled when it has been analysed. */
  #violations: { a: Attached; reason: string; data: Uint8Array | undefined }[] = [];
  /** conn.log's `service` of the connection being removed (its row is built right after `remove`). */
  #leavingSlot = -1;
  #leavingService: string | undefined;

  constructor(
    sessions: ConnTracker,
    options: AnalyzerStageOptions,
    weirds: ConnWeirds | undefined,
  ) {
    this.sessions = sessions;
    this.logs = options.logs;
    this.events = options.events;
    this.#registry = new AnalyzerRegistry(options.analyzers);
    this.#weirds = weirds;
    this.#memory = options.reassembly;
    this.#analyzerLog = options.logs.stream(ANALYZER_LOG.id) ??
      options.logs.defineStream(ANALYZER_LOG);
  }

  packet(d: DecodedPacket, slot: number, isOrig: boolean): void {
    let conn = this.#conns[slot];
    if (conn === NONE) return;
    let created = false;
    if (conn === undefined) {
      conn = this.#attach(slot);
      this.#conns[slot] = conn;
      if (conn === NONE) return;
      created = true;
    }
    if (!created && this.sessions.lastFlipped) conn.endpoints = undefined;
    if (conn.reassembly !== undefined) {
      if (conn.idle) return;
      // A flip while tracking this packet (SYN-ACK seen first, …) changes the
      // roles it arrived under; the creation flip happened before the streams existed.
      conn.reassembly.packet(d, isOrig, !created && this.sessions.lastFlipped);
      if (this.#violations.length > 0) this.#settleViolations();
      if (conn.unheard && !(conn.pia?.active ?? false)) {
        // Nothing listens: encrypted TLS after `ssl_established` costs no reassembly.
        conn.idle = true;
        conn.reassembly.close();
      }
      return;
    }
    const len = d.payloadCaplen < d.payloadLen ? d.payloadCaplen : d.payloadLen;
    if (len <= 0 && d.proto !== 17) return;
    const payload = d.data.subarray(d.payloadOffset, d.payloadOffset + (len > 0 ? len : 0));
    for (const a of conn.udp) {
      if (!a.removed) (a.analyzer as PacketAnalyzer).packet(payload, isOrig);
    }
    // The PIA comes after the analyzers already attached (Zeek adds it last),
    // so one it attaches now gets this datagram from the replay, not twice.
    conn.pia?.data(payload, isOrig);
    if (this.#violations.length > 0) this.#settleViolations();
  }

  remove(slot: number): void {
    const conn = this.#conns[slot];
    this.#conns[slot] = undefined;
    if (conn === undefined || conn === NONE) return;
    if (this.#violations.length > 0) this.#settleViolations();
    // Zeek finalises the scripts' state (pending DNS rows, …) at removal even
    // for an analyzer a violation removed: `done` reaches every one.
    for (const a of conn.udp) a.analyzer?.done();
    for (const a of conn.tcp) a.analyzer?.done();
    for (const a of conn.children) a.analyzer?.done();
    conn.reassembly?.close();
    if (this.#violations.length > 0) this.#settleViolations();
    this.#leavingSlot = slot;
    this.#leavingService = conn.serviceText;
  }

  /** conn.log's `service` for a connection (live, or being removed right now). */
  serviceOf(slot: number): string | undefined {
    if (slot === this.#leavingSlot) {
      this.#leavingSlot = -1;
      return this.#leavingService;
    }
    const conn = this.#conns[slot];
    return conn === undefined || conn === NONE ? undefined : conn.serviceText;
  }

  /** Whether a TCP connection is (or, on its first packet, will be) reassembled here. */
  reassembles(slot: number): boolean {
    const t = this.sessions.table;
    if (this.#memory === undefined || t.proto[slot] !== 6) return false;
    // TCP signatures need every connection's stream from its first byte.
    if (this.#registry.tcpRules.length > 0) return true;
    const specs = this.#registry.forPort(t.respPort[slot]!, 6);
    return specs !== undefined && specs.some((s) => s.createStreamAnalyzer !== undefined);
  }

  finish(): void {
    for (const spec of this.#registry.specs) spec.finish?.();
  }

  /** A fresh PIA on the rest of a TCP connection's streams (after an HTTP CONNECT). */
  detect(conn: ConnState, rest: Uint8Array, isOrig: boolean): void {
    const rules = this.#registry.tcpRules;
    if (conn.reassembly === undefined || rules.length === 0) return;
    const pia = new Pia(rules, true, (spec, replay) => this.#activate(conn, spec, true, replay));
    conn.pia = pia;
    if (rest.length > 0) pia.data(rest, isOrig);
  }

  /** `startChild`: a child of `parent`, fed by it while both are attached. */
  child(parent: Attached, name: string): ChildAnalyzer | undefined {
    const spec = this.#registry.byName(name);
    if (spec?.createStreamAnalyzer === undefined || parent.conn.reassembly === undefined) {
      return undefined;
    }
    const a = new Attached(spec, parent.conn);
    const s = spec.createStreamAnalyzer(a);
    a.analyzer = s;
    parent.conn.children.push(a);
    const live = () => !a.removed && !parent.removed;
    return {
      stream: (data, isOrig) => {
        if (live()) s.stream(data, isOrig);
      },
      undelivered: (seq, len, isOrig) => {
        if (live()) s.undelivered(seq, len, isOrig);
      },
      closed: (isOrig) => {
        if (live()) s.closed(isOrig);
      },
      endOfStream: (isOrig) => {
        if (live()) s.endOfStream?.(isOrig);
      },
    };
  }

  /** The analyzers' session timer of a connection is due (Zeek's `DNS_Analyzer::ExpireTimer`). */
  timer(slot: number, now: number): void {
    const conn = this.#conns[slot];
    if (conn === undefined || conn === NONE || conn.expireEvery <= 0) return;
    if (now - this.sessions.lastTimeOf(slot) >= conn.expireIdle) {
      this.sessions.removeConnection(slot);
    } else this.sessions.armAnalyzerTimer(slot, now + conn.expireEvery);
  }

  violation(a: Attached, reason: string, data: Uint8Array | undefined): void {
    const conn = a.conn;
    if (a.violations >= DEFAULT_MAX_ANALYZER_VIOLATIONS) {
      if (a.violations++ === DEFAULT_MAX_ANALYZER_VIOLATIONS) {
        this.weird(conn, "too_many_analyzer_violations", undefined, a.spec.name);
      }
      return;
    }
    a.violations++;
    // Zeek's scripts act on `analyzer_violation_info` from the event queue,
    // after the packet: the analyzer parses the rest of it (a DPD replay
    // included) before it is removed.
    this.#violations.push({ a, reason, data: data?.slice(0, FAILURE_DATA_MAX_SIZE) });
  }

  #settleViolations(): void {
    const pending = this.#violations;
    this.#violations = [];
    for (const v of pending) this.#settle(v.a, v.reason, v.data);
  }

  /** `dpd.zeek`'s violation handler. */
  #settle(a: Attached, reason: string, data: Uint8Array | undefined): void {
    if (a.removed) return;
    const conn = a.conn;
    const r = conn.reassembly;
    if (r !== undefined && (r.partial || r.hadGap(true) || r.hadGap(false))) return;
    if (this.sessions.bytesOf(conn.slot) > DEFAULT_IGNORE_VIOLATIONS_AFTER) return;
    a.removed = true;
    conn.checkListeners();
    const name = a.spec.name;
    const at = conn.services.indexOf(name);
    if (at < 0) return;
    if (!conn.failed.has(name)) this.#logFailure(conn, name, reason, data);
    conn.services.splice(at, 1);
    conn.serviceText = serviceText(conn.services);
    conn.failed.add(name);
  }

  weird(conn: ConnState, name: string, addl: string | undefined, source: string): void {
    this.#weirds?.report(
      conn.slot,
      name,
      addl ?? "",
      source,
      conn.endpoints ??= this.sessions.endpointsOf(conn.slot),
    );
  }

  fileWeird(fuid: string, name: string, addl: string | undefined): void {
    const text = addl === undefined || addl === "" ? fuid : `${fuid}: ${addl}`;
    this.#weirds?.log.netWeird(this.sessions.now, name, text, "");
  }

  #logFailure(conn: ConnState, name: string, reason: string, data: Uint8Array | undefined): void {
    const id = this.sessions.endpointsOf(conn.slot);
    this.logs.write(this.#analyzerLog, [
      this.sessions.now,
      "protocol",
      name,
      conn.uid,
      undefined,
      id.origH,
      id.origP,
      id.respH,
      id.respP,
      id.proto,
      reason,
      // A string of raw bytes (copied: the data is borrowed); the writer escapes it as Zeek does.
      data === undefined ? undefined : data.slice(0, FAILURE_DATA_MAX_SIZE),
    ]);
  }

  #attach(slot: number): ConnState | typeof NONE {
    const t = this.sessions.table;
    const proto = t.proto[slot]!;
    if (proto !== 6 && proto !== 17) return NONE;
    const tcp = proto === 6;
    if (tcp && this.#memory === undefined) return NONE;
    const specs = this.#registry.forPort(t.respPort[slot]!, proto);
    const rules = tcp ? this.#registry.tcpRules : this.#registry.udpRules;
    if (specs === undefined && rules.length === 0) return NONE;
    const conn = new ConnState(this, slot);
    for (const spec of specs ?? []) this.#add(conn, spec, tcp);
    if (rules.length > 0) {
      conn.pia = new Pia(rules, tcp, (spec, replay) => this.#activate(conn, spec, tcp, replay));
    }
    if (conn.udp.length === 0 && conn.tcp.length === 0 && conn.pia === undefined) return NONE;
    if (tcp) conn.reassembly = new TcpStreams(streamFanout(conn), this.#memory!);
    return conn;
  }

  /** Attaches an analyzer to a connection (by port, or when a signature matched). */
  #add(conn: ConnState, spec: AnalyzerSpec, tcp: boolean): Attached | undefined {
    const a = new Attached(spec, conn);
    if (!tcp && spec.createPacketAnalyzer !== undefined) {
      a.analyzer = spec.createPacketAnalyzer(a);
      conn.udp.push(a);
      return a;
    }
    if (tcp && spec.createStreamAnalyzer !== undefined) {
      a.analyzer = spec.createStreamAnalyzer(a);
      conn.tcp.push(a);
      conn.unheard = false;
      return a;
    }
    return undefined;
  }

  /**
   * A DPD signature matched: attach its analyzer unless one of that name is
   * attached already (Zeek refuses a duplicate child), and replay the
   * buffered bytes to it.
   */
  #activate(
    conn: ConnState,
    spec: AnalyzerSpec,
    tcp: boolean,
    replay: (target: PiaReplayTarget) => void,
  ): void {
    const attached = tcp ? conn.tcp : conn.udp;
    if (attached.some((a) => a.spec.name === spec.name && !a.removed)) return;
    const a = this.#add(conn, spec, tcp);
    if (a === undefined) return;
    if (tcp) {
      const s = a.analyzer as StreamAnalyzer;
      replay({
        data: (data, isOrig) => {
          if (!a.removed) s.stream(data, isOrig);
        },
        gap: (seq, len, isOrig) => {
          if (!a.removed) s.undelivered(seq, len, isOrig);
        },
      });
    } else {
      const p = a.analyzer as PacketAnalyzer;
      replay({
        data: (data, isOrig) => {
          if (!a.removed) p.packet(data, isOrig);
        },
        gap: () => {},
      });
    }
  }
}

const NONE = 0 as const;

function serviceText(services: readonly string[]): string | undefined {
  return services.length === 0 ? undefined : services.map((s) => s.toLowerCase()).join(",");
}

/** The reassembler's sink: every stream analyzer of the connection that is still attached. */
function streamFanout(conn: ConnState): TcpStreamSink {
  const each = (f: (s: StreamAnalyzer) => void) => {
    // Analyzers the PIA attaches during this delivery get it from its replay.
    const n = conn.tcp.length;
    for (let i = 0; i < n; i++) {
      const a = conn.tcp[i]!;
      if (!a.removed) f(a.analyzer as StreamAnalyzer);
    }
  };
  return {
    // Deliveries are the hot path: a plain loop, no closure per call.
    stream: (data, isOrig) => {
      // A PIA an analyzer starts during this delivery sees the next one on.
      const pia = conn.pia;
      const tcp = conn.tcp;
      const n = tcp.length;
      for (let i = 0; i < n; i++) {
        const a = tcp[i]!;
        if (!a.removed) (a.analyzer as StreamAnalyzer).stream(data, isOrig);
      }
      pia?.data(data, isOrig);
    },
    undelivered: (seq, len, isOrig) => {
      const pia = conn.pia;
      each((s) => s.undelivered(seq, len, isOrig));
      pia?.gap(seq, len, isOrig);
    },
    closed: (isOrig) => each((s) => s.closed(isOrig)),
    eof: (isOrig) => each((s) => s.endOfStream?.(isOrig)),
    weird: (name, addl, source) => conn.stage.weird(conn, name, addl, source),
  };
}

/**
 * The analyzers stage for a pipeline: pass it as `analyzers` to
 * `PacketPipeline`.
 *
 * @example
 * ```ts
 * const pipeline = new PacketPipeline({
 *   sessions: { logs },
 *   analyzers: createAnalyzerStage({ analyzers: [DNS_ANALYZER], logs }),
 * });
 * ```
 */
export function createAnalyzerStage(options: AnalyzerStageOptions): AnalyzerStageFactory {
  return (sessions, weirds) => new Stage(sessions, options, weirds);
}
