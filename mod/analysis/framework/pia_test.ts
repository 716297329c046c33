import assert from "node:assert/strict";
import type { AnalyzerSpec, DpdSignature } from "./analyzer.ts";
import { Pia } from "./pia.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** A PIA over one spec whose only signature is `signature`; returns what fired. */
function pia(signature: DpdSignature): { pia: Pia; fired: string[] } {
  const spec: AnalyzerSpec = { name: "TOY", ports: [], serverPorts: [], signatures: [signature] };
  const fired: string[] = [];
  const p = new Pia([{ spec, signature }], true, (s, replay) => {
    fired.push(s.name);
    replay({
      data: (d, o) => fired.push(`${o ? ">" : "<"} ${new TextDecoder().decode(d)}`),
      gap() {},
    });
  });
  return { pia: p, fired };
}

const REVERSED: DpdSignature = {
  name: "toy_client",
  proto: "tcp",
  direction: "originator",
  payload: /^HELLO/,
  reverse: { name: "toy_server", direction: "responder", payload: /^WELCOME/ },
};

Deno.test("PIA: requires-reverse-signature fires once both directions matched, in either order", () => {
  const serverFirst = pia(REVERSED);
  serverFirst.pia.data(text("WELCOME"), false);
  assert.deepEqual(serverFirst.fired, []);
  serverFirst.pia.data(text("HELLO"), true);
  assert.deepEqual(serverFirst.fired, ["TOY", "< WELCOME", "> HELLO"]);

  const clientFirst = pia(REVERSED);
  clientFirst.pia.data(text("HELLO"), true);
  assert.deepEqual(clientFirst.fired, [], "the reverse signature has not matched yet");
  clientFirst.pia.data(text("WELCOME"), false);
  assert.deepEqual(clientFirst.fired, ["TOY", "> HELLO", "< WELCOME"]);
  clientFirst.pia.data(text("more"), true);
  assert.equal(clientFirst.fired.length, 3, "fires once");
});

Deno.test("PIA: the reverse signature must match the opposite direction", () => {
  const same = pia({
    ...REVERSED,
    direction: "any",
    reverse: { ...REVERSED.reverse!, direction: "any", payload: /^HELLO/ },
  });
  same.pia.data(text("HELLO"), true);
  same.pia.data(text(" again"), true);
  assert.deepEqual(same.fired, [], "one direction alone is not enough");
  same.pia.data(text("HELLO"), false);
  assert.equal(same.fired[0], "TOY");

  const wrongSide = pia(REVERSED);
  wrongSide.pia.data(text("WELCOME"), true);
  wrongSide.pia.data(text("HELLO"), true);
  assert.deepEqual(wrongSide.fired, [], "the reverse pattern is tied to its own direction");
});
