/**
 * Zeek's cluster pools: named groups of nodes with a topic each, addressed
 * by highest-random-weight or round-robin over the members that are alive.
 *
 * @module
 */

import type { NodeType } from "../../config/mod.ts";
import { nodeTopic } from "../bus/mod.ts";
import { fnv1a32, hrwPick } from "./hrw.ts";

/** A pool declaration, as Zeek's `Cluster::PoolSpec`. */
export interface PoolSpec {
  readonly topic: string;
  readonly nodeType: NodeType;
  readonly maxNodes?: number;
  readonly exclusive?: boolean;
}

interface PoolMember {
  readonly name: string;
  readonly alias: string;
  readonly siteId: number;
  readonly topic: string;
  alive: boolean;
}

/** One pool and its members' liveness. */
export class Pool {
  readonly spec: PoolSpec;
  #members: PoolMember[] = [];
  #rrIndex = new Map<string, number>();

  constructor(spec: PoolSpec) {
    this.spec = spec;
  }

  /** Adds a member with Zeek's site id `fnv1a32(name + ".<c>")`, bumping c on a collision. */
  add(name: string, alive: boolean): void {
    if (this.#members.some((m) => m.name === name)) return;
    if (this.spec.maxNodes !== undefined && this.#members.length >= this.spec.maxNodes) return;
    for (let c = 0;; c++) {
      const alias = `${name}.${c}`;
      const siteId = fnv1a32(alias);
      if (this.#members.some((m) => m.siteId === siteId)) continue;
      this.#members.push({ name, alias, siteId, topic: nodeTopic(name), alive });
      return;
    }
  }

  has(name: string): boolean {
    return this.#members.some((m) => m.name === name);
  }

  setAlive(name: string, alive: boolean): void {
    const member = this.#members.find((m) => m.name === name);
    if (member !== undefined) member.alive = alive;
  }

  get aliveCount(): number {
    return this.#members.reduce((n, m) => n + (m.alive ? 1 : 0), 0);
  }

  get members(): readonly { name: string; alive: boolean; siteId: number }[] {
    return this.#members.map(({ name, alive, siteId }) => ({ name, alive, siteId }));
  }

  /** The topic of the live member that wins `key` by HRW, or undefined when none is alive. */
  hrwTopic(key: string): string | undefined {
    const alive = this.#members.filter((m) => m.alive);
    const i = hrwPick(alive.map((m) => m.siteId), key);
    return i < 0 ? undefined : alive[i]!.topic;
  }

  /** The next live member's topic for `key` in round-robin order, skipping dead members. */
  rrTopic(key: string): string | undefined {
    const n = this.#members.length;
    if (n === 0) return undefined;
    const start = (this.#rrIndex.get(key) ?? 0) % n;
    let i = start;
    do {
      const member = this.#members[i]!;
      i = (i + 1) % n;
      if (member.alive) {
        this.#rrIndex.set(key, i);
        return member.topic;
      }
    } while (i !== start);
    return undefined;
  }
}
