/**
 * `Content-Encoding: gzip` and `deflate` bodies decoded as Zeek's ZIP
 * support analyzer does it, with the same zlib calls (Z: src/analyzer/
 * protocol/zip/ZIP.cc; `ffi/libz.ts`):
 *
 * - `inflateInit2(MAX_WBITS + 32)`: zlib detects a gzip or zlib header;
 * - each delivery is inflated with `Z_SYNC_FLUSH`, output handed on as it
 *   comes; a data error on a delivery's first call starts again as raw
 *   deflate on that delivery (`-MAX_WBITS`), as Zeek does;
 * - after the end of the stream (one gzip member) input is ignored; after
 *   any other error decoding stops for good with the weird `inflate_failed`
 *   (source `ZIP`).
 *
 * Beyond Zeek: past `maxOutput` decoded bytes decoding stops with the
 * weird `inflate_output_limit` (a decompression bomb), and the native state
 * is freed as soon as the body ends.
 *
 * @module
 */

import { MAX_WBITS, Z_DATA_ERROR, Z_OK, Z_STREAM_END, ZStream } from "../../../ffi/mod.ts";

/** Decoded bytes one body may inflate to before decoding stops (weird `inflate_output_limit`). */
export const DEFAULT_MAX_INFLATED_BYTES = 256 * 1024 * 1024;

/** One body's decoder. */
export class BodyInflater {
  readonly #out: (data: Uint8Array) => void;
  readonly #weird: (name: string, addl?: string) => void;
  readonly #max: number;
  #stream: ZStream | undefined;
  /** `zip_status`: input is only inflated while this is `Z_OK`. */
  #status = Z_OK;
  #produced = 0;

  constructor(
    out: (data: Uint8Array) => void,
    weird: (name: string, addl?: string) => void,
    maxOutput = DEFAULT_MAX_INFLATED_BYTES,
  ) {
    this.#out = out;
    this.#weird = weird;
    this.#max = maxOutput;
  }

  /** Decoded bytes so far. */
  get produced(): number {
    return this.#produced;
  }

  /** The next compressed bytes (borrowed); decoded bytes go out before this returns. */
  push(data: Uint8Array): void {
    if (data.length === 0 || this.#status !== Z_OK) return;
    let stream = this.#stream;
    if (stream === undefined) {
      stream = this.#stream = new ZStream();
      if (stream.init(MAX_WBITS + 32) !== Z_OK) {
        this.#stop(-1);
        this.#weird("inflate_init_failed");
        return;
      }
    }
    let allowRestart = true;
    stream.setInput(data);
    while (true) {
      const rc = stream.inflate();
      if (rc === Z_OK || rc === Z_STREAM_END) {
        allowRestart = false;
        const n = stream.produced;
        if (n > 0 && !this.#emit(stream.output.subarray(0, n))) return;
        if (rc === Z_STREAM_END) {
          this.#stop(Z_STREAM_END);
          return;
        }
        if (stream.availIn === 0) return;
      } else if (allowRestart && rc === Z_DATA_ERROR) {
        allowRestart = false;
        if (stream.init(-MAX_WBITS) !== Z_OK) {
          this.#stop(-1);
          this.#weird("inflate_init_failed");
          return;
        }
        stream.setInput(data);
      } else {
        this.#stop(rc);
        this.#weird("inflate_failed");
        return;
      }
    }
  }

  /** The body ended: the native state goes. */
  end(): void {
    this.#stop(this.#status === Z_OK ? Z_STREAM_END : this.#status);
  }

  /** Hands on decoded bytes; false once the output bound stopped decoding. */
  #emit(out: Uint8Array): boolean {
    const room = this.#max - this.#produced;
    if (out.length <= room) {
      this.#produced += out.length;
      this.#out(out);
      return true;
    }
    if (room > 0) {
      this.#produced += room;
      this.#out(out.subarray(0, room));
    }
    this.#weird("inflate_output_limit", `${this.#produced} bytes`);
    this.#stop(-1);
    return false;
  }

  #stop(status: number): void {
    this.#status = status;
    this.#stream?.end();
    this.#stream = undefined;
  }
}
