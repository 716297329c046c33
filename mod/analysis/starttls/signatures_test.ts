import assert from "node:assert/strict";
import type { DpdSignature } from "../framework/mod.ts";
import { STARTTLS_ANALYZERS } from "./mod.ts";

const SIGNATURES: readonly DpdSignature[] = STARTTLS_ANALYZERS.flatMap((a) => a.signatures);

/** A signature's pattern by name: one that enables an analyzer, or one such requires. */
function pattern(name: string): RegExp {
  for (const s of SIGNATURES) {
    if (s.name === name) return s.payload;
    if (s.reverse?.name === name) return s.reverse.payload;
  }
  throw new Error(`no signature ${name}`);
}

Deno.test("DPD signatures: Zeek's patterns, anchored as Zeek anchors them", () => {
  const cases: [string, string, boolean][] = [
    ["dpd_smtp_client", "EHLO client", true],
    ["dpd_smtp_client", "NOOP\r\n \t helo x", true],
    ["dpd_smtp_client", "xEHLO", false],
    ["dpd_pop3_client", "CAPA\r\n", true],
    ["dpd_pop3_client", "junk\nuser alice", true],
    ["dpd_pop3_client", "username", false],
    ["irc_client1", "USER a 0 * :A\r\nNICK a\r\n", true],
    ["irc_client1", "USER a 0 * :A\r\nNICK a", false],
    ["irc_client2", "CAP LS\r\nNICK a\r\nUSER a 0 * :A\r\n", true],
    ["irc_server_to_server2", "SERVER irc.a.net 1 :A server\r\n", true],
    ["dpd_xmpp", "<?xml version='1.0'?><stream:stream to='a' xmlns='jabber:client'>", true],
    ["dpd_xmpp", " <stream:stream xmlns='jabber:client'>", true],
    ["dpd_xmpp", "x<stream:stream xmlns='jabber:client'>", false],
    ["dpd_ftp_server", "220 hi\r\n331 password please", true],
    ["dpd_ftp_server", "331 first\r\n220 hi\r\n230 in", false],
    ["dpd_rdp_client", "\x03\x00\x00\x2f\x2a\xe0\0\0\0\0\0Cookie: mstshash=a\r\n", true],
    ["dpd_rdp_client", "...Duca...cliprdr", true],
    ["dpd_rdp_client", "cliprdr Duca", false],
  ];
  for (const [name, text, match] of cases) {
    assert.equal(pattern(name).test(text), match, `${name} on ${JSON.stringify(text)}`);
  }
  assert.ok(pattern("dpd_smtp_server").test(" 220-mx"));
  assert.ok(pattern("dpd_pop3_server").test("+OK ready"));
  assert.ok(pattern("irc_server_reply").test("NOTICE AUTH :x\r\n:irc.a.net 001 a :hi"));
  assert.ok(pattern("dpd_rdp_server").test("\x03\x00\x00\x13\x0e\xd0"));
  assert.ok(pattern("dpd_ftp_client").test("USER anonymous\r\n"));
});

Deno.test("DPD signatures: linear on hostile input (a backtracking pattern takes seconds here)", () => {
  const n = 70_000;
  const hostile = [
    "Duca".repeat(n / 4),
    "\n ".repeat(n / 2),
    "USER a\n".repeat(n / 7),
    "USER a\nNICK b".repeat(n / 13),
    "\nSERVER a 1 :".repeat(n / 13),
    `<stream:stream ${"a".repeat(n)}`,
    "\r\n\t\t\t".repeat(n / 5),
  ];
  for (const s of SIGNATURES) {
    for (const re of [s.payload, s.reverse?.payload]) {
      for (const text of hostile) {
        const started = performance.now();
        re?.test(text);
        const ms = performance.now() - started;
        assert.ok(
          ms < 250,
          `${s.name}: ${ms.toFixed(0)} ms on ${JSON.stringify(text.slice(0, 20))}…`,
        );
      }
    }
  }
});
