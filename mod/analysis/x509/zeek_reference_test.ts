/**
 * Test support: Zeek's own X.509 code, copied into
 * `testdata/zeek_x509_reference.c` and compiled here against the same
 * libcrypto, as an oracle: for a certificate, an ASN.1 time or a host name
 * pair it prints one line, and `weirLine` prints the same line from
 * weir's port. Needs a C compiler and OpenSSL's headers; `build` gives
 * undefined without them.
 */

import { latin1String, parseAddr } from "../../../zeek/mod.ts";
import { checkCertHostname, checkHostname, parseCertificate, timeFromAsn1 } from "./mod.ts";

const SOURCE = new URL("./testdata/zeek_x509_reference.c", import.meta.url).pathname;
/** Records per run of the oracle (its output is held in memory). */
const BATCH = 5000;

/** One input of the oracle. */
export type ReferenceInput =
  | { readonly kind: "cert"; readonly der: Uint8Array; readonly host: string }
  | { readonly kind: "time"; readonly type: number; readonly bytes: Uint8Array }
  | { readonly kind: "hostname"; readonly host: string; readonly certname: string };

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
const hex = (s: string | Uint8Array) =>
  Array.from(typeof s === "string" ? latin1(s) : s, (b) => b.toString(16).padStart(2, "0"))
    .join("");

/** The compiled oracle, in a directory removed on dispose. */
export class ZeekReference implements AsyncDisposable {
  readonly #dir: string;
  readonly #binary: string;

  private constructor(dir: string) {
    this.#dir = dir;
    this.#binary = `${dir}/zeek_x509_reference`;
  }

  /** Compiles the oracle; undefined (and the reason) when there is no compiler or no headers. */
  static async build(): Promise<ZeekReference | string> {
    const dir = await Deno.makeTempDir({ prefix: "weir-x509-ref-" });
    const reference = new ZeekReference(dir);
    try {
      const out = await new Deno.Command("cc", {
        args: ["-O1", "-o", reference.#binary, SOURCE, "-lcrypto"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      if (out.success) return reference;
      await reference[Symbol.asyncDispose]();
      return `cc failed: ${new TextDecoder().decode(out.stderr).slice(0, 300)}`;
    } catch (error) {
      await reference[Symbol.asyncDispose]();
      return `no C compiler: ${error instanceof Error ? error.message : error}`;
    }
  }

  /** The oracle's line for each input, in order. */
  async run(inputs: readonly ReferenceInput[]): Promise<string[]> {
    const lines: string[] = [];
    for (let at = 0; at < inputs.length; at += BATCH) {
      lines.push(...await this.#runBatch(inputs.slice(at, at + BATCH)));
    }
    return lines;
  }

  async #runBatch(inputs: readonly ReferenceInput[]): Promise<string[]> {
    const parts: Uint8Array[] = [];
    for (const input of inputs) {
      let kind: string;
      let body: Uint8Array;
      if (input.kind === "cert") {
        kind = "C";
        const host = latin1(input.host);
        body = new Uint8Array(4 + input.der.length + host.length);
        new DataView(body.buffer).setUint32(0, input.der.length, true);
        body.set(input.der, 4);
        body.set(host, 4 + input.der.length);
      } else if (input.kind === "time") {
        kind = "T";
        body = new Uint8Array(1 + input.bytes.length);
        body[0] = input.type;
        body.set(input.bytes, 1);
      } else {
        kind = "H";
        body = latin1(`${input.host}\0${input.certname}`);
      }
      const head = new Uint8Array(5);
      head[0] = kind.charCodeAt(0);
      new DataView(head.buffer).setUint32(1, body.length, true);
      parts.push(head, body);
    }
    const child = new Deno.Command(this.#binary, {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = child.output();
    const writer = child.stdin.getWriter();
    for (const p of parts) await writer.write(p);
    await writer.close();
    const out = await output;
    if (!out.success) {
      throw new Error(
        `the Zeek reference failed (${out.code}): ${new TextDecoder().decode(out.stderr)}`,
      );
    }
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    lines.pop();
    if (lines.length !== inputs.length) {
      throw new Error(
        `the Zeek reference printed ${lines.length} lines for ${inputs.length} inputs`,
      );
    }
    return lines;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.#dir, { recursive: true });
  }
}

/** weir's line for an input, in the oracle's format. */
export function weirLine(input: ReferenceInput): string {
  const weirds: string[] = [];
  const weird = (name: string, addl?: string) => weirds.push(addl ? `${name}:${addl}` : name);
  const tail = () => ` weirds=${weirds.map((w) => `${w};`).join("")}`;
  if (input.kind === "time") {
    return `time=${timeFromAsn1(input.type, input.bytes, weird)}${tail()}`;
  }
  if (input.kind === "hostname") {
    return `match=${checkHostname(input.host, input.certname) ? 1 : 0}${tail()}`;
  }
  const c = parseCertificate(input.der, weird);
  if (c === undefined) return `null${tail()}`;
  const list = (l: readonly string[] | undefined, item: (s: string) => string = hex) =>
    l === undefined ? "- " : `[${l.map(item).join(",")}] `;
  const san = c.san === undefined ? "-" : list(c.san.dns) + list(c.san.uri) + list(c.san.email) +
    list(c.san.ip, (a) => hex(parseAddr(a))) + `other=${c.san.otherFields ? 1 : 0}`;
  const bc = c.basicConstraints;
  return [
    `fp=${c.fingerprint}`,
    `version=${c.version}`,
    `serial=${hex(c.serial)}`,
    `subject=${hex(c.subject)}`,
    `cn=${c.cn === undefined ? "-" : hex(c.cn)}`,
    `issuer=${hex(c.issuer)}`,
    `times=${c.notValidBefore},${c.notValidAfter}`,
    `key_alg=${hex(c.keyAlg)}`,
    `tbs_sig_alg=${hex(c.tbsSigAlg)}`,
    `sig_alg=${hex(c.sigAlg)}`,
    `key=${c.keyType ?? "-"}`,
    `exponent=${c.exponent ?? "-"}`,
    `curve=${c.curve ?? "-"}`,
    `length=${c.keyLength ?? "-"}`,
    `bc=${bc === undefined ? "-" : `${bc.ca ? 1 : 0}/${bc.pathLen ?? "-"}`}`,
    `san=${san}`,
    `host=${checkCertHostname(c, input.host) ? 1 : 0}`,
  ].join(" ") + tail();
}

/** Both lines of the first input where weir and the oracle differ, or undefined. */
export function firstDifference(
  inputs: readonly ReferenceInput[],
  expected: readonly string[],
): string | undefined {
  for (let i = 0; i < inputs.length; i++) {
    const got = weirLine(inputs[i]!);
    if (got !== expected[i]) {
      const input = inputs[i]!;
      const what = input.kind === "cert"
        ? `certificate ${hex(input.der)} host ${JSON.stringify(input.host)}`
        : input.kind === "time"
        ? `time type ${input.type} ${
          JSON.stringify(latin1String(input.bytes, 0, input.bytes.length))
        }`
        : `hostname ${JSON.stringify(input.host)} ${JSON.stringify(input.certname)}`;
      return `input ${i} (${what}):\n  zeek: ${expected[i]}\n  weir: ${got}`;
    }
  }
  return undefined;
}
