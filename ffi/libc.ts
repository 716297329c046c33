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

const POLLIN = 1;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

/**
 * Waits for any of a set of file descriptors to become readable on a native
 * thread, so the event loop stays free, and can be woken from JS at once.
 * One wait is in flight at a time.
 */
export class FdWaiter implements Disposable {
  #fds: Int32Array;
  #pollfds: Int16Array;
  #wakeFd: number;
  #eight = new BigUint64Array([1n]);
  #sleeping = false;
  #wakePending = false;
  #closed = false;

  /** `fds` are watched for POLLIN; an internal eventfd is added for wake-ups. */
  constructor(fds: readonly number[]) {
    const wakeFd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wakeFd < 0) throw new SystemCallError("Cannot create an eventfd", lastErrno());
    this.#wakeFd = wakeFd;
    this.#fds = Int32Array.from([wakeFd, ...fds]);
    // struct pollfd { int fd; short events; short revents; }: 8 bytes each.
    this.#pollfds = new Int16Array(this.#fds.length * 4);
    const asI32 = new Int32Array(this.#pollfds.buffer);
    for (let i = 0; i < this.#fds.length; i++) {
      asI32[i * 2] = this.#fds[i]!;
      this.#pollfds[i * 4 + 2] = POLLIN;
    }
  }

  /** Resolves when a descriptor is readable, `wake()` was called, or `timeoutMs` passed. */
  async wait(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    if (this.#wakePending) {
      this.#drainWake();
      return;
    }
    this.#sleeping = true;
    try {
      await libc().poll_nb(this.#pollfds, BigInt(this.#fds.length), timeoutMs);
    } finally {
      this.#sleeping = false;
    }
    if (this.#wakePending) this.#drainWake();
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

  /** Wakes any pending wait and releases the eventfd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#wakePending = false;
    this.wake();
    this.#closed = true;
    // The in-flight poll (if any) still references the fd; closing it only
    // makes that poll return POLLNVAL, which is harmless.
    libc().close(this.#wakeFd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
