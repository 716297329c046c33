/**
 * weir's port against Zeek's own code (`testdata/zeek_x509_reference.c`,
 * compiled against the same libcrypto): certificates made by openssl and
 * built by hand, ASN.1 times of every shape, host name pairs. Skipped
 * where there is no C compiler or no OpenSSL headers.
 */

import assert from "node:assert/strict";
import { V_ASN1_GENERALIZEDTIME, V_ASN1_UTCTIME } from "../../../ffi/mod.ts";
import { mulberry32 } from "../../../testing/prng.ts";
import { oddCertificates } from "./der_builder_test.ts";
import { GeneratedCerts, OPENSSL_AVAILABLE } from "./openssl_certs_test.ts";
import { firstDifference, type ReferenceInput, ZeekReference } from "./zeek_reference_test.ts";

const reference = await ZeekReference.build();
const why = typeof reference === "string" ? reference : undefined;
if (why !== undefined) console.log(`Zeek reference not built, tests skipped: ${why}`);
const oracle = () => reference as ZeekReference;

const HOSTS = ["", "a.example.com", "www.b.example.com", "x.example.com", "foo.example.com"];

async function compare(inputs: ReferenceInput[]): Promise<void> {
  const expected = await oracle().run(inputs);
  const difference = firstDifference(inputs, expected);
  assert.equal(difference, undefined, difference);
}

Deno.test({
  name: "Zeek's code and weir agree: hand-built certificates",
  ignore: why !== undefined,
  fn: async () => {
    const inputs: ReferenceInput[] = [];
    for (const { der } of oddCertificates()) {
      for (const host of [...HOSTS, "first.example.com", "second.example.com"]) {
        inputs.push({ kind: "cert", der, host });
      }
    }
    await compare(inputs);
  },
});

Deno.test({
  name: "Zeek's code and weir agree: certificates made by openssl",
  ignore: why !== undefined || !OPENSSL_AVAILABLE,
  fn: async () => {
    await using certs = await GeneratedCerts.create();
    const inputs: ReferenceInput[] = [];
    for (const { der } of certs.certs.values()) {
      for (const host of [...HOSTS, "leaf.example.com", "Test CA+Root", "N.. SAN.example.org"]) {
        inputs.push({ kind: "cert", der, host });
      }
    }
    await compare(inputs);
  },
});

Deno.test({
  name: "Zeek's code and weir agree: 30,000 ASN.1 times of every shape",
  ignore: why !== undefined,
  fn: async () => {
    const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`time seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
    const rand = mulberry32(seed);
    const pick = <T>(list: readonly T[]) => list[Math.floor(rand() * list.length)]!;
    const inputs: ReferenceInput[] = [];
    const valid = ["491231235959Z", "20550607080910Z", "700101000000Z", "19700101000000Z"];
    const alphabet = "0123456789012345678901234567890123456789Z+-.";
    for (let n = 0; n < 30_000; n++) {
      const type = rand() < 0.02 ? 4 : rand() < 0.5 ? V_ASN1_UTCTIME : V_ASN1_GENERALIZEDTIME;
      let bytes: Uint8Array;
      if (rand() < 0.5) {
        // A valid time with a few bytes replaced, inserted or cut.
        const base = Array.from(pick(valid), (c) => c.charCodeAt(0));
        for (let k = Math.floor(rand() * 4); k > 0; k--) {
          const at = Math.floor(rand() * (base.length + 1));
          const byte = rand() < 0.8
            ? alphabet.charCodeAt(Math.floor(rand() * alphabet.length))
            : Math.floor(rand() * 256);
          const op = rand();
          if (op < 0.5) base[at] = byte;
          else if (op < 0.8) base.splice(at, 0, byte);
          else base.splice(at, 1);
        }
        bytes = Uint8Array.from(base.slice(0, 30), (b) => b ?? 0x30);
      } else {
        bytes = new Uint8Array(Math.floor(rand() * 26));
        for (let i = 0; i < bytes.length; i++) {
          bytes[i] = rand() < 0.85
            ? alphabet.charCodeAt(Math.floor(rand() * alphabet.length))
            : Math.floor(rand() * 256);
        }
      }
      inputs.push({ kind: "time", type, bytes });
    }
    await compare(inputs);
  },
});

Deno.test({
  name: "Zeek's code and weir agree: 30,000 host name pairs",
  ignore: why !== undefined,
  fn: async () => {
    const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`hostname seed ${seed} (rerun with WEIR_FUZZ_SEED=${seed})`);
    const rand = mulberry32(seed);
    const word = () => {
      let s = "";
      for (let i = Math.floor(rand() * 9); i > 0; i--) s += "ab.*A."[Math.floor(rand() * 6)];
      return s;
    };
    const inputs: ReferenceInput[] = [];
    for (let n = 0; n < 30_000; n++) {
      const host = word();
      const certname = rand() < 0.3
        ? "*" + host.slice(host.indexOf(".") < 0 ? host.length : host.indexOf("."))
        : word();
      inputs.push({ kind: "hostname", host, certname });
    }
    await compare(inputs);
  },
});

Deno.test({
  name: "the Zeek reference is disposed",
  ignore: why !== undefined,
  fn: async () => {
    await oracle()[Symbol.asyncDispose]();
  },
});
