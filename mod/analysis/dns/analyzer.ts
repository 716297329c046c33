/**
 * The DNS analyzer as the analysis framework sees it: attached by Zeek's
 * DNS ports (no signature), one interpreter and one script state per
 * connection, UDP datagrams parsed one message each, TCP streams framed by
 * their length prefixes (Z: src/analyzer/protocol/dns/DNS.cc,
 * `DNS_Analyzer`).
 *
 * @module
 */

import type {
  AnalyzerHost,
  AnalyzerSpec,
  PacketAnalyzer,
  StreamAnalyzer,
} from "../framework/mod.ts";
import { DnsInterpreter, type InterpreterHost } from "./interpreter.ts";
import { DNS_EVENTS, DnsSessions } from "./session.ts";
import { DnsTcpFraming } from "./tcp_framing.ts";

/** Zeek's `DNS::ports`, all of them likely server ports. */
export const DNS_PORTS: readonly string[] = Object.freeze([
  "53/udp",
  "53/tcp",
  "137/udp",
  "5353/udp",
  "5355/udp",
]);

/** `dns_session_timeout`: a UDP DNS connection is checked this often… */
export const DNS_SESSION_TIMEOUT_SEC = 10;
/** …and removed when idle this long (the timeout minus Zeek's one second of grace). */
export const DNS_SESSION_IDLE_SEC = 9;

/** Zeek options of the DNS analyzer and its scripts. */
export interface DnsAnalyzerOptions {
  /**
   * `policy/protocols/dns/auth-addl`: parse the authority and additional
   * sections and log their answers in the `auth` and `addl` set columns.
   */
  readonly authAddl?: boolean;
  /** `dns_skip_all_auth` (default true; false with `authAddl`). */
  readonly skipAllAuth?: boolean;
  /** `dns_skip_all_addl` (default true; false with `authAddl`). */
  readonly skipAllAddl?: boolean;
  /** `dns_max_queries` (default 25; 0 disables the check). */
  readonly maxQueries?: number;
  /** `dns_max_compression_chain_depth` (default 20). */
  readonly maxCompressionDepth?: number;
}

/** Event registries the DNS events are declared in (once each, not per connection). */
const declared = new WeakSet<object>();

/** The interpreter's view of its connection: methods, not a closure per call per connection. */
class InterpreterAdapter implements InterpreterHost {
  readonly #host: AnalyzerHost;
  readonly udp: boolean;

  constructor(host: AnalyzerHost, udp: boolean) {
    this.#host = host;
    this.udp = udp;
  }
  weird(name: string, addl?: string): void {
    this.#host.weird(name, addl);
  }
  history(letter: string): void {
    this.#host.history(letter);
  }
  violate(reason: string): void {
    this.#host.violate(reason);
  }
  confirm(): void {
    this.#host.confirm();
  }
  flip(): void {
    this.#host.flip();
  }
  respIsMulticast(): boolean {
    return this.#host.respIsMulticast();
  }
  respPort(): number {
    return this.#host.endpoints().respP;
  }
}

/** One connection's DNS analysis: the interpreter and the script state behind it. */
class DnsConnection {
  readonly interpreter: DnsInterpreter;
  readonly sessions: DnsSessions;

  constructor(host: AnalyzerHost, options: DnsAnalyzerOptions) {
    const authAddl = options.authAddl ?? false;
    const events = host.events;
    if (events !== undefined && !declared.has(events)) {
      for (const [name, args] of DNS_EVENTS) events.declare(name, args);
      declared.add(events);
    }
    this.sessions = new DnsSessions(host, authAddl);
    const id = host.endpoints();
    this.interpreter = new DnsInterpreter(
      new InterpreterAdapter(host, id.proto === "udp"),
      this.sessions,
      id.origP === 137 || id.respP === 137,
      {
        maxQueries: options.maxQueries,
        maxCompressionDepth: options.maxCompressionDepth,
        skipAllAuth: options.skipAllAuth ?? !authAddl,
        skipAllAddl: options.skipAllAddl ?? !authAddl,
      },
    );
  }
}

/**
 * Builds the DNS analyzer with Zeek options; `DNS_ANALYZER` is the
 * default one.
 */
export function createDnsAnalyzer(options: DnsAnalyzerOptions = {}): AnalyzerSpec {
  return Object.freeze({
    name: "DNS",
    ports: DNS_PORTS,
    serverPorts: DNS_PORTS,
    signatures: Object.freeze([]),
    createPacketAnalyzer(host: AnalyzerHost): PacketAnalyzer {
      const dns = new DnsConnection(host, options);
      host.expireWhenIdle(DNS_SESSION_TIMEOUT_SEC, DNS_SESSION_IDLE_SEC);
      return {
        packet: (data, isOrig) => dns.interpreter.parseMessage(data, isOrig ? 1 : 0),
        done: () => dns.sessions.done(),
      };
    },
    createStreamAnalyzer(host: AnalyzerHost): StreamAnalyzer {
      const dns = new DnsConnection(host, options);
      const parse = (isOrig: boolean) => (message: Uint8Array) =>
        dns.interpreter.parseMessage(message, isOrig ? 1 : 0);
      const partial = (message: Uint8Array) => dns.interpreter.parseMessage(message, 2);
      const orig = new DnsTcpFraming(parse(true), partial);
      const resp = new DnsTcpFraming(parse(false), partial);
      return {
        stream: (data, isOrig) => (isOrig ? orig : resp).push(data),
        // Zeek's Contents_DNS ignores gaps: the framing desynchronises as Zeek's does.
        undelivered: () => {},
        closed: () => {
          orig.flush();
          resp.flush();
        },
        done: () => dns.sessions.done(),
      };
    },
  });
}

/** Zeek's DNS analyzer with the base scripts' defaults. */
export const DNS_ANALYZER: AnalyzerSpec = createDnsAnalyzer();
