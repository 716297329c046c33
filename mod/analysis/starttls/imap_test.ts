import assert from "node:assert/strict";
import { concat } from "../../../testing/frames.ts";
import { IMAP_ANALYZER } from "./imap.ts";
import {
  c,
  CLIENT_HELLO,
  conversation,
  run,
  s,
  SERVER_HELLO,
  show,
  text,
} from "./fake_ssl_test.ts";

const OPENING = [
  s("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE STARTTLS] Dovecot ready."),
  c("a1 CAPABILITY"),
  s("* CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN\r\na1 OK Pre-login capabilities listed"),
];

Deno.test("IMAP: STARTTLS and an OK with its tag hand the rest to SSL; service imap,ssl", () => {
  const out = run(
    [IMAP_ANALYZER],
    conversation(143, [
      ...OPENING,
      c("a2 STARTTLS"),
      s("a2 OK Begin TLS negotiation now"),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
      c(text("more")),
    ]),
  );
  assert.equal(out.ssl.length, 1);
  assert.equal(show(out.ssl[0]!.orig), show(concat(CLIENT_HELLO, text("more"))));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["imap,ssl"]);
  assert.deepEqual(out.weirds, []);
});

Deno.test("IMAP: a refused STARTTLS is a weird, a second one another; no upgrade", () => {
  const out = run(
    [IMAP_ANALYZER],
    conversation(143, [
      ...OPENING,
      c("a2 STARTTLS"),
      s("a2 NO not now"),
      c("a3 starttls"),
      s("a3 BAD still not"),
      c("a4 LOGOUT"),
    ]),
  );
  assert.equal(out.ssl.length, 0);
  assert.deepEqual(out.weirds, [
    "IMAP: server refused StartTLS",
    "IMAP: client sent duplicate StartTLS",
  ]);
  assert.deepEqual(out.services, ["imap"]);
});

Deno.test("IMAP: an OK with another tag does not upgrade; login ends the analysis", () => {
  const out = run(
    [IMAP_ANALYZER],
    conversation(143, [
      ...OPENING,
      c("a2 STARTTLS"),
      s("a1 OK old tag"),
      c("a3 login user pass"),
      s("a2 OK too late"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.equal(out.ssl.length, 0);
  assert.deepEqual(out.services, ["imap"]);
});

Deno.test("IMAP: a delivery that does not parse is a violation (a line split across segments)", () => {
  const out = run(
    [IMAP_ANALYZER],
    conversation(143, [
      ...OPENING,
      c(text("a2 STAR")),
      c(text("TTLS\r\n")),
    ]),
  );
  assert.deepEqual(out.failures.map((f) => f.split("\n")[0]), [
    "IMAP: Binpac exception: binpac exception: string mismatch at imap-protocol.pac: ",
  ]);
  assert.deepEqual(out.services, ["-"]);
});
