/**
 * Typed, owned wrappers over libzmq 4.3 through `Deno.dlopen`.
 *
 * Threading model: every call on a ZeroMQ socket happens on the JS thread,
 * because libzmq sockets are not thread-safe. Waiting happens on a native
 * thread, but only on file descriptors: each socket's `ZMQ_FD` is polled by
 * libc `poll()` in a nonblocking FFI call (see `ZmqReactor`), so one wait is
 * in flight per process and never a call on a socket. The one exception is
 * the forwarder, whose two sockets are handed to `zmq_proxy_steerable` on a
 * native thread and never touched from JS again.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { FdWaiter } from "./libc.ts";
import { LIBZMQ, openLibrary } from "./libraries.ts";

const SYMBOLS = {
  zmq_version: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  zmq_errno: { parameters: [], result: "i32" },
  zmq_strerror: { parameters: ["i32"], result: "pointer" },
  zmq_ctx_new: { parameters: [], result: "pointer" },
  zmq_ctx_set: { parameters: ["pointer", "i32", "i32"], result: "i32" },
  zmq_ctx_shutdown: { parameters: ["pointer"], result: "i32" },
  zmq_ctx_term: { parameters: ["pointer"], result: "i32", nonblocking: true },
  zmq_socket: { parameters: ["pointer", "i32"], result: "pointer" },
  zmq_close: { parameters: ["pointer"], result: "i32" },
  zmq_setsockopt: { parameters: ["pointer", "i32", "buffer", "usize"], result: "i32" },
  zmq_getsockopt: { parameters: ["pointer", "i32", "buffer", "buffer"], result: "i32" },
  zmq_bind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_connect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_unbind: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_disconnect: { parameters: ["pointer", "buffer"], result: "i32" },
  zmq_send: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_recv: { parameters: ["pointer", "buffer", "usize", "i32"], result: "i32" },
  zmq_msg_init: { parameters: ["buffer"], result: "i32" },
  zmq_msg_recv: { parameters: ["buffer", "pointer", "i32"], result: "i32" },
  zmq_msg_data: { parameters: ["buffer"], result: "pointer" },
  zmq_msg_close: { parameters: ["buffer"], result: "i32" },
  zmq_msg_gets: { parameters: ["buffer", "buffer"], result: "pointer" },
  zmq_curve_keypair: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_curve_public: { parameters: ["buffer", "buffer"], result: "i32" },
  zmq_has: { parameters: ["buffer"], result: "i32" },
  zmq_socket_monitor: { parameters: ["pointer", "buffer", "i32"], result: "i32" },
  zmq_proxy_steerable: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The raw symbols, for this folder only (the forwarders). */
export function zmq(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openLibrary(LIBZMQ, SYMBOLS);
  return lib.symbols;
}

/** libzmq's version as `[major, minor, patch]`; throws `LibraryMissingError` when absent. */
export function zmqVersion(): readonly [number, number, number] {
  const major = new Int32Array(1), minor = new Int32Array(1), patch = new Int32Array(1);
  zmq().zmq_version(major, minor, patch);
  return [major[0]!, minor[0]!, patch[0]!];
}

const ZMQ_HAUSNUMERO = 156384712;
const EADDRINUSE = 98;
const EADDRNOTAVAIL = 99;
/** errno values callers branch on. */
export const ZMQ_ERRNO = Object.freeze({
  EAGAIN: 11,
  EINTR: 4,
  ETERM: ZMQ_HAUSNUMERO + 53,
});

/** A failing libzmq call, with libzmq's own message. */
export class ZmqError extends Error {
  readonly errno: number;
  /** A taken port or a foreign address: the operator's to fix, reported in one line. */
  operatorCaused = false;
  constructor(action: string, errno: number) {
    const p = zmq().zmq_strerror(errno);
    const text = p === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(p);
    super(`${action}: ${text}`);
    this.name = "ZmqError";
    this.errno = errno;
  }
}

/** A ZeroMQ TCP endpoint; IPv6 addresses go in brackets. */
export function tcpEndpoint(address: string, port: number): string {
  return address.includes(":") ? `tcp://[${address}]:${port}` : `tcp://${address}:${port}`;
}

/** How long `ZmqContext.close()` waits for zmq_ctx_term. */
export const DEFAULT_TERM_TIMEOUT_MS = 2000;

const SOCKET_TYPES = Object.freeze({
  pair: 0,
  pub: 1,
  sub: 2,
  req: 3,
  rep: 4,
  dealer: 5,
  router: 6,
  pull: 7,
  push: 8,
  xpub: 9,
  xsub: 10,
});
export type ZmqSocketType = keyof typeof SOCKET_TYPES;

/** Integer socket options weir sets (values from zmq.h of libzmq 4.3). */
export const ZMQ_OPTION = Object.freeze({
  SUBSCRIBE: 6,
  UNSUBSCRIBE: 7,
  SNDBUF: 11,
  RCVBUF: 12,
  LINGER: 17,
  RECONNECT_IVL: 18,
  RECONNECT_IVL_MAX: 21,
  MAXMSGSIZE: 22,
  SNDHWM: 23,
  RCVHWM: 24,
  IMMEDIATE: 39,
  XPUB_VERBOSE: 40,
  IPV6: 42,
  XPUB_NODROP: 69,
  HEARTBEAT_IVL: 75,
  HEARTBEAT_TTL: 76,
  HEARTBEAT_TIMEOUT: 77,
  XPUB_VERBOSER: 78,
  HANDSHAKE_IVL: 66,
  ZAP_ENFORCE_DOMAIN: 93,
});

const ZMQ_CURVE_SERVER = 47;
const ZMQ_CURVE_PUBLICKEY = 48;
const ZMQ_CURVE_SECRETKEY = 49;
const ZMQ_CURVE_SERVERKEY = 50;
const ZMQ_ZAP_DOMAIN = 55;
const ZMQ_MECHANISM = 43;

/** A CURVE keypair in Z85 text (40 characters each), as zmq_curve_keypair makes it. */
export interface CurveKeyPair {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** Whether this libzmq was built with CURVE (libsodium): Debian's libzmq5 is. */
export function zmqHasCurve(): boolean {
  return zmq().zmq_has(cString("curve")) === 1;
}

/** A fresh CURVE keypair; throws when libzmq has no CURVE. */
export function curveKeyPair(): CurveKeyPair {
  const pub = new Uint8Array(41), secret = new Uint8Array(41);
  if (zmq().zmq_curve_keypair(pub, secret) !== 0) {
    throw new ZmqError(
      "Cannot make a CURVE keypair (is libzmq built with libsodium?)",
      zmq().zmq_errno(),
    );
  }
  const text = (b: Uint8Array) => new TextDecoder().decode(b.subarray(0, 40));
  return { publicKey: text(pub), secretKey: text(secret) };
}

/** The public key of a Z85 secret key. */
export function curvePublicKey(secretKey: string): string {
  const pub = new Uint8Array(41);
  if (zmq().zmq_curve_public(pub, cString(secretKey)) !== 0) {
    throw new ZmqError("Cannot derive a CURVE public key", zmq().zmq_errno());
  }
  return new TextDecoder().decode(pub.subarray(0, 40));
}

/** True for a 40-character Z85 key. */
export function isZ85Key(text: string): boolean {
  return /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/.test(text);
}

/** Z85 text of a 32-byte binary key (ZAP hands keys over binary). */
export function z85Encode(key: Uint8Array): string {
  const out: string[] = [];
  for (let i = 0; i < key.length; i += 4) {
    let value = ((key[i]! << 24) >>> 0) + (key[i + 1]! << 16) + (key[i + 2]! << 8) + key[i + 3]!;
    const chunk: string[] = [];
    for (let j = 0; j < 5; j++) {
      chunk.unshift(Z85[value % 85]!);
      value = Math.floor(value / 85);
    }
    out.push(chunk.join(""));
  }
  return out.join("");
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
const ZMQ_RCVMORE = 13;
const ZMQ_FD = 14;
const ZMQ_EVENTS = 15;
const ZMQ_LAST_ENDPOINT = 32;
const ZMQ_IO_THREADS = 1;
const ZMQ_DONTWAIT = 1;
const ZMQ_SNDMORE = 2;
const ZMQ_POLLIN = 1;
const ZMQ_POLLOUT = 2;

/** Frames longer than this are dropped on receipt and counted as oversized. */
export const DEFAULT_MAX_FRAME_BYTES = 64 * 1024 * 1024;
const INITIAL_SCRATCH_BYTES = 1024 * 1024;

type Pointer = NonNullable<Deno.PointerValue>;
declare const contextBrand: unique symbol;
declare const socketBrand: unique symbol;
type ContextPointer = Pointer & { readonly [contextBrand]: true };
type SocketPointer = Pointer & { readonly [socketBrand]: true };

const encoder = new TextEncoder();
function cString(text: string): Uint8Array {
  return encoder.encode(text + "\0");
}

/** A ZeroMQ context; owns its sockets. */
export class ZmqContext implements AsyncDisposable {
  #ptr: ContextPointer | null;
  #sockets = new Set<ZmqSocket>();

  constructor(options: { ioThreads?: number } = {}) {
    const p = zmq().zmq_ctx_new();
    if (p === null) throw new ZmqError("Cannot create a ZeroMQ context", zmq().zmq_errno());
    this.#ptr = p as ContextPointer;
    if (options.ioThreads !== undefined) {
      zmq().zmq_ctx_set(this.#ptr, ZMQ_IO_THREADS, options.ioThreads);
    }
  }

  /** Opens a socket of `type` owned by this context. */
  openSocket(type: ZmqSocketType): ZmqSocket {
    if (this.#ptr === null) {
      throw new ZmqError("Cannot open a socket on a closed context", ZMQ_ERRNO.ETERM);
    }
    const p = zmq().zmq_socket(this.#ptr, SOCKET_TYPES[type]);
    if (p === null) throw new ZmqError(`Cannot open a ZeroMQ ${type} socket`, zmq().zmq_errno());
    const socket = new ZmqSocket(p as SocketPointer, type, () => this.#sockets.delete(socket));
    this.#sockets.add(socket);
    return socket;
  }

  /**
   * Closes every socket still open, then terminates the context, waiting at
   * most `timeoutMs` for it. Idempotent.
   *
   * The bound is there because zmq_ctx_term was seen to hang for good in
   * nodes orphaned at start-up (every socket closed, linger bounded, the
   * peers gone); a process on its way out must not wait on that.
   */
  async close(timeoutMs = DEFAULT_TERM_TIMEOUT_MS): Promise<void> {
    if (this.#ptr === null) return;
    for (const socket of [...this.#sockets]) socket.close();
    const p = this.#ptr;
    this.#ptr = null;
    // No zmq_ctx_shutdown first: it discards what closed sockets still
    // linger to send (the last log batches of a stopping node).
    let timer: ReturnType<typeof setTimeout> | undefined;
    const term = zmq().zmq_ctx_term(p);
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([term, timeout]);
    clearTimeout(timer);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/** A message received by `ZmqSocket.receive()`: frames borrowed until the next receive on any socket. */
export interface BorrowedMessage {
  readonly frames: readonly Uint8Array[];
  /** The sender's ZAP `User-Id`, with `ZmqSocket.readUserId` set ("" when it has none). */
  readonly userId?: string;
}

/**
 * Receive scratch shared by all sockets of the process: receive is
 * synchronous and a message is consumed before the next one is read, so one
 * buffer serves every socket without a copy per frame.
 */
let scratch = new Uint8Array(INITIAL_SCRATCH_BYTES);

/** One ZeroMQ socket. Not thread-safe: used only from the JS thread. */
export class ZmqSocket implements Disposable {
  readonly type: ZmqSocketType;
  #ptr: SocketPointer | null;
  #onClose: () => void;
  #int = new Int32Array(1);
  #len = new BigUint64Array(1);
  #frames: Uint8Array[] = [];
  #message: { frames: Uint8Array[]; userId?: string } = { frames: this.#frames };
  /** Frames dropped because they exceeded the maximum frame size. */
  oversizedFrames = 0;
  maxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  /**
   * Receive every frame whole, however large (up to `maxFrameBytes`), at
   * the cost of four native calls per frame instead of one. Without it a
   * frame larger than the shared receive buffer is lost once, and the
   * buffer grows for the next. Set it on sockets that carry big messages,
   * such as log batches.
   */
  largeFrames = false;
  /**
   * Read the `User-Id` the ZAP handler gave the sending peer into
   * `BorrowedMessage.userId` (receives go through `zmq_msg_recv` then).
   */
  readUserId = false;
  /** A `zmq_msg_t` (64 bytes, 8-aligned) for `largeFrames` receives. */
  #msg: BigUint64Array | undefined;

  constructor(ptr: SocketPointer, type: ZmqSocketType, onClose: () => void) {
    this.#ptr = ptr;
    this.type = type;
    this.#onClose = onClose;
  }

  #live(action: string): SocketPointer {
    if (this.#ptr === null) throw new ZmqError(`${action}: the socket is closed`, ZMQ_ERRNO.ETERM);
    return this.#ptr;
  }

  get closed(): boolean {
    return this.#ptr === null;
  }

  /** Sets an integer option (see `ZMQ_OPTION`). */
  setOption(option: number, value: number): void {
    this.#int[0] = value;
    if (
      zmq().zmq_setsockopt(this.#live("Cannot set a socket option"), option, this.#int, 4n) !== 0
    ) {
      throw new ZmqError(
        `Cannot set ZeroMQ socket option ${option} to ${value}`,
        zmq().zmq_errno(),
      );
    }
  }

  /** Sets a binary option such as SUBSCRIBE. */
  setBytesOption(option: number, value: Uint8Array): void {
    if (
      zmq().zmq_setsockopt(
        this.#live("Cannot set a socket option"),
        option,
        value,
        BigInt(value.length),
      ) !== 0
    ) {
      throw new ZmqError(`Cannot set ZeroMQ socket option ${option}`, zmq().zmq_errno());
    }
  }

  /** Sets a string option (keys, the ZAP domain); libzmq copies it. */
  #setText(option: number, value: string): void {
    this.setBytesOption(option, encoder.encode(value));
  }

  /**
   * Makes this socket a CURVE client of the server whose public key is
   * `serverKey`, for the connects that follow (a PUSH connected to two
   * loggers sets each logger's key before its connect).
   */
  setCurveClient(keys: CurveKeyPair, serverKey: string): void {
    this.#setText(ZMQ_CURVE_SERVERKEY, serverKey);
    this.#setText(ZMQ_CURVE_PUBLICKEY, keys.publicKey);
    this.#setText(ZMQ_CURVE_SECRETKEY, keys.secretKey);
  }

  /**
   * Makes this socket a CURVE server with `secretKey`: every peer must
   * complete the CURVE handshake, and the ZAP handler of this socket's
   * context decides on its public key under `zapDomain` (see `ZapHandler`).
   */
  setCurveServer(secretKey: string, zapDomain: string): void {
    this.setOption(ZMQ_CURVE_SERVER, 1);
    this.#setText(ZMQ_CURVE_SECRETKEY, secretKey);
    this.#setText(ZMQ_ZAP_DOMAIN, zapDomain);
    // Without it libzmq lets every peer in when no ZAP handler is bound.
    this.setOption(ZMQ_OPTION.ZAP_ENFORCE_DOMAIN, 1);
  }

  /** The security mechanism in force: 0 NULL, 1 PLAIN, 2 CURVE. */
  get mechanism(): number {
    return this.#getInt(ZMQ_MECHANISM);
  }

  /**
   * Reports this socket's connection events (see `MONITOR_EVENTS`) to a PAIR
   * socket of `ctx`, returned connected; read it like any socket.
   */
  monitor(ctx: ZmqContext, events: number): ZmqSocket {
    const endpoint = `inproc://weir-monitor-${monitorCount++}`;
    if (zmq().zmq_socket_monitor(this.#live("Cannot monitor"), cString(endpoint), events) !== 0) {
      throw new ZmqError("Cannot monitor a ZeroMQ socket", zmq().zmq_errno());
    }
    const pair = ctx.openSocket("pair");
    pair.setOption(ZMQ_OPTION.LINGER, 0);
    pair.connect(endpoint);
    return pair;
  }

  #getInt(option: number): number {
    const p = this.#live("Cannot read a socket option");
    for (;;) {
      this.#len[0] = 4n;
      if (zmq().zmq_getsockopt(p, option, this.#int, this.#len) === 0) return this.#int[0]!;
      const errno = zmq().zmq_errno();
      // ZMQ_EVENTS can be interrupted by a signal; ask again.
      if (errno !== ZMQ_ERRNO.EINTR) {
        throw new ZmqError(`Cannot read ZeroMQ socket option ${option}`, errno);
      }
    }
  }

  /** The file descriptor libzmq signals when the socket may have events (edge-triggered). */
  get fd(): number {
    return this.#getInt(ZMQ_FD);
  }

  /** True when a message can be received now. Also processes pending commands. */
  hasInput(): boolean {
    return (this.#getInt(ZMQ_EVENTS) & ZMQ_POLLIN) !== 0;
  }

  /** True when a message can be sent now without blocking. */
  canSend(): boolean {
    return (this.#getInt(ZMQ_EVENTS) & ZMQ_POLLOUT) !== 0;
  }

  /** The endpoint actually bound (resolves `tcp://127.0.0.1:*`). */
  get lastEndpoint(): string {
    const buf = new Uint8Array(256);
    const len = new BigUint64Array([256n]);
    if (
      zmq().zmq_getsockopt(this.#live("Cannot read the endpoint"), ZMQ_LAST_ENDPOINT, buf, len) !==
        0
    ) {
      throw new ZmqError("Cannot read the last endpoint", zmq().zmq_errno());
    }
    return new TextDecoder().decode(buf.subarray(0, Math.max(0, Number(len[0]) - 1)));
  }

  bind(endpoint: string): void {
    if (zmq().zmq_bind(this.#live(`Cannot bind ${endpoint}`), cString(endpoint)) !== 0) {
      const errno = zmq().zmq_errno();
      const hint = errno === EADDRINUSE
        ? "; another process (an old weir, another cluster) is listening there: change ZeekPort in weir.cfg"
        : errno === EADDRNOTAVAIL
        ? "; this host has no such address: run this node on the host node.cfg places it on"
        : "";
      const error = new ZmqError(
        `Cannot bind ZeroMQ ${this.type} socket to ${endpoint}${hint}`,
        errno,
      );
      error.operatorCaused = errno === EADDRINUSE || errno === EADDRNOTAVAIL;
      throw error;
    }
  }

  connect(endpoint: string): void {
    if (zmq().zmq_connect(this.#live(`Cannot connect ${endpoint}`), cString(endpoint)) !== 0) {
      throw new ZmqError(
        `Cannot connect ZeroMQ ${this.type} socket to ${endpoint}`,
        zmq().zmq_errno(),
      );
    }
  }

  disconnect(endpoint: string): void {
    if (
      zmq().zmq_disconnect(this.#live(`Cannot disconnect ${endpoint}`), cString(endpoint)) !== 0
    ) {
      throw new ZmqError(`Cannot disconnect ZeroMQ socket from ${endpoint}`, zmq().zmq_errno());
    }
  }

  /**
   * Sends a multipart message without blocking. Returns false when the
   * socket would block (high-water mark reached, or no peer yet); nothing is
   * sent then. Other failures throw.
   */
  send(frames: readonly Uint8Array[]): boolean {
    const p = this.#live("Cannot send");
    const last = frames.length - 1;
    for (let i = 0; i <= last; i++) {
      const frame = frames[i]!;
      const flags = ZMQ_DONTWAIT | (i < last ? ZMQ_SNDMORE : 0);
      if (zmq().zmq_send(p, frame, BigInt(frame.length), flags) < 0) {
        const errno = zmq().zmq_errno();
        // libzmq sends multipart messages atomically: only the first frame can
        // report EAGAIN, and then nothing was queued.
        if (errno === ZMQ_ERRNO.EAGAIN && i === 0) return false;
        // A signal (SIGCHLD, a profiler's SIGPROF) interrupted the call: the frame was not taken.
        if (errno === ZMQ_ERRNO.EINTR) {
          i--;
          continue;
        }
        throw new ZmqError(
          `Cannot send frame ${i + 1} of ${frames.length} on a ${this.type} socket`,
          errno,
        );
      }
    }
    return true;
  }

  /**
   * Receives one multipart message if one is ready, else returns null. The
   * frames are views into a shared scratch buffer, valid until the next
   * receive on any socket: copy what must outlive the call. A message with a
   * frame above `maxFrameBytes` is consumed whole, counted in
   * `oversizedFrames`, and returned with no frames.
   */
  receive(): BorrowedMessage | null {
    if (this.largeFrames || this.readUserId) return this.#receiveWhole();
    const p = this.#live("Cannot receive");
    const frames = this.#frames;
    frames.length = 0;
    let offset = 0;
    let oversized = false;
    for (;;) {
      let room = scratch.length - offset;
      let size = zmq().zmq_recv(p, scratch.subarray(offset), BigInt(room), ZMQ_DONTWAIT);
      if (size < 0) {
        const errno = zmq().zmq_errno();
        if (errno === ZMQ_ERRNO.EAGAIN && frames.length === 0 && !oversized) return null;
        if (errno === ZMQ_ERRNO.EINTR) continue;
        throw new ZmqError(`Cannot receive on a ${this.type} socket`, errno);
      }
      if (size > room) {
        // The frame was truncated into the scratch. libzmq does not let us
        // re-read it, so grow for next time and drop this message whole.
        if (size <= this.maxFrameBytes) {
          scratch = new Uint8Array(Math.max(scratch.length * 2, offset + size * 2));
        }
        oversized = true;
        size = 0;
        room = 0;
      }
      if (!oversized) frames.push(scratch.subarray(offset, offset + size));
      offset += size;
      if (this.#getInt(ZMQ_RCVMORE) === 0) break;
    }
    if (oversized) {
      this.oversizedFrames++;
      frames.length = 0;
    }
    return this.#message;
  }

  /** `receive()` through `zmq_msg_recv`, which learns each frame's size before copying it. */
  #receiveWhole(): BorrowedMessage | null {
    const p = this.#live("Cannot receive");
    const z = zmq();
    const msg = this.#msg ??= new BigUint64Array(8);
    const frames = this.#frames;
    frames.length = 0;
    let offset = 0;
    let oversized = false;
    for (;;) {
      z.zmq_msg_init(msg);
      const size = z.zmq_msg_recv(msg, p, ZMQ_DONTWAIT);
      if (size < 0) {
        const errno = z.zmq_errno();
        z.zmq_msg_close(msg);
        if (errno === ZMQ_ERRNO.EAGAIN && frames.length === 0 && !oversized) return null;
        if (errno === ZMQ_ERRNO.EINTR) continue;
        throw new ZmqError(`Cannot receive on a ${this.type} socket`, errno);
      }
      if (size > this.maxFrameBytes) oversized = true;
      if (!oversized) {
        if (scratch.length - offset < size) {
          // Frames already taken stay valid: they view the old buffer.
          scratch = new Uint8Array(Math.max(scratch.length * 2, size * 2));
          offset = 0;
        }
        // Each part may carry it, but not every one does: a ROUTER's routing
        // id part lacks it when the message was looked at ahead (ZMQ_EVENTS).
        if (this.readUserId && (frames.length === 0 || this.#message.userId === "")) {
          const id = z.zmq_msg_gets(msg, USER_ID_PROPERTY);
          this.#message.userId = id === null ? "" : Deno.UnsafePointerView.getCString(id);
        }
        const frame = scratch.subarray(offset, offset + size);
        const data = z.zmq_msg_data(msg);
        if (size > 0 && data !== null) new Deno.UnsafePointerView(data).copyInto(frame);
        frames.push(frame);
        offset += size;
      }
      z.zmq_msg_close(msg);
      if (this.#getInt(ZMQ_RCVMORE) === 0) break;
    }
    if (oversized) {
      this.oversizedFrames++;
      frames.length = 0;
    }
    return this.#message;
  }

  /** Closes the socket. Idempotent; pending outgoing messages linger per LINGER. */
  close(): void {
    if (this.#ptr === null) return;
    zmq().zmq_close(this.#ptr);
    this.#ptr = null;
    this.#onClose();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** Hands the raw pointer to the forwarder thread; the socket is then owned by it. */
  transferToNativeThread(): Pointer {
    return this.#live("Cannot hand over the socket");
  }
}

/** Called for each received message; frames are borrowed (see `ZmqSocket.receive`). */
export type MessageHandler = (frames: readonly Uint8Array[], message: BorrowedMessage) => void;

/** Maximum messages read from one socket before giving the others and the event loop a turn. */
const DEFAULT_RECEIVE_BATCH = 512;
const DEFAULT_IDLE_WAIT_MS = 200;

/**
 * The receive loop of a process: drains every watched socket without
 * blocking, then waits for any socket's ZMQ_FD on a native thread. Sends on
 * a watched socket can consume the edge that announces incoming data, so
 * whoever sends calls `kick()` and the loop looks again.
 */
export class ZmqReactor implements Disposable {
  #entries: { socket: ZmqSocket; handler: MessageHandler; sentOn: boolean }[] = [];
  #recheckScheduled = false;
  #waiter: FdWaiter | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  /** Messages dropped because a frame was oversized, across all sockets. */
  get oversizedMessages(): number {
    let n = 0;
    for (const e of this.#entries) n += e.socket.oversizedFrames;
    return n;
  }

  /** Watches `socket`; must be called before `start()`. */
  watch(socket: ZmqSocket, handler: MessageHandler): void {
    if (this.#running) throw new Error("Cannot watch a socket after the reactor started");
    this.#entries.push({ socket, handler, sentOn: false });
  }

  /** Starts the loop; `closed()` resolves when it ends. */
  start(onError: (error: unknown) => void): void {
    if (this.#running) return;
    this.#waiter = new FdWaiter(this.#entries.map((e) => e.socket.fd));
    this.#running = this.#loop().catch(onError);
  }

  /** Makes a sleeping loop look at its sockets again. */
  kick(): void {
    this.#waiter?.wake();
  }

  /**
   * Call after sending on a watched socket. A send may consume the edge of
   * the socket's ZMQ_FD while input is pending, and the sleeping loop would
   * not see that input; so once per burst of sends (a microtask later) the
   * socket's ZMQ_EVENTS is checked and the loop woken only when input waits.
   */
  noteSend(socket: ZmqSocket): void {
    for (const entry of this.#entries) if (entry.socket === socket) entry.sentOn = true;
    if (this.#recheckScheduled) return;
    this.#recheckScheduled = true;
    queueMicrotask(() => this.#recheckAfterSends());
  }

  #recheckAfterSends(): void {
    this.#recheckScheduled = false;
    let wake = false;
    for (const entry of this.#entries) {
      if (!entry.sentOn) continue;
      entry.sentOn = false;
      if (!wake && !entry.socket.closed && entry.socket.hasInput()) wake = true;
    }
    if (wake) this.kick();
  }

  async #loop(): Promise<void> {
    const waiter = this.#waiter!;
    while (!this.#closed) {
      let busy = false;
      for (const entry of this.#entries) {
        if (entry.socket.closed) continue;
        let n = 0;
        for (; n < DEFAULT_RECEIVE_BATCH; n++) {
          const message = entry.socket.receive();
          if (message === null) break;
          entry.handler(message.frames, message);
          if (this.#closed) return;
        }
        if (n === DEFAULT_RECEIVE_BATCH) busy = true;
      }
      if (busy) await yieldToEventLoop();
      else await waiter.wait(DEFAULT_IDLE_WAIT_MS);
    }
  }

  /** Resolves when the loop has ended after `close()`. */
  closed(): Promise<void> {
    return this.#running ?? Promise.resolve();
  }

  /** Stops the loop (sockets stay open; their owners close them). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#waiter?.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Lets timers, I/O and signal handlers run before continuing (no 1 ms timer clamp). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

let monitorCount = 0;
const USER_ID_PROPERTY = cString("User-Id");

/** Events `ZmqSocket.monitor` can report (zmq.h of libzmq 4.3). */
export const MONITOR_EVENTS = Object.freeze({
  CONNECTED: 0x0001,
  ACCEPTED: 0x0020,
  DISCONNECTED: 0x0200,
  HANDSHAKE_FAILED_NO_DETAIL: 0x0800,
  HANDSHAKE_SUCCEEDED: 0x1000,
  HANDSHAKE_FAILED_PROTOCOL: 0x2000,
  HANDSHAKE_FAILED_AUTH: 0x4000,
});

/** One monitor event: its code, its value and the endpoint it concerns. */
export function parseMonitorEvent(
  frames: readonly Uint8Array[],
): { event: number; value: number; endpoint: string } | undefined {
  const head = frames[0];
  if (frames.length !== 2 || head === undefined || head.length !== 6) return undefined;
  const view = new DataView(head.buffer, head.byteOffset, 6);
  return {
    event: view.getUint16(0, true),
    value: view.getUint32(2, true),
    endpoint: new TextDecoder().decode(frames[1]),
  };
}
