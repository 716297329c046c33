/**
 * The errors of the Zeek value codecs: a payload that cannot be decoded and
 * a value that does not fit its declared type (address, subnet and port
 * text that does not parse is zeek/addr.ts's `AddrSyntaxError`). Each
 * names where it happened, what was expected and what was found.
 *
 * @module
 */

/** The two Broker data formats Zeek nodes and WebSocket clients speak. */
export type BrokerFormat = "broker-bin-v1" | "broker-json-v1";

/** Where and why a decode failed. */
export interface BrokerDecodeErrorDetail {
  /** The wire format being decoded; absent when converting an already decoded tree. */
  readonly format?: BrokerFormat;
  /** Byte offset of the offending value (broker-bin-v1 only). */
  readonly offset?: number;
  /** Position inside the message, e.g. `args[1].fields.ts` or `data[2]`. */
  readonly path?: string;
  readonly expected: string;
  readonly found: string;
}

/**
 * A Broker payload (binary or JSON) is malformed or does not match the
 * declared types. Never anything else escapes the decoders: truncation, bad
 * tags, oversized lengths and deep nesting all end here.
 */
export class BrokerDecodeError extends Error {
  override readonly name = "BrokerDecodeError";
  readonly format: BrokerFormat | undefined;
  readonly offset: number | undefined;
  readonly expected: string;
  readonly found: string;
  #path: string;

  constructor(detail: BrokerDecodeErrorDetail) {
    super();
    this.format = detail.format;
    this.offset = detail.offset;
    this.expected = detail.expected;
    this.found = detail.found;
    this.#path = detail.path ?? "";
    this.message = this.#describe();
  }

  /** Position inside the message where decoding failed (`""` for the top). */
  get path(): string {
    return this.#path;
  }

  /**
   * Adds an enclosing position in front of the path. The decoders call this
   * while the error unwinds, so the success path pays nothing for paths.
   */
  prependPath(segment: string): this {
    this.#path = this.#path === "" || this.#path.startsWith("[")
      ? segment + this.#path
      : `${segment}.${this.#path}`;
    this.message = this.#describe();
    return this;
  }

  #describe(): string {
    const what = this.format === undefined ? "Broker data" : `${this.format} data`;
    let where = "";
    if (this.offset !== undefined) {
      where = this.#path === ""
        ? ` at byte ${this.offset}`
        : ` at byte ${this.offset} (${this.#path})`;
    } else if (this.#path !== "") {
      where = ` at ${this.#path}`;
    }
    return `Cannot decode ${what}${where}: expected ${this.expected}, ` +
      `found ${this.found}; the sender's declaration differs from ours or the payload is damaged`;
  }
}

/** A JavaScript value does not fit the Zeek type it is declared with. */
export class BrokerEncodeError extends Error {
  override readonly name = "BrokerEncodeError";
  readonly expected: string;
  readonly found: string;
  #path: string;

  constructor(expected: string, found: string, path = "") {
    super();
    this.expected = expected;
    this.found = found;
    this.#path = path;
    this.message = this.#describe();
  }

  /** Position of the value, e.g. `args[0].fields.id`. */
  get path(): string {
    return this.#path;
  }

  /** Adds an enclosing position in front of the path (see `BrokerDecodeError.prependPath`). */
  prependPath(segment: string): this {
    this.#path = this.#path === "" || this.#path.startsWith("[")
      ? segment + this.#path
      : `${segment}.${this.#path}`;
    this.message = this.#describe();
    return this;
  }

  #describe(): string {
    return `Cannot encode ${
      this.#path === "" ? "value" : this.#path
    }: expected ${this.expected}, ` +
      `found ${this.found}; pass a value of the declared type (see mod/zeek/types.ts)`;
  }
}

/**
 * Rethrows a codec error with `segment` in front of its path (anything else
 * unchanged); containers call it so paths cost nothing until something fails.
 */
export function rethrowWithPath(error: unknown, segment: string): never {
  if (error instanceof BrokerEncodeError || error instanceof BrokerDecodeError) {
    throw error.prependPath(segment);
  }
  throw error;
}

const MAX_QUOTED = 40;

function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED ? `${text.slice(0, MAX_QUOTED)}…` : text);
}

/** A short description of a JavaScript value for error messages: `string "abc"`, `array of 3`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return `string ${quote(value)}`;
    case "number":
      return `number ${value}`;
    case "bigint":
      return `bigint ${value}n`;
    case "boolean":
      return `boolean ${value}`;
    case "undefined":
      return "undefined";
    case "object":
      if (value === null) return "null";
      if (Array.isArray(value)) return `array of ${value.length}`;
      if (value instanceof Map) return `Map of ${value.size}`;
      if (value instanceof Uint8Array) return `Uint8Array of ${value.length} bytes`;
      return "object";
    default:
      return typeof value;
  }
}
