/**
 * What a protocol analyzer is to the framework, and what the framework is
 * to an analyzer: Zeek's analyzer tree reduced to what weir's analyzers
 * need. An analyzer is one instance per connection; the framework creates
 * it (by Zeek's registered ports, or when a dynamic protocol detection
 * signature matches), feeds it datagrams (UDP) or the reassembled byte
 * streams (TCP), and settles confirmation, violation, `service`,
 * analyzer.log and weird.log the way Zeek's core and base scripts do
 * (`../shared/research/analysis-framework-dns.md`, §1 and §3).
 *
 * @module
 */

import type { EventRegistry } from "../../bus/mod.ts";
import type { LogRegistry } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";

/** A connection's id as logs print it, after any role flip. */
export interface ConnEndpoints {
  readonly origH: string;
  readonly origP: number;
  readonly respH: string;
  readonly respP: number;
  /** `get_port_transport_proto`: what logs print in their `proto` column. */
  readonly proto: "tcp" | "udp" | "icmp" | "unknown_transport";
}

/**
 * What an analyzer instance sees of its connection and of the framework.
 * Everything here reads the connection as it is now: after a `flip()`,
 * `endpoints()` answers with the new roles.
 */
export interface AnalyzerHost {
  /** The connection's uid (`C…`). */
  readonly uid: string;
  /** Where the analyzer's log streams are written (the node's registry). */
  readonly logs: LogRegistry;
  /** Where its events go; raise only events a script handles (`events.has`). */
  readonly events: EventRegistry | undefined;
  /** The connection's id now (after any flip). */
  endpoints(): ConnEndpoints;
  /** Whether the responder address is multicast (DNS: no flip, no pairing). */
  respIsMulticast(): boolean;
  /** Network time: the time of the packet being analysed. */
  now(): number;
  /** The connection's `start_time` (its first packet). */
  startTime(): number;
  /**
   * `Site::is_local_addr` of the originator's (`isOrig`) or responder's
   * address; undefined when no local networks are configured.
   */
  isLocal(isOrig: boolean): boolean | undefined;
  /**
   * TCP: Zeek's `IsPartial`, the connection was picked up mid-stream (the
   * originator's first packet was no pure SYN, or the responder's had no
   * SYN). HTTP and SSL analyse nothing on such connections.
   */
  partial(): boolean;
  /** Zeek's `connection` record, for events (built on demand; not per packet). */
  connection(): ZeekValue;
  /** `AnalyzerConfirmation`: the first call adds the analyzer's name to `service`. */
  confirm(): void;
  /**
   * `AnalyzerViolation`: the framework applies Zeek's rules (suppressed on
   * partial or gapped TCP connections, ignored past 10,240 bytes, else the
   * analyzer is removed, `service` loses it and analyzer.log gets a row if
   * it had confirmed). The analyzer receives nothing more after a removal.
   */
  violate(reason: string, data?: Uint8Array): void;
  /**
   * A weird raised by this analyzer, rate-limited as Zeek does; `source`
   * defaults to the analyzer's name (`""` for a script's `conn_weird`,
   * `CONTENTLINE` or `ZIP` for Zeek's support analyzers).
   */
  weird(name: string, addl?: string, source?: string): void;
  /**
   * A weird about a file the analyzer handed to file analysis (Zeek's
   * `file_weird`): no connection in weird.log, `addl` is the fuid (then
   * `: ` and `addl` when there is one).
   */
  fileWeird(fuid: string, name: string, addl?: string): void;
  /**
   * TCP: hands the rest of both streams to dynamic protocol detection, as
   * Zeek's HTTP analyzer does after a successful CONNECT (a new PIA whose
   * signatures see the streams from the next delivery on, after `rest`,
   * the bytes of the current delivery of side `isOrig` that follow what
   * this analyzer consumed); analyzers it attaches add their names to
   * `service` after this one's.
   */
  detectProtocol(rest: Uint8Array, isOrig: boolean): void;
  /**
   * TCP: attaches the loaded analyzer `name` (Zeek's component name) as a
   * child of this one, as Zeek's SMTP analyzer attaches SSL after
   * STARTTLS (`InstantiateAnalyzer` + `AddChildAnalyzer`): this analyzer
   * forwards it the bytes it should see; its confirmation adds its name
   * to `service` and its violation removes only it. The framework ends it
   * (`done`) with the connection. Undefined when `name` is not loaded.
   */
  startChild(name: string): ChildAnalyzer | undefined;
  /**
   * Zeek's `disable_analyzer`, as a script calls it once an analyzer has
   * nothing more to say (SSL at `ssl_established`): the analyzer receives
   * nothing more, its name stays in `service`, no violation is logged.
   * A TCP connection no analyzer or DPD listens to any more is no longer
   * reassembled.
   */
  disable(): void;
  /** Swaps the connection's roles (conn history gets `^`). */
  flip(): void;
  /** Adds a letter to conn history once (`CheckHistory`), e.g. `X` for an unknown packet. */
  history(letter: string): void;
  /**
   * UDP analyzers that expire their connections themselves (Zeek's DNS
   * session timer): every `everySec` seconds of network time, remove the
   * connection if it has been idle for at least `idleSec`.
   */
  expireWhenIdle(everySec: number, idleSec: number): void;
}

/** An analyzer of datagrams (UDP): one call per packet's payload. */
export interface PacketAnalyzer {
  /** The payload of one datagram; borrowed until the call returns. */
  packet(data: Uint8Array, isOrig: boolean): void;
  /** The connection ends (timeout, end of input): write what is pending. */
  done(): void;
}

/** An analyzer of byte streams (TCP, after reassembly). */
export interface StreamAnalyzer {
  /** The next in-order bytes of one direction; borrowed until the call returns. */
  stream(data: Uint8Array, isOrig: boolean): void;
  /**
   * `len` bytes at relative sequence `seq` of one direction will never
   * arrive (a content gap): Zeek's `Undelivered`.
   */
  undelivered(seq: number, len: number, isOrig: boolean): void;
  /** A FIN or RST from one side was processed (Zeek's `ConnectionClosed`). */
  closed(isOrig: boolean): void;
  /** Everything one side sent up to its FIN or RST was delivered (Zeek's `EndpointEOF`). */
  endOfStream?(isOrig: boolean): void;
  /** The connection ends: write what is pending. */
  done(): void;
}

/** A child analyzer as its parent sees it: where the parent forwards stream data. */
export type ChildAnalyzer = Omit<StreamAnalyzer, "done">;

/** A dynamic protocol detection signature (Zeek's `dpd.sig`), matched on the first bytes. */
export interface DpdSignature {
  readonly name: string;
  readonly proto: "tcp" | "udp";
  /** Which side's bytes it looks at; `any` for both. */
  readonly direction: "originator" | "responder" | "any";
  /**
   * Tested on a direction's stream so far (TCP) or on each datagram (UDP).
   * Zeek anchors payload patterns at the start: the RegExp says `^` itself,
   * or leaves it out where Zeek's pattern starts with `.*` or `(|.*[\r\n])`.
   */
  readonly payload: RegExp;
  /**
   * `requires-reverse-signature`: the signature fires only once this one
   * (which enables nothing itself) has matched the opposite direction of
   * the connection too, whichever of the two matched first.
   */
  readonly reverse?: DpdReverseSignature;
}

/** The other direction's signature a `DpdSignature` requires. */
export interface DpdReverseSignature {
  readonly name: string;
  readonly direction: "originator" | "responder" | "any";
  readonly payload: RegExp;
}

/** One protocol analyzer as the framework knows it. */
export interface AnalyzerSpec {
  /** Zeek's component name (`DNS`, `HTTP`, `SSL`): analyzer.log's name, `service` lower-cased. */
  readonly name: string;
  /** `Analyzer::register_for_ports`: responder ports it attaches to (`53/udp`). */
  readonly ports: readonly string[];
  /** The subset of `ports` that goes into `likely_server_ports` (all of them for DNS). */
  readonly serverPorts: readonly string[];
  /** DPD signatures that attach it on any port (none for DNS). */
  readonly signatures: readonly DpdSignature[];
  /** Builds the UDP analyzer of a connection, where the protocol runs over UDP. */
  readonly createPacketAnalyzer?: (host: AnalyzerHost) => PacketAnalyzer;
  /** Builds the TCP analyzer of a connection, where the protocol runs over TCP. */
  readonly createStreamAnalyzer?: (host: AnalyzerHost) => StreamAnalyzer;
  /**
   * The input ended (after every connection was removed): state that
   * outlives connections (files of partial content, …) is finished here,
   * as at Zeek's termination.
   */
  readonly finish?: () => void;
}
