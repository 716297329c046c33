/**
 * The core's weird sampling, before any script sees a weird (Z:
 * src/Reporter.cc `Reporter::Weird` and its `Permit*Weird`, src/WeirdState.cc
 * `PermitWeird`): per counter, the first `threshold` occurrences pass, then
 * only every `rate`-th. Conn weirds count per (connection, name) in a state
 * the connection owns and restart `duration` after the threshold was
 * crossed; net weirds count per name, flow weirds per ordered address pair
 * and name, expired-conn weirds per 5-tuple and name, each of those three
 * reset by a timer `duration` after its first occurrence. Everything runs on
 * network time.
 *
 * @module
 */

/** `Weird::sampling_*` (init-bare.zeek). */
export interface WeirdSamplingOptions {
  /** Occurrences that always pass (`Weird::sampling_threshold`). */
  readonly threshold: number;
  /** Past the threshold, every `rate`-th passes; 0 lets none pass (`Weird::sampling_rate`). */
  readonly rate: number;
  /** Seconds of network time before a counter starts over (`Weird::sampling_duration`). */
  readonly durationSec: number;
  /** Names never sampled (`Weird::sampling_whitelist`). */
  readonly whitelist: ReadonlySet<string>;
  /** Names counted once for the whole node, like net weirds (`Weird::sampling_global_list`). */
  readonly globalList: ReadonlySet<string>;
}

/** Zeek's defaults: 25, 1000, 10 min, both lists empty. */
export const DEFAULT_WEIRD_SAMPLING: WeirdSamplingOptions = Object.freeze({
  threshold: 25,
  rate: 1000,
  durationSec: 600,
  whitelist: new Set<string>(),
  globalList: new Set<string>(),
});

/**
 * Counters kept per node for net, flow and expired-connection weirds: how
 * many of each before the sampler forgets the oldest. Zeek has no cap (its
 * timers bound the tables in time only); a weird storm from many hosts
 * must not grow memory without bound, and forgetting a counter only lets a
 * few more weirds through.
 */
export const DEFAULT_WEIRD_SAMPLER_MAX_KEYS = 65_536;

/**
 * A connection's weird counters (Zeek's `Connection::weird_state`), one per
 * name. The connection owns it and drops it with itself; the names are
 * Zeek's fixed vocabulary, so it stays small.
 */
export class ConnWeirdState {
  readonly #names = new Map<string, { count: number; start: number }>();

  /** `detail::PermitWeird` for one occurrence of `name` at network time `now`. */
  permit(name: string, now: number, sampling: WeirdSamplingOptions): boolean {
    let state = this.#names.get(name);
    if (state === undefined) {
      state = { count: 0, start: 0 };
      this.#names.set(name, state);
    }
    state.count++;
    if (state.count <= sampling.threshold) return true;
    if (state.count === sampling.threshold + 1) state.start = now;
    else if (now > state.start + sampling.durationSec) {
      state.start = 0;
      state.count = 1;
      return true;
    }
    return aboveThreshold(state.count, sampling);
  }
}

interface TimedCounters {
  /** Network time at which Zeek's reset timer for this key fires. */
  readonly resetAt: number;
  readonly counts: Map<string, number>;
}

/** The node's sampler: the global lists and the timed net, flow and expired-conn counters. */
export class WeirdSampler {
  readonly options: WeirdSamplingOptions;
  readonly #maxKeys: number;
  readonly #net = new Map<string, TimedCounters>();
  readonly #flow = new Map<string, TimedCounters>();
  readonly #expiredConn = new Map<string, TimedCounters>();

  constructor(
    options: Partial<WeirdSamplingOptions> = {},
    maxKeys: number = DEFAULT_WEIRD_SAMPLER_MAX_KEYS,
  ) {
    this.options = Object.freeze({ ...DEFAULT_WEIRD_SAMPLING, ...options });
    this.#maxKeys = maxKeys;
  }

  /** `Reporter::Weird(Connection*, …)`: the global lists, then the connection's own counter. */
  permitConn(state: ConnWeirdState, name: string, now: number): boolean {
    const global = this.#checkGlobalLists(name, now);
    return global ?? state.permit(name, now, this.options);
  }

  /** `Reporter::Weird(name, …)`: a weird with no connection or flow. */
  permitNet(name: string, now: number): boolean {
    if (this.options.whitelist.has(name)) return true;
    return this.#permitTimed(this.#net, name, name, now);
  }

  /** `Reporter::Weird(orig, resp, …)`: counted per ordered (src, dst) pair. */
  permitFlow(src: string, dst: string, name: string, now: number): boolean {
    const global = this.#checkGlobalLists(name, now);
    return global ?? this.#permitTimed(this.#flow, `${src} ${dst}`, name, now);
  }

  /** `Reporter::Weird(conn_id, uid, …)`: a weird for a connection already removed. */
  permitExpiredConn(tuple: string, name: string, now: number): boolean {
    const global = this.#checkGlobalLists(name, now);
    return global ?? this.#permitTimed(this.#expiredConn, tuple, name, now);
  }

  /** Fires the reset timers due at `now` (the permits do it too). */
  expire(now: number): void {
    expireFront(this.#net, now);
    expireFront(this.#flow, now);
    expireFront(this.#expiredConn, now);
  }

  /** Keys held (net names + flow pairs + expired-conn tuples). */
  get size(): number {
    return this.#net.size + this.#flow.size + this.#expiredConn.size;
  }

  /** `CheckGlobalWeirdLists`: true/false when a list decides, undefined when neither does. */
  #checkGlobalLists(name: string, now: number): boolean | undefined {
    if (this.options.whitelist.has(name)) return true;
    if (this.options.globalList.has(name)) return this.#permitTimed(this.#net, name, name, now);
    return undefined;
  }

  #permitTimed(
    table: Map<string, TimedCounters>,
    key: string,
    name: string,
    now: number,
  ): boolean {
    expireFront(table, now);
    let entry = table.get(key);
    if (entry === undefined) {
      // Zeek arms the reset timer when the key's first weird arrives.
      entry = { resetAt: now + this.options.durationSec, counts: new Map() };
      table.set(key, entry);
      if (table.size > this.#maxKeys) table.delete(table.keys().next().value!);
    }
    const count = (entry.counts.get(name) ?? 0) + 1;
    entry.counts.set(name, count);
    return count <= this.options.threshold || aboveThreshold(count, this.options);
  }
}

function aboveThreshold(count: number, sampling: WeirdSamplingOptions): boolean {
  return sampling.rate > 0 && (count - sampling.threshold) % sampling.rate === 0;
}

/**
 * Every key's timer runs the same duration from its creation, so the map's
 * insertion order is its firing order: expiry only looks at the front.
 */
function expireFront(table: Map<string, TimedCounters>, now: number): void {
  for (const [key, entry] of table) {
    // A timer fires once network time reaches it, before the packet is processed.
    if (entry.resetAt > now) return;
    table.delete(key);
  }
}
