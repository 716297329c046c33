/**
 * A stand-in for the connection an analyzer runs on, for analyzer tests
 * that drive one analyzer without the packet pipeline: it answers the
 * analyzer's questions from fixed values and records what the analyzer
 * tells the framework (confirmations, violations, weirds, file weirds,
 * protocol detection, disable, flips, history letters, idle expiry).
 * Subclass it to answer otherwise (a child analyzer, a partial connection)
 * or to record elsewhere.
 *
 * @module
 */

import type { AnalyzerHost, ChildAnalyzer, ConnEndpoints } from "../mod/analysis/framework/mod.ts";
import type { EventRegistry } from "../mod/bus/mod.ts";
import type { LogRegistry } from "../mod/log/mod.ts";
import { parseAddr, type ZeekValue } from "../zeek/mod.ts";

/** A weird as an analyzer raised it. */
export interface RecordedWeird {
  readonly name: string;
  readonly addl: string | undefined;
  readonly source: string | undefined;
}

export interface RecordingHostOptions {
  readonly uid: string;
  readonly logs: LogRegistry;
  readonly id: ConnEndpoints;
  readonly events?: EventRegistry | undefined;
  /** Network time now and at the connection's start (default 0). */
  readonly time?: number;
  readonly startTime?: number;
  /** What `isLocal` answers (default undefined: no Site::local_nets). */
  readonly local?: boolean;
}

/** A connection that records what its analyzer does. */
export class RecordingHost implements AnalyzerHost {
  readonly uid: string;
  readonly logs: LogRegistry;
  readonly events: EventRegistry | undefined;
  /** Network time; the test advances it. */
  time: number;
  /** What `partial` answers. */
  isPartial = false;
  confirmations = 0;
  readonly violations: string[] = [];
  readonly weirds: RecordedWeird[] = [];
  detected = false;
  disabled = false;
  flips = 0;
  /** The letters `history` and `flip` added, in order. */
  historyText = "";
  expire: { every: number; idle: number; due: number } | undefined;
  #id: ConnEndpoints;
  readonly #startTime: number;
  readonly #local: boolean | undefined;

  constructor(options: RecordingHostOptions) {
    this.uid = options.uid;
    this.logs = options.logs;
    this.events = options.events;
    this.#id = options.id;
    this.time = options.time ?? 0;
    this.#startTime = options.startTime ?? 0;
    this.#local = options.local;
  }

  /** Whether the analyzer confirmed its protocol at least once. */
  get confirmed(): boolean {
    return this.confirmations > 0;
  }

  endpoints(): ConnEndpoints {
    return this.#id;
  }
  respIsMulticast(): boolean {
    const a = parseAddr(this.#id.respH);
    const v4 = a.subarray(0, 12).every((b, i) => b === (i < 10 ? 0 : 0xff));
    return v4 ? (a[12]! & 0xf0) === 0xe0 : a[0] === 0xff;
  }
  now(): number {
    return this.time;
  }
  startTime(): number {
    return this.#startTime;
  }
  isLocal(): boolean | undefined {
    return this.#local;
  }
  partial(): boolean {
    return this.isPartial;
  }
  connection(): ZeekValue {
    return { uid: this.uid, id: { ...this.#id } };
  }
  confirm(): void {
    this.confirmations++;
  }
  violate(reason: string): void {
    this.violations.push(reason);
  }
  weird(name: string, addl?: string, source?: string): void {
    this.weirds.push({ name, addl, source });
  }
  fileWeird(fuid: string, name: string, addl?: string): void {
    this.weirds.push({
      name,
      addl: addl === undefined ? fuid : `${fuid}: ${addl}`,
      source: "file",
    });
  }
  detectProtocol(): void {
    this.detected = true;
  }
  startChild(_name: string): ChildAnalyzer | undefined {
    return undefined;
  }
  disable(): void {
    this.disabled = true;
  }
  flip(): void {
    const id = this.#id;
    this.#id = {
      origH: id.respH,
      origP: id.respP,
      respH: id.origH,
      respP: id.origP,
      proto: id.proto,
    };
    this.flips++;
    this.historyText += "^";
  }
  history(letter: string): void {
    if (!this.historyText.includes(letter)) this.historyText += letter;
  }
  expireWhenIdle(everySec: number, idleSec: number): void {
    this.expire = { every: everySec, idle: idleSec, due: this.time + everySec };
  }
}
