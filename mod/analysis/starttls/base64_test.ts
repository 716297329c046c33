import assert from "node:assert/strict";
import { decodeBase64 } from "./base64.ts";

const text = (s: string) => new TextEncoder().encode(s);
const decode = (s: string) => {
  const weirds: string[] = [];
  const out = decodeBase64(text(s), (name, addl) => weirds.push(`${name}: ${addl}`));
  return { out: out === undefined ? undefined : new TextDecoder().decode(out), weirds };
};

Deno.test("base64: Zeek's decoder: padding, errors, unfinished groups", () => {
  assert.deepEqual(decode("aGVsbG8="), { out: "hello", weirds: [] });
  assert.deepEqual(decode("aGVsbG8"), {
    out: "hello",
    weirds: ["base64_illegal_encoding: incomplete base64 group, padding with 6 bits of 0"],
  });
  assert.deepEqual(decode("aGV sbG8="), {
    out: undefined,
    weirds: ["base64_illegal_encoding: character 32 ignored by Base64 decoding"],
  });
  assert.deepEqual(decode("aGk=aGk="), {
    out: undefined,
    weirds: ["base64_illegal_encoding: extra base64 groups after '=' padding are ignored"],
  });
  assert.deepEqual(decode(""), { out: "", weirds: [] });
});
