/**
 * A script-level `set[string, string] &create_expire=…` on network time,
 * with a cap. Zeek sweeps such tables every `table_expire_interval` (10 s)
 * and drops an element once `created + timeout < now`; this drops it at the
 * first look past that instant, so an element can outlive Zeek's by up to
 * one sweep interval there, never here.
 *
 * @module
 */

export class ExpiringSet {
  readonly #created = new Map<string, number>();
  readonly #timeoutSec: number;
  readonly #maxSize: number;

  constructor(timeoutSec: number, maxSize: number) {
    this.#timeoutSec = timeoutSec;
    this.#maxSize = maxSize;
  }

  has(key: string, now: number): boolean {
    this.expire(now);
    return this.#created.has(key);
  }

  /** Adds `key` created at `now`; past the cap the oldest element goes first. */
  add(key: string, now: number): void {
    this.expire(now);
    if (this.#created.has(key)) return;
    this.#created.set(key, now);
    if (this.#created.size > this.#maxSize) {
      this.#created.delete(this.#created.keys().next().value!);
    }
  }

  /**
   * Drops what expired by `now`. Elements are only added when absent and
   * share one timeout, so insertion order is expiry order.
   */
  expire(now: number): void {
    for (const [key, created] of this.#created) {
      if (created + this.#timeoutSec >= now) return;
      this.#created.delete(key);
    }
  }

  get size(): number {
    return this.#created.size;
  }
}
