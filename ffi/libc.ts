/**
 * Typed wrappers over the parts of libc weir needs: errno with names, poll,
 * and eventfd wake-ups. Capture adds sockets, mmap and ioctl here.
 *
 * @module
 */

import { LIBC, openLibrary } from "./libraries.ts";

const SYMBOLS = {
  __errno_location: { parameters: [], result: "pointer" },
  strerror: { parameters: ["i32"], result: "pointer" },
  close: { parameters: ["i32"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  poll_nb: { name: "poll", parameters: ["buffer", "u64", "i32"], result: "i32", nonblocking: true },
  getpid: { parameters: [], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  memcpy_from_address: { name: "memcpy", parameters: ["u64", "u64", "usize"], result: "void" },
  /** `int malloc_trim(size_t pad)`, glibc's; `optional`: another libc still opens. */
  malloc_trim: { parameters: ["usize"], result: "i32", optional: true },
  /** `struct mallinfo2 mallinfo2(void)` (ten size_t), glibc 2.33+; `optional`: an older libc still opens. */
  mallinfo2: {
    parameters: [],
    result: { struct: Array<Deno.NativeType>(10).fill("usize") },
    optional: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

/** The libc symbol table, opened on first use. */
export function libc(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openLibrary(LIBC, SYMBOLS);
  return lib.symbols;
}

const ERRNO_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: "EPERM",
  2: "ENOENT",
  4: "EINTR",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  24: "EMFILE",
  28: "ENOSPC",
  38: "ENOSYS",
  50: "ENETDOWN",
  71: "EPROTO",
  88: "ENOTSOCK",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  111: "ECONNREFUSED",
  156384763: "ETERM",
});

/** The symbolic name of an errno value (`EPERM`), or `errno N` when unknown. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES[errno] ?? `errno ${errno}`;
}

/**
 * errno of the last synchronous libc call on this thread. Only meaningful
 * right after a failing synchronous call: nonblocking calls run on another
 * thread and their errno is lost.
 */
export function lastErrno(): number {
  const p = libc().__errno_location();
  return p === null ? 0 : new Deno.UnsafePointerView(p).getInt32(0);
}

/** The C library's description of `errno`. */
export function strerror(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(p);
}

/** A failing system call, with its errno and symbolic name. */
export class SystemCallError extends Error {
  readonly errno: number;
  readonly code: string;
  constructor(action: string, errno: number, hint = "") {
    super(
      `${action}: ${strerror(errno).toLowerCase()} (${errnoName(errno)})${hint ? `; ${hint}` : ""}`,
    );
    this.name = "SystemCallError";
    this.errno = errno;
    this.code = errnoName(errno);
  }
}

const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/**
 * Waits for any of a set of file descriptors on a native thread (nonblocking
 * FFI `poll`), so the event loop stays free, and reports the events of the
 * first one; `wake()` ends a wait at once (an eventfd is polled too). One
 * wait is in flight at a time.
 */
export class FdWaiter implements Disposable {
  readonly #count: number;
  readonly #pollfds: Int16Array;
  readonly #wakeFd: number;
  readonly #eight = new BigUint64Array([1n]);
  #sleeping = false;
  #wakePending = false;
  #closed = false;

  /**
   * `fds` are watched for `events` (POLLIN by default; POLLERR, POLLHUP and
   * POLLNVAL are always reported); an internal eventfd is added for wake-ups.
   */
  constructor(fds: readonly number[], events: number = POLL_EVENTS.IN) {
    const wakeFd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) throw new SystemCallError("Cannot create an eventfd", lastErrno());
    this.#wakeFd = wakeFd;
    this.#count = fds.length + 1;
    // struct pollfd { int fd; short events; short revents; }: 8 bytes each,
    // the watched fds first, the eventfd last.
    this.#pollfds = new Int16Array(this.#count * 4);
    const asI32 = new Int32Array(this.#pollfds.buffer);
    for (let i = 0; i < this.#count; i++) {
      asI32[i * 2] = i < fds.length ? fds[i]! : wakeFd;
      this.#pollfds[i * 4 + 2] = i < fds.length ? events : POLL_EVENTS.IN;
    }
  }

  /**
   * Resolves when a descriptor is ready, `wake()` was called, or `timeoutMs`
   * passed, to the first descriptor's `revents` (0 on timeout, wake or close).
   */
  async wait(timeoutMs: number): Promise<number> {
    if (this.#closed) return 0;
    if (this.#wakePending) {
      this.#drainWake();
      return 0;
    }
    const pollfds = this.#pollfds;
    for (let i = 3; i < pollfds.length; i += 4) pollfds[i] = 0;
    this.#sleeping = true;
    try {
      await libc().poll_nb(pollfds, BigInt(this.#count), timeoutMs);
    } finally {
      this.#sleeping = false;
    }
    if (this.#wakePending) this.#drainWake();
    return this.#closed ? 0 : pollfds[3]!;
  }

  /** Ends a pending `wait()` now (one eventfd write per sleep, however often it is called). */
  wake(): void {
    if (this.#closed || this.#wakePending) return;
    this.#wakePending = true;
    if (this.#sleeping) libc().write(this.#wakeFd, this.#eight, 8n);
  }

  /** True while a native wait is in flight. */
  get sleeping(): boolean {
    return this.#sleeping;
  }

  #drainWake(): void {
    this.#wakePending = false;
    libc().read(this.#wakeFd, this.#eight, 8n);
    this.#eight[0] = 1n;
  }

  /**
   * Wakes any pending wait and releases the eventfd (never the watched fds).
   * Idempotent. The in-flight poll (if any) still references the eventfd;
   * closing it only makes that poll return POLLNVAL, which is harmless.
   */
  close(): void {
    if (this.#closed) return;
    this.#wakePending = false;
    this.wake();
    this.#closed = true;
    libc().close(this.#wakeFd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** `poll()` event bits (`revents` of `FdWaiter.wait`). */
export const POLL_EVENTS = Object.freeze({
  IN: 0x1,
  PRI: 0x2,
  OUT: 0x4,
  ERR: 0x8,
  HUP: 0x10,
  NVAL: 0x20,
});

/** `SOL_SOCKET` level options weir uses. */
export const SOL_SOCKET = 1;
export const SO_ERROR = 4;
export const SO_ATTACH_FILTER = 26;

/** Interface flag bits from `SIOCGIFFLAGS`. */
export const IFF_UP = 0x1;
export const IFF_RUNNING = 0x40;
export const IFF_PROMISC = 0x100;

const SIOCGIFFLAGS = 0x8913;
const IFREQ_SIZE = 40;
const IFNAMSIZ = 16;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const MAP_FAILED = 0xffffffffffffffffn;

/**
 * The way out for errno values that socket, ring and interface setup
 * commonly meets; empty when the errno says nothing an operator can act on.
 */
export function socketErrorHint(errno: number): string {
  switch (errno) {
    case 1:
    case 13:
      return "needs CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root or " +
        "`setcap cap_net_raw,cap_net_admin+eip` on the weir (or deno) binary";
    case 19:
      return "no such network interface: list them with `ip link`";
    case 100:
      return "the interface is down: bring it up with `ip link set <device> up`";
    case 12:
      return "the kernel could not allocate that much: use a smaller af_packet_buffer_size " +
        "or af_packet_block_size";
    case 24:
      return "too many open files: raise the limit with `ulimit -n`";
    default:
      return "";
  }
}

function callFailed(action: string, call: string, hint?: string): SystemCallError {
  const errno = lastErrno();
  return new SystemCallError(`${action}: ${call} failed`, errno, hint ?? socketErrorHint(errno));
}

/** A byte buffer, as the kernel takes socket options, addresses and ioctl arguments. */
export type OptionBuffer = Uint8Array | Int32Array | Uint32Array;

/**
 * A socket descriptor with one owner. Every method names its call and the
 * errno in the error it throws; `close()` is idempotent.
 */
export class OwnedSocket implements Disposable {
  #fd: number;
  readonly #errorLength = new Uint32Array([4]);
  readonly #errorValue = new Int32Array(1);

  private constructor(fd: number) {
    this.#fd = fd;
  }

  /**
   * `socket(domain, type, protocol)`.
   *
   * @throws SystemCallError named after `action`, with the way out (EPERM: CAP_NET_RAW).
   */
  static open(domain: number, type: number, protocol: number, action: string): OwnedSocket {
    const fd = libc().socket(domain, type, protocol);
    if (fd < 0) throw callFailed(action, `socket(${domain}, ${type}, ${protocol})`);
    return new OwnedSocket(fd);
  }

  /** The descriptor; -1 once closed. */
  get fd(): number {
    return this.#fd;
  }

  /** `setsockopt(level, name, value)`; `call` names the option in the error. */
  setOption(level: number, name: number, value: OptionBuffer, action: string, call: string): void {
    this.#check(action);
    if (libc().setsockopt(this.#fd, level, name, value, value.byteLength) < 0) {
      throw callFailed(action, `setsockopt(${call})`);
    }
  }

  /** `setsockopt` of one `int`. */
  setIntOption(level: number, name: number, value: number, action: string, call: string): void {
    this.setOption(level, name, new Int32Array([value]), action, call);
  }

  /** `getsockopt(level, name)` into `into`; returns the length the kernel wrote. */
  getOption(level: number, name: number, into: OptionBuffer, action: string, call: string): number {
    this.#check(action);
    const length = new Uint32Array([into.byteLength]);
    if (libc().getsockopt(this.#fd, level, name, into, length) < 0) {
      throw callFailed(action, `getsockopt(${call})`);
    }
    return length[0]!;
  }

  /** Reads and clears the socket's pending error (`SO_ERROR`); 0 when there is none. */
  takeError(): number {
    if (this.#fd < 0) return 0;
    this.#errorLength[0] = 4;
    this.#errorValue[0] = 0;
    libc().getsockopt(this.#fd, SOL_SOCKET, SO_ERROR, this.#errorValue, this.#errorLength);
    return this.#errorValue[0]!;
  }

  /** `bind(address)` with a `struct sockaddr_*` laid out by the caller. */
  bind(address: OptionBuffer, action: string, call = "bind"): void {
    this.#check(action);
    if (libc().bind(this.#fd, address, address.byteLength) < 0) throw callFailed(action, call);
  }

  /** `ioctl(request, argument)` for requests that take a pointer to a struct. */
  ioctl(request: number, argument: OptionBuffer, action: string, call: string): void {
    this.#check(action);
    if (libc().ioctl(this.#fd, BigInt(request), argument) < 0) {
      throw callFailed(action, `ioctl(${call})`);
    }
  }

  /**
   * The flags of network interface `name` (`SIOCGIFFLAGS`; test with
   * `IFF_UP`, `IFF_RUNNING`, `IFF_PROMISC`).
   */
  interfaceFlags(name: string, action: string): number {
    const ifreq = new Uint8Array(IFREQ_SIZE);
    const encoded = new TextEncoder().encode(name);
    if (encoded.length >= IFNAMSIZ) {
      throw new RangeError(
        `${action}: interface name "${name}" is longer than ${IFNAMSIZ - 1} bytes`,
      );
    }
    ifreq.set(encoded);
    this.ioctl(SIOCGIFFLAGS, ifreq, action, `SIOCGIFFLAGS "${name}"`);
    return ifreq[16]! | (ifreq[17]! << 8);
  }

  /** Closes the descriptor (the kernel then drops the ring, filter and fanout membership). Idempotent. */
  close(): void {
    if (this.#fd < 0) return;
    libc().close(this.#fd);
    this.#fd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #check(action: string): void {
    if (this.#fd < 0) throw new Error(`${action}: the socket is already closed`);
  }
}

/**
 * A shared read/write mapping of a descriptor (an AF_PACKET ring). Views
 * from `bytes()` alias the kernel's memory; touching one after `close()`
 * kills the process with SIGSEGV, so the owner must drop every view first.
 */
export class SharedMapping implements Disposable {
  readonly length: number;
  #pointer: Deno.PointerValue;
  #bytes: Uint8Array | null = null;

  private constructor(pointer: Deno.PointerObject, length: number) {
    this.#pointer = pointer;
    this.length = length;
  }

  /**
   * `mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0)`.
   *
   * @throws SystemCallError named after `action`.
   */
  static open(fd: number, length: number, action: string): SharedMapping {
    const pointer = libc().mmap(null, BigInt(length), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0n);
    if (pointer === null || Deno.UnsafePointer.value(pointer) === MAP_FAILED) {
      throw callFailed(action, `mmap of ${length} bytes`);
    }
    return new SharedMapping(pointer, length);
  }

  /** A zero-copy view of the whole mapping (the same one on every call). */
  bytes(): Uint8Array {
    if (this.#pointer === null) throw new Error("The memory mapping is already unmapped");
    this.#bytes ??= new Uint8Array(
      Deno.UnsafePointerView.getArrayBuffer(this.#pointer, this.length),
    );
    return this.#bytes;
  }

  /** `munmap`. Idempotent. */
  close(): void {
    const pointer = this.#pointer;
    if (pointer === null) return;
    this.#pointer = null;
    this.#bytes = null;
    libc().munmap(pointer, BigInt(this.length));
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The index of network interface `name`, or 0 when there is no such interface. */
export function interfaceIndex(name: string): number {
  return libc().if_nametoindex(new TextEncoder().encode(`${name}\0`));
}

/**
 * The address of `bytes[0]`. Only for buffers whose memory never moves:
 * ArrayBuffers allocated with `new` and larger than a few hundred bytes live
 * outside V8's moving heap.
 */
export function addressOf(bytes: Uint8Array): number {
  const pointer = Deno.UnsafePointer.of(bytes);
  return pointer === null ? 0 : Number(Deno.UnsafePointer.value(pointer));
}

/**
 * Copies `length` bytes from native memory at `source` to `destination`
 * (both addresses as numbers, so a copy allocates nothing; x86-64 user
 * addresses fit in 47 bits).
 */
export function copyFromAddress(destination: number, source: number, length: number): void {
  copyNumbers ??= libc().memcpy_from_address as unknown as typeof copyNumbers;
  copyNumbers!(destination, source, length);
}

/** Deno accepts numbers for 64-bit parameters; its types ask for BigInt, which would allocate per call. */
let copyNumbers: ((destination: number, source: number, length: number) => void) | undefined;

/**
 * Bytes the C heap has handed out and not had back (`mallinfo2`: in-use
 * chunks of every arena plus mmapped ones), for leak accounting of native
 * code in tests; undefined where libc has no `mallinfo2`.
 */
export function mallocInUse(): number | undefined {
  const mallinfo2 = libc().mallinfo2;
  if (mallinfo2 === null) return undefined;
  const info = mallinfo2() as Uint8Array;
  const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
  // struct mallinfo2: arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, …
  return Number(view.getBigUint64(4 * 8, true) + view.getBigUint64(7 * 8, true));
}

/**
 * Hands the C heap's free pages back to the system (glibc `malloc_trim(0)`,
 * every arena). glibc keeps memory freed in many small chunks, such as the
 * trie nodes libzmq allocates one per character of a subscription, so a
 * burst of dropped subscriptions would otherwise stay in the resident size.
 * False where libc has no `malloc_trim` or nothing could be released.
 */
export function releaseFreeMemory(): boolean {
  const trim = libc().malloc_trim;
  return trim !== null && trim(0n) === 1;
}
