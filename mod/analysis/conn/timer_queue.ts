/**
 * A min-heap of timers in typed arrays: each entry is a time, a connection
 * slot and a tag (what the timer is for, plus a generation that says
 * whether it is still wanted). Cancelling is lazy, as Zeek's own timer
 * manager effectively is for rescheduled timers: the owner bumps a
 * generation and ignores stale entries when they come out.
 *
 * Entries with equal times come out in an order fixed by the sequence of
 * pushes, so a trace always fires its timers the same way; which of two
 * equal-time timers fires first only changes the order rows are written.
 *
 * @module
 */

const INITIAL_CAPACITY = 1024;

/** Timers ordered by time; `pop()` fills `slot`, `tag` and `time` of the earliest. */
export class TimerQueue {
  #times: Float64Array;
  #slots: Uint32Array;
  #tags: Uint32Array;
  #size = 0;
  /** The popped entry's slot, tag and time. */
  slot = 0;
  tag = 0;
  time = 0;

  constructor(capacity = INITIAL_CAPACITY) {
    const n = Math.max(16, capacity);
    this.#times = new Float64Array(n);
    this.#slots = new Uint32Array(n);
    this.#tags = new Uint32Array(n);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the queue's arrays. */
  get byteLength(): number {
    return this.#times.length * 16;
  }

  /** The earliest time, or Infinity when empty. */
  peekTime(): number {
    return this.#size === 0 ? Infinity : this.#times[0]!;
  }

  push(time: number, slot: number, tag: number): void {
    if (this.#size === this.#times.length) this.#grow();
    const times = this.#times;
    const slots = this.#slots;
    const tags = this.#tags;
    let i = this.#size++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (pt <= time) break;
      times[i] = pt;
      slots[i] = slots[parent]!;
      tags[i] = tags[parent]!;
      i = parent;
    }
    times[i] = time;
    slots[i] = slot;
    tags[i] = tag;
  }

  /** Removes the earliest entry into `slot`/`tag`/`time`; false when empty. */
  pop(): boolean {
    const n = this.#size;
    if (n === 0) return false;
    const times = this.#times;
    const slots = this.#slots;
    const tags = this.#tags;
    this.time = times[0]!;
    this.slot = slots[0]!;
    this.tag = tags[0]!;
    const last = n - 1;
    this.#size = last;
    if (last === 0) return true;
    const t = times[last]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= last) break;
      const right = child + 1;
      if (
        right < last &&
        times[right]! < times[child]!
      ) child = right;
      const ct = times[child]!;
      if (t <= ct) break;
      times[i] = ct;
      slots[i] = slots[child]!;
      tags[i] = tags[child]!;
      i = child;
    }
    times[i] = t;
    slots[i] = slots[last]!;
    tags[i] = tags[last]!;
    return true;
  }

  clear(): void {
    this.#size = 0;
  }

  #grow(): void {
    const n = this.#times.length * 2;
    const times = new Float64Array(n);
    const slots = new Uint32Array(n);
    const tags = new Uint32Array(n);
    times.set(this.#times);
    slots.set(this.#slots);
    tags.set(this.#tags);
    this.#times = times;
    this.#slots = slots;
    this.#tags = tags;
  }
}
