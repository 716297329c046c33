/**
 * The analyzers stage of the packet pipeline: where protocol analyzers
 * (DNS, HTTP, TLS, …, one folder each under `mod/analysis/`) meet the
 * connections the sessions stage tracks (DESIGN.md, decision 13).
 *
 * The pipeline hands the stage every packet the sessions stage counted in a
 * connection, with that connection's slot and direction, and tells it when
 * a connection ends. What happens in between is the stage's business, and
 * Zeek's rules say what it must be:
 *
 * - An analyzer attaches to a connection by Zeek's registered ports
 *   (`Analyzer::register_for_ports`) or when a dynamic protocol detection
 *   signature matches the first payload bytes; its confirmation names the
 *   connection's `service` in conn.log.
 * - TCP payload is reassembled into byte streams only for connections that
 *   have an analyzer attached; every other connection costs the stage one
 *   look at its slot, so the hot path stays as cheap as conn.log alone.
 * - Analyzers write their own log streams and raise their events through
 *   the same `LogRegistry` and `EventRegistry` the sessions stage uses.
 *
 * A pipeline without analyzers skips the stage entirely.
 *
 * @module
 */

import type { DecodedPacket } from "../../../capture/mod.ts";
import type { ConnTracker } from "../conn/mod.ts";
import type { ConnWeirds } from "../weird/mod.ts";

/** The protocol analyzers of one pipeline, as the pipeline drives them. */
export interface AnalyzerStage {
  /**
   * One packet the sessions stage counted in connection `slot` (of
   * `sessions.table`), from the originator when `isOrig`, at network time
   * `now`. Not called for packets the sessions stage discarded (not IP, bad
   * checksum). The packet and the bytes it points into are borrowed until
   * the next packet: copy what must live longer.
   */
  packet(packet: DecodedPacket, slot: number, isOrig: boolean, now: number): void;
  /**
   * Connection `slot` ends: called before its conn.log row is built and
   * before the slot can hold another connection, so analyzers finish their
   * work on it (flush a partial message, settle the service) and let go of
   * its state here.
   */
  remove(slot: number): void;
  /** conn.log's `service` of a connection, asked while its row is built (after `remove`). */
  serviceOf?(slot: number): string | undefined;
  /** The analyzers' session timer of a connection (`ConnTracker.armAnalyzerTimer`) is due. */
  timer?(slot: number, now: number): void;
  /**
   * Whether the stage reassembles this TCP connection's payload (it then
   * raises the payload's weirds, `truncated_tcp_payload`, itself).
   */
  reassembles?(slot: number): boolean;
  /** The input ended and every connection was removed: analyzers finish what outlives them. */
  finish?(): void;
}

/**
 * Builds a pipeline's analyzers stage once its sessions stage exists:
 * analyzers read uids, addresses and ports of connections from it, and
 * report their weirds through the pipeline's connection weirds.
 */
export type AnalyzerStageFactory = (
  sessions: ConnTracker,
  weirds: ConnWeirds | undefined,
) => AnalyzerStage;
