/**
 * zlib's streaming `inflate` through `Deno.dlopen`: the same library and
 * calls Zeek's ZIP analyzer makes (`inflateInit2`, `inflate` with
 * `Z_SYNC_FLUSH`, `inflateEnd`), so decoded HTTP bodies are Zeek's byte for
 * byte, at native speed (node:zlib has no synchronous streaming API and a
 * JavaScript inflater runs at a fifth of the speed).
 *
 * One `ZStream` owns one native `z_stream` (112 bytes here, its address
 * fixed for zlib's own checks) and the state zlib allocates behind it;
 * `end()` frees that, and a finalizer frees what an owner forgot.
 *
 * @module
 */

import { LIBZ, openLibrary } from "./libraries.ts";

const SYMBOLS = {
  zlibVersion: { parameters: [], result: "pointer" },
  inflateInit2_: { parameters: ["buffer", "i32", "pointer", "i32"], result: "i32" },
  inflate: { parameters: ["buffer", "i32"], result: "i32" },
  inflateEnd: { parameters: ["buffer"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof SYMBOLS> | undefined;

function libz(): Deno.DynamicLibrary<typeof SYMBOLS>["symbols"] {
  lib ??= openLibrary(LIBZ, SYMBOLS);
  return lib.symbols;
}

/** zlib's return codes the inflater tells apart. */
export const Z_OK = 0;
export const Z_STREAM_END = 1;
export const Z_DATA_ERROR = -3;
const Z_SYNC_FLUSH = 2;
/** `MAX_WBITS`: with +32 zlib detects a gzip or zlib header; negative means raw deflate. */
export const MAX_WBITS = 15;

/** `sizeof(z_stream)` on LP64 and the offsets of the fields set from here. */
const Z_STREAM_SIZE = 112;
const NEXT_IN = 0;
const AVAIL_IN = 8;
const NEXT_OUT = 24;
const AVAIL_OUT = 32;

/** Output is produced into this many bytes at a time (one buffer per stream). */
export const INFLATE_CHUNK = 65536;

const freed = new FinalizationRegistry<Uint8Array>((stream) => {
  libz().inflateEnd(stream);
});

/**
 * The output buffer every stream inflates into: what a call produced is
 * handed on before the next call, so one buffer serves all.
 */
let output: { bytes: Uint8Array; address: bigint } | undefined;

function outputBuffer(): { bytes: Uint8Array; address: bigint } {
  if (output === undefined) {
    const bytes = new Uint8Array(INFLATE_CHUNK);
    output = { bytes, address: BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(bytes))) };
  }
  return output;
}

/** One native inflate stream. */
export class ZStream {
  readonly #stream = new Uint8Array(Z_STREAM_SIZE);
  readonly #view = new DataView(this.#stream.buffer);
  #open = false;

  /** `inflateInit2` with `windowBits` (`MAX_WBITS + 32`: gzip or zlib; `-MAX_WBITS`: raw). */
  init(windowBits: number): number {
    this.end();
    this.#stream.fill(0);
    const rc = libz().inflateInit2_(this.#stream, windowBits, libz().zlibVersion(), Z_STREAM_SIZE);
    if (rc === Z_OK) {
      this.#open = true;
      freed.register(this, this.#stream, this);
    }
    return rc;
  }

  /** Points the stream at `input` (which must stay alive while it is inflated). */
  setInput(input: Uint8Array): void {
    const address = input.length === 0
      ? 0n
      : BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(input)));
    this.#view.setBigUint64(NEXT_IN, address, true);
    this.#view.setUint32(AVAIL_IN, input.length, true);
  }

  /** Input bytes not consumed yet. */
  get availIn(): number {
    return this.#view.getUint32(AVAIL_IN, true);
  }

  /**
   * One `inflate(Z_SYNC_FLUSH)` into the shared output buffer; returns
   * zlib's code. `produced` bytes of `output` are what it made (valid until
   * the next call of any stream).
   */
  inflate(): number {
    const out = outputBuffer();
    this.#view.setBigUint64(NEXT_OUT, out.address, true);
    this.#view.setUint32(AVAIL_OUT, INFLATE_CHUNK, true);
    const rc = libz().inflate(this.#stream, Z_SYNC_FLUSH);
    this.produced = INFLATE_CHUNK - this.#view.getUint32(AVAIL_OUT, true);
    return rc;
  }

  /** Bytes the last `inflate` made, at the start of `output`. */
  produced = 0;

  /** The buffer every stream inflates into. */
  get output(): Uint8Array {
    return outputBuffer().bytes;
  }

  /** `inflateEnd`: frees zlib's state (again is harmless). */
  end(): void {
    if (!this.#open) return;
    this.#open = false;
    freed.unregister(this);
    libz().inflateEnd(this.#stream);
  }
}
