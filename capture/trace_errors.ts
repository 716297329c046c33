/**
 * The two ways reading a trace file fails: the file cannot be opened, or
 * its bytes are not a pcap/pcapng trace weir can read. A trace that merely
 * ends inside a record is not an error (see `SourceStats.warning`).
 *
 * @module
 */

/** The trace could not be opened or read at the operating-system level. */
export class TraceOpenError extends Error {
  override readonly name = "TraceOpenError";
  readonly path: string;

  constructor(path: string, reason: string, hint: string, options?: ErrorOptions) {
    super(`Cannot open trace "${path}": ${reason}; ${hint}`, options);
    this.path = path;
  }

  /** Translates what `Deno.open`/`read` threw into a message an operator can act on. */
  static from(path: string, cause: unknown): TraceOpenError {
    if (cause instanceof Deno.errors.NotFound) {
      return new TraceOpenError(path, "no such file", "check the path", { cause });
    }
    if (cause instanceof Deno.errors.PermissionDenied) {
      return new TraceOpenError(
        path,
        "permission denied",
        "make the file readable by this user",
        { cause },
      );
    }
    if (cause instanceof Deno.errors.NotCapable) {
      return new TraceOpenError(
        path,
        "Deno was not granted read access",
        "run with --allow-read",
        { cause },
      );
    }
    if (cause instanceof Deno.errors.IsADirectory) {
      return new TraceOpenError(path, "it is a directory", "name a .pcap or .pcapng file", {
        cause,
      });
    }
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new TraceOpenError(path, reason, "check the file and the disk", { cause });
  }
}

/** The file's bytes are not a pcap or pcapng trace, or a record in it is impossible. */
export class TraceFormatError extends Error {
  override readonly name = "TraceFormatError";
  readonly path: string;
  /** Byte offset in the file where the problem is. */
  readonly offset: number;

  constructor(path: string, offset: number, problem: string, hint: string) {
    super(`Cannot read trace "${path}": ${problem}; ${hint}`);
    this.path = path;
    this.offset = offset;
  }
}
