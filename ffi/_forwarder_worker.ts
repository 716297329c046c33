/**
 * The thread of `ZmqCheckedForwarder`: the central XSUB⇄XPUB forwarder of
 * `zmq_proxy`, with one check `zmq_proxy` cannot make. A message from a
 * peer that a ZAP handler named (its `User-Id`) is forwarded only when its
 * sender frame (the second) starts with `<prefix><User-Id><suffix>` and not
 * with that of a longer name (`worker-1_b` is not `worker-1`); trusted user
 * ids and peers without one (the manager's own host, over IPC) may send any
 * sender. The thread is this loop's alone: it blocks in `zmq_poll` and gives
 * its event loop a turn only every YIELD_MS, for a new list of names.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { LIBZMQ, openLibrary } from "./libraries.ts";

const SYMBOLS = {
  zmq_poll: { parameters: ["buffer", "i32", "i64"], result: "i32" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_send: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_size: { parameters: ["buffer"], result: "usize" },
  zmq_msg_more: { parameters: ["buffer"], result: "i32" },
  zmq_msg_gets: { parameters: ["buffer", "buffer"], result: "pointer" },
} as const satisfies Deno.ForeignLibraryInterface;

/** What the main thread hands over. */
export interface ForwarderWorkerStart {
  readonly xsub: bigint;
  readonly xpub: bigint;
  readonly prefix: string;
  readonly suffix: string;
  readonly trusted: readonly string[];
  readonly names: readonly string[];
  /** Int32 [0]: stop flag; BigInt64 from byte 8: forwarded, refused. */
  readonly shared: SharedArrayBuffer;
}

const ZMQ_DONTWAIT = 1;
const ZMQ_SNDMORE = 2;
const ZMQ_POLLIN = 1;
const EINTR = 4;
const EAGAIN = 11;
const POLL_MS = 100n;
const MAX_PARTS = 16;
const BATCH = 256;
const YIELD_MS = 250;

self.onmessage = (event: MessageEvent<ForwarderWorkerStart | { names: string[] }>) => {
  const data = event.data;
  if ("names" in data && !("xsub" in data)) {
    names = data.names;
    return;
  }
  const start = data as ForwarderWorkerStart;
  names = start.names;
  void run(start).finally(() => {
    self.postMessage({ done: true });
    self.close();
  });
};

let names: readonly string[] = [];

async function run(start: ForwarderWorkerStart): Promise<void> {
  const lib = openLibrary(LIBZMQ, SYMBOLS);
  const z = lib.symbols;
  const xsub = Deno.UnsafePointer.create(start.xsub)!;
  const xpub = Deno.UnsafePointer.create(start.xpub)!;
  const stop = new Int32Array(start.shared, 0, 1);
  const counters = new BigInt64Array(start.shared, 8, 2);
  const trusted = new Set(start.trusted);
  const encoder = new TextEncoder();
  const userIdName = encoder.encode("User-Id\0");
  // zmq_pollitem_t { void *socket; int fd; short events; short revents; }, twice.
  const items = new ArrayBuffer(32);
  const view = new DataView(items);
  view.setBigUint64(0, start.xsub, true);
  view.setInt16(12, ZMQ_POLLIN, true);
  view.setBigUint64(16, start.xpub, true);
  view.setInt16(28, ZMQ_POLLIN, true);
  const pollItems = new Uint8Array(items);
  const parts = Array.from({ length: MAX_PARTS }, () => new BigUint64Array(8));
  const expected = new Map<string, { own: Uint8Array; longer: Uint8Array[] }>();

  /** The sender frames `userId` may use: its prefix, and its longer namesakes' to refuse. */
  const prefixesOf = (userId: string): { own: Uint8Array; longer: Uint8Array[] } => {
    let entry = expected.get(userId);
    if (entry === undefined) {
      entry = {
        own: encoder.encode(`${start.prefix}${userId}${start.suffix}`),
        longer: names.filter((n) => n !== userId && n.startsWith(userId + start.suffix))
          .map((n) => encoder.encode(`${start.prefix}${n}${start.suffix}`)),
      };
      expected.set(userId, entry);
    }
    return entry;
  };
  let namesSeen = names;

  const startsWith = (msg: BigUint64Array, prefix: Uint8Array): boolean => {
    const size = Number(z.zmq_msg_size(msg));
    if (size < prefix.length) return false;
    const data = z.zmq_msg_data(msg);
    if (data === null) return false;
    let bytes = heads.get(prefix.length);
    if (bytes === undefined) heads.set(prefix.length, bytes = new Uint8Array(prefix.length));
    Deno.UnsafePointerView.copyInto(data, bytes);
    for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
    return true;
  };
  const heads = new Map<number, Uint8Array>();

  // Every part is kept initialised: zmq_msg_send leaves a sent one empty and
  // ready, and whatever closes one initialises it again.
  for (const msg of parts) z.zmq_msg_init(msg);
  const drop = (count: number): void => {
    for (let i = 0; i < count; i++) {
      z.zmq_msg_close(parts[i]!);
      z.zmq_msg_init(parts[i]!);
    }
  };

  const scratch = new BigUint64Array(8);
  /**
   * Receives one whole message from `from` into `parts`; returns its part
   * count, 0 when none is ready, -1 when it was dropped (more than
   * MAX_PARTS parts, or its socket failed mid-message).
   */
  const receive = (from: Deno.PointerObject): number => {
    let count = 0;
    let overflow = false;
    for (;;) {
      const msg = count < MAX_PARTS ? parts[count]! : scratch;
      if (msg === scratch) z.zmq_msg_init(scratch);
      const rc = z.zmq_msg_recv(msg, from, count === 0 ? ZMQ_DONTWAIT : 0);
      if (rc < 0) {
        const errno = z.zmq_errno();
        if (msg === scratch) z.zmq_msg_close(scratch);
        if (errno === EINTR) continue;
        if (count === 0 && errno === EAGAIN) return 0;
        drop(Math.min(count, MAX_PARTS));
        return -1;
      }
      const more = z.zmq_msg_more(msg) !== 0;
      if (msg === scratch) {
        z.zmq_msg_close(scratch);
        overflow = true;
      }
      count++;
      if (!more) break;
    }
    if (!overflow) return count;
    drop(MAX_PARTS);
    return -1;
  };

  const send = (to: Deno.PointerObject, count: number): void => {
    for (let i = 0; i < count; i++) {
      const flags = i < count - 1 ? ZMQ_SNDMORE : 0;
      while (z.zmq_msg_send(parts[i]!, to, flags) < 0) {
        if (z.zmq_errno() !== EINTR) {
          z.zmq_msg_close(parts[i]!);
          z.zmq_msg_init(parts[i]!);
          break;
        }
      }
    }
  };

  let lastYield = performance.now();
  while (Atomics.load(stop, 0) === 0) {
    // Now and then the event loop gets a turn, for a new list of names.
    if (performance.now() - lastYield > YIELD_MS) {
      await new Promise((resolve) => setTimeout(resolve, 0));
      lastYield = performance.now();
    }
    if (names !== namesSeen) {
      expected.clear();
      namesSeen = names;
    }
    const ready = z.zmq_poll(pollItems, 2, POLL_MS);
    if (ready < 0) {
      if (z.zmq_errno() === EINTR) continue;
      break;
    }
    // Events: nodes' publications, checked.
    let forwarded = 0, refused = 0;
    for (let n = 0; n < BATCH; n++) {
      const count = receive(xsub);
      if (count === 0) break;
      if (count < 0) {
        refused++;
        continue;
      }
      const id = z.zmq_msg_gets(parts[0]!, userIdName);
      const userId = id === null ? "" : Deno.UnsafePointerView.getCString(id);
      let ok = true;
      if (userId !== "" && !trusted.has(userId)) {
        const { own, longer } = prefixesOf(userId);
        ok = count >= 2 && startsWith(parts[1]!, own);
        for (let i = 0; ok && i < longer.length; i++) ok = !startsWith(parts[1]!, longer[i]!);
      }
      if (ok) {
        send(xpub, count);
        forwarded++;
      } else {
        drop(count);
        refused++;
      }
    }
    if (forwarded > 0) counters[0] = counters[0]! + BigInt(forwarded);
    if (refused > 0) counters[1] = counters[1]! + BigInt(refused);
    // Subscriptions: nodes' XSUBs upstream, as zmq_proxy forwards them.
    for (let n = 0; n < BATCH; n++) {
      const count = receive(xpub);
      if (count === 0) break;
      if (count < 0) continue;
      send(xsub, count);
    }
  }
  for (const msg of parts) z.zmq_msg_close(msg);
  lib.close();
}
