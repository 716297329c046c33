/**
 * Where each native library comes from, and what to tell an operator when it
 * is missing. The one place that names sonames and Debian packages.
 *
 * @module
 */

/** A shared library weir opens through `Deno.dlopen`. */
export interface LibrarySpec {
  readonly soname: string;
  readonly debianPackage: string;
  readonly purpose: string;
}

export const LIBC: LibrarySpec = Object.freeze({
  soname: "libc.so.6",
  debianPackage: "libc6",
  purpose: "sockets, mmap and poll",
});

export const LIBZMQ: LibrarySpec = Object.freeze({
  soname: "libzmq.so.5",
  debianPackage: "libzmq5",
  purpose: "the ZeroMQ cluster bus",
});

export const LIBPCAP: LibrarySpec = Object.freeze({
  soname: "libpcap.so.0.8",
  debianPackage: "libpcap0.8",
  purpose: "BPF filters and libpcap capture",
});

export const LIBZ: LibrarySpec = Object.freeze({
  soname: "libz.so.1",
  debianPackage: "zlib1g",
  purpose: "decoding gzip and deflate HTTP bodies",
});

export const LIBCRYPTO: LibrarySpec = Object.freeze({
  soname: "libcrypto.so.3",
  debianPackage: "libssl3",
  purpose: "parsing X.509 certificates as Zeek prints them",
});

/** The library could not be loaded; the message says which package provides it. */
export class LibraryMissingError extends Error {
  readonly library: LibrarySpec;
  constructor(library: LibrarySpec, cause: unknown) {
    super(
      `Cannot load ${library.soname} (needed for ${library.purpose}): ${
        cause instanceof Error ? cause.message : String(cause)
      }; install it with: apt-get install ${library.debianPackage}`,
      { cause },
    );
    this.name = "LibraryMissingError";
    this.library = library;
  }
}

/** Opens `library` with the given symbol table, or throws `LibraryMissingError`. */
export function openLibrary<S extends Deno.ForeignLibraryInterface>(
  library: LibrarySpec,
  symbols: S,
): Deno.DynamicLibrary<S> {
  try {
    return Deno.dlopen(library.soname, symbols);
  } catch (error) {
    throw new LibraryMissingError(library, error);
  }
}
