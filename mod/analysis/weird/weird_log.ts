/**
 * weird.log: the `Weird::LOG` stream and what Zeek does between an analyzer
 * calling `Weird(…)` and a row appearing (`../shared/research/analysis-framework-dns.md`
 * §3). The core samples (`WeirdSampler`); then `do_weird` of
 * `base/frameworks/notice/weird.zeek` applies the name's action, drops a
 * (name, identifier) pair seen in the last 10 minutes (`weird_ignore`),
 * limits `*_ONCE`/`*_PER_CONN`/`*_PER_ORIG` actions for a day
 * (`did_log`/`did_notice`), marks notice actions `notice=T`, and writes.
 *
 * So an `ACTION_LOG` weird is logged once per (name, 4-tuple) per 10
 * minutes, even across connections that reuse the 4-tuple: the identifier
 * is the 4-tuple, not the uid. All expiry runs on network time, passed in
 * as `now`; nothing here reads a clock.
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import type { LogRegistry, LogStream } from "../../log/mod.ts";
import { connIdType } from "../conn/mod.ts";
import { ExpiringSet } from "./_expiring_set.ts";
import {
  DEFAULT_WEIRD_ACTION,
  DEFAULT_WEIRD_ACTIONS,
  LIMITING_ACTIONS,
  NOTICE_ACTIONS,
  WEIRD_DO_NOT_IGNORE_REPEATS,
  type WeirdAction,
} from "./weird_actions.ts";
import { type ConnWeirdState, WeirdSampler, type WeirdSamplingOptions } from "./weird_sampling.ts";

/** `peer_description` outside a cluster; a cluster node logs its node name. */
export const DEFAULT_WEIRD_PEER = "zeek";

/** `weird_ignore &create_expire=10min`. */
export const WEIRD_IGNORE_TIMEOUT_SEC = 600;

/** `did_log`/`did_notice &create_expire=1day`. */
export const WEIRD_DID_TIMEOUT_SEC = 86_400;

/**
 * How many entries each of `weird_ignore`, `did_log` and `did_notice` holds
 * before the oldest is forgotten. Zeek bounds them in time only; a
 * forgotten entry can let one more row through, never hide one.
 */
export const DEFAULT_WEIRD_TABLE_MAX_ENTRIES = 65_536;

/** A connection's id as weird.log prints it (after any role flip). */
export interface WeirdConnId {
  readonly origH: string;
  readonly origP: number;
  readonly respH: string;
  readonly respP: number;
  readonly proto: "tcp" | "udp" | "icmp" | "unknown_transport";
}

/** What a conn weird needs of its connection. */
export interface WeirdConnection {
  readonly uid: string;
  readonly id: WeirdConnId;
  /** The connection's own sampling counters (`new ConnWeirdState()`, kept with the connection). */
  readonly weirdState: ConnWeirdState;
}

/** The `Weird::Activity` notice a notice action raises. */
export interface WeirdNotice {
  readonly ts: number;
  /** `Weird::Activity`. */
  readonly note: "Weird::Activity";
  /** The weird's name. */
  readonly msg: string;
  /** The weird's `addl`, when it has one. */
  readonly sub?: string;
  readonly uid?: string;
  readonly id?: WeirdConnId;
}

/** What `WeirdLog` is told; everything is optional but `logs`. */
export interface WeirdLogOptions {
  /** Where `Weird::LOG` is registered (reused when already there) and written. */
  readonly logs: LogRegistry;
  /** The `peer` column (default `zeek`; a cluster node passes its name, as `Cluster::node`). */
  readonly peer?: string;
  /** `redef Weird::actions += {…}`: entries over Zeek's defaults. */
  readonly actions?: Iterable<readonly [string, WeirdAction]>;
  /** `Weird::sampling_*` over Zeek's defaults. */
  readonly sampling?: Partial<WeirdSamplingOptions>;
  /** `Weird::ignore_hosts`: (address, name) pairs never logged. */
  readonly ignoreHosts?: Iterable<readonly [string, string]>;
  /** The cap of each dedup table and of the sampler's timed counters. */
  readonly maxEntries?: number;
  /** Receives the notices of `ACTION_NOTICE*` weirds (weir has no notice.log yet). */
  readonly onNotice?: (notice: WeirdNotice) => void;
}

/**
 * Why a weird did or did not become a row: `sampled` (the core dropped it),
 * `ignored` (`ACTION_IGNORE` or `ignore_hosts`), `repeat` (in `weird_ignore`),
 * `limited` (already in `did_log`/`did_notice`), `logged`.
 */
export type WeirdOutcome = "sampled" | "ignored" | "repeat" | "limited" | "logged";

/** `Weird::Info`'s logged columns (`conn` and `identifier` are not `&log`). */
export function weirdInfoType(): ZeekType {
  return T.record("Weird::Info", [
    ["ts", T.time],
    ["uid", T.string, "optional"],
    ["id", connIdType(), "optional"],
    ["name", T.string],
    ["addl", T.string, "optional"],
    ["notice", T.bool],
    ["peer", T.string],
    ["source", T.string, "optional"],
  ]);
}

/** A weird after sampling, as `do_weird` receives it. */
interface WeirdInfo {
  readonly ts: number;
  readonly name: string;
  readonly uid: string | undefined;
  readonly id: WeirdConnId | undefined;
  readonly addl: string;
  readonly source: string;
  readonly identifier: string;
}

/** Counts since creation. */
export interface WeirdLogStats {
  /** Weirds reported (every call). */
  readonly reported: number;
  /** Rows written. */
  readonly logged: number;
}

/**
 * weird.log for one node: call `connWeird`, `expiredConnWeird`, `flowWeird`
 * or `netWeird` where Zeek's core calls `Reporter::Weird`.
 *
 * @example
 * ```ts
 * const weirds = new WeirdLog({ logs });
 * const conn = { uid: "CHhAvVGS1DHFjwGM9", id, weirdState: new ConnWeirdState() };
 * weirds.connWeird(packetTime, conn, "DNS_RR_unknown_type", "52", "DNS"); // "logged"
 * weirds.connWeird(packetTime, conn, "DNS_RR_unknown_type", "52", "DNS"); // "repeat"
 * ```
 */
export class WeirdLog {
  readonly stream: LogStream;
  readonly sampler: WeirdSampler;
  readonly #logs: LogRegistry;
  readonly #peer: string;
  readonly #actions: Map<string, WeirdAction>;
  readonly #ignoreHosts: Set<string>;
  readonly #ignore: ExpiringSet;
  readonly #didLog: ExpiringSet;
  readonly #didNotice: ExpiringSet;
  readonly #onNotice: ((notice: WeirdNotice) => void) | undefined;
  #reported = 0;
  #logged = 0;

  constructor(options: WeirdLogOptions) {
    const max = options.maxEntries ?? DEFAULT_WEIRD_TABLE_MAX_ENTRIES;
    this.#logs = options.logs;
    this.stream = options.logs.stream("Weird::LOG") ??
      options.logs.defineStream({
        id: "Weird::LOG",
        path: "weird",
        columns: weirdInfoType(),
        event: "Weird::log_weird",
      });
    this.#peer = options.peer ?? DEFAULT_WEIRD_PEER;
    this.#actions = new Map([...DEFAULT_WEIRD_ACTIONS, ...(options.actions ?? [])]);
    this.#ignoreHosts = new Set([...(options.ignoreHosts ?? [])].map(([h, n]) => pairKey(h, n)));
    this.sampler = new WeirdSampler(options.sampling, max);
    this.#ignore = new ExpiringSet(WEIRD_IGNORE_TIMEOUT_SEC, max);
    this.#didLog = new ExpiringSet(WEIRD_DID_TIMEOUT_SEC, max);
    this.#didNotice = new ExpiringSet(WEIRD_DID_TIMEOUT_SEC, max);
    this.#onNotice = options.onNotice;
  }

  /** The action for a name (`Weird::actions[name]`). */
  action(name: string): WeirdAction {
    return this.#actions.get(name) ?? DEFAULT_WEIRD_ACTION;
  }

  /** A weird on a live connection (`conn_weird`); `source` is the analyzer's name or "". */
  connWeird(
    now: number,
    conn: WeirdConnection,
    name: string,
    addl = "",
    source = "",
  ): WeirdOutcome {
    this.#reported++;
    if (!this.sampler.permitConn(conn.weirdState, name, now)) return "sampled";
    return this.#doWeird({
      ts: now,
      name,
      uid: conn.uid,
      id: conn.id,
      addl,
      source,
      identifier: idString(conn.id),
    });
  }

  /** A weird for a connection already removed (`expired_conn_weird`). */
  expiredConnWeird(
    now: number,
    uid: string,
    id: WeirdConnId,
    name: string,
    addl = "",
    source = "",
  ): WeirdOutcome {
    this.#reported++;
    const tuple = `${id.origH} ${id.respH} ${id.origP} ${id.respP} ${id.proto}`;
    if (!this.sampler.permitExpiredConn(tuple, name, now)) return "sampled";
    return this.#doWeird({ ts: now, name, uid, id, addl, source, identifier: idString(id) });
  }

  /**
   * A weird between two addresses with no connection (`flow_weird`), such
   * as a fragment problem: logged with ports `0/unknown` and no uid.
   */
  flowWeird(
    now: number,
    src: string,
    dst: string,
    name: string,
    addl = "",
    source = "",
  ): WeirdOutcome {
    this.#reported++;
    if (!this.sampler.permitFlow(src, dst, name, now)) return "sampled";
    const id: WeirdConnId = {
      origH: src,
      origP: 0,
      respH: dst,
      respP: 0,
      proto: "unknown_transport",
    };
    return this.#doWeird({
      ts: now,
      name,
      uid: undefined,
      id,
      addl,
      source,
      identifier: `${src} -> ${dst}`,
    });
  }

  /** A weird of the node, with no addresses (`net_weird`). */
  netWeird(now: number, name: string, addl = "", source = ""): WeirdOutcome {
    this.#reported++;
    if (!this.sampler.permitNet(name, now)) return "sampled";
    return this.#doWeird({
      ts: now,
      name,
      uid: undefined,
      id: undefined,
      addl,
      source,
      identifier: "",
    });
  }

  /** Expires the dedup tables and sampling counters up to `now` (every call does it too). */
  expire(now: number): void {
    this.sampler.expire(now);
    this.#ignore.expire(now);
    this.#didLog.expire(now);
    this.#didNotice.expire(now);
  }

  /** Entries held by the dedup tables and the sampler: what memory the log keeps. */
  get size(): number {
    return this.#ignore.size + this.#didLog.size + this.#didNotice.size + this.sampler.size;
  }

  stats(): WeirdLogStats {
    return { reported: this.#reported, logged: this.#logged };
  }

  /** `Weird::do_weird`, step for step. */
  #doWeird(w: WeirdInfo): WeirdOutcome {
    const action = this.action(w.name);
    if (action === "ACTION_IGNORE") return "ignored";
    const ignoreKey = pairKey(w.name, w.identifier);
    if (this.#ignore.has(ignoreKey, w.ts)) return "repeat";
    if (
      w.id !== undefined &&
      (this.#ignoreHosts.has(pairKey(w.id.origH, w.name)) ||
        this.#ignoreHosts.has(pairKey(w.id.respH, w.name)))
    ) {
      return "ignored";
    }
    const notice = NOTICE_ACTIONS.has(action);
    if (LIMITING_ACTIONS.has(action)) {
      let key = w.identifier;
      if (w.id !== undefined && action.endsWith("_PER_ORIG")) key = w.id.origH;
      else if (action.endsWith("_ONCE")) key = "";
      const table = notice ? this.#didNotice : this.#didLog;
      const limitKey = pairKey(w.name, key);
      if (table.has(limitKey, w.ts)) return "limited";
      table.add(limitKey, w.ts);
    }
    if (notice) {
      this.#onNotice?.({
        ts: w.ts,
        note: "Weird::Activity",
        msg: w.name,
        ...(w.addl === "" ? {} : { sub: w.addl }),
        ...(w.uid === undefined ? {} : { uid: w.uid }),
        ...(w.id === undefined ? {} : { id: w.id }),
      });
    }
    if (!WEIRD_DO_NOT_IGNORE_REPEATS.has(w.name)) this.#ignore.add(ignoreKey, w.ts);
    this.#logs.write(this.stream, [
      w.ts,
      w.uid,
      w.id?.origH,
      w.id?.origP,
      w.id?.respH,
      w.id?.respP,
      w.name,
      w.addl === "" ? undefined : w.addl,
      notice,
      this.#peer,
      w.source === "" ? undefined : w.source,
    ]);
    this.#logged++;
    return "logged";
  }
}

/** `id_string(c$id)`: `"%s:%d > %s:%d"`, ports without their protocol. */
export function idString(id: WeirdConnId): string {
  return `${id.origH}:${id.origP} > ${id.respH}:${id.respP}`;
}

/** Zeek's two-element set index; NUL cannot occur in a weird name or an address. */
function pairKey(a: string, b: string): string {
  return `${a}\0${b}`;
}
