/**
 * Connection weirds from every part of the pipeline (TCP tracking,
 * reassembly, the analyzers) with one sampling state per connection, as
 * Zeek keeps it on the `Connection`: the weirds of one connection share
 * their counters whoever raises them.
 *
 * @module
 */

import type { WeirdConnId, WeirdLog } from "./weird_log.ts";
import { ConnWeirdState } from "./weird_sampling.ts";

/** What the reporter reads of a live connection (a `ConnTracker` fits as it is). */
export interface WeirdConnections {
  uidOf(slot: number): string;
  endpointsOf(slot: number): WeirdConnId;
  readonly now: number;
}

/** Reports weirds of live connections by slot. */
export class ConnWeirds {
  readonly log: WeirdLog;
  readonly #conns: WeirdConnections;
  readonly #states = new Map<number, ConnWeirdState>();

  constructor(log: WeirdLog, connections: WeirdConnections) {
    this.log = log;
    this.#conns = connections;
  }

  /**
   * A weird of the connection in `slot`, at network time. `id` may be
   * passed when the caller already has it (it is formatted otherwise).
   */
  report(slot: number, name: string, addl = "", source = "", id?: WeirdConnId): void {
    let state = this.#states.get(slot);
    if (state === undefined) {
      state = new ConnWeirdState();
      this.#states.set(slot, state);
    }
    const conns = this.#conns;
    this.log.connWeird(
      conns.now,
      { uid: conns.uidOf(slot), id: id ?? conns.endpointsOf(slot), weirdState: state },
      name,
      addl,
      source,
    );
  }

  /** The connection in `slot` ended: its sampling state goes with it. */
  release(slot: number): void {
    this.#states.delete(slot);
  }
}
