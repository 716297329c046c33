import assert from "node:assert/strict";
import { POP3_ANALYZER } from "./pop3.ts";
import { c, CLIENT_HELLO, conversation, run, s, SERVER_HELLO, show } from "./fake_ssl_test.ts";

Deno.test("POP3: found by DPD; STLS and +OK hand the rest to SSL; service pop3,ssl", () => {
  const out = run(
    [POP3_ANALYZER],
    conversation(110, [
      s("+OK Cyrus POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
      c("CAPA"),
      s("+OK List of capabilities follows\r\nSTLS\r\nUSER\r\nSASL PLAIN\r\n."),
      c("STLS"),
      s("+OK Begin TLS negotiation now"),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["pop3,ssl"]);
  assert.deepEqual(out.weirds, []);
});

Deno.test("POP3: -ERR to STLS does not upgrade; a server line that is no status is a violation", () => {
  const refused = run(
    [POP3_ANALYZER],
    conversation(110, [
      s("+OK ready"),
      c("STLS"),
      s("-ERR not now"),
      c("USER alice"),
      s("+OK"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.equal(refused.ssl.length, 0);
  assert.deepEqual(refused.services, ["pop3"], "+OK to USER confirms");

  const bad = run(
    [POP3_ANALYZER],
    conversation(110, [
      s("+OK ready"),
      c("USER alice"),
      s("+OK"),
      c("STAT"),
      s("hello?"),
    ]),
  );
  assert.deepEqual(bad.failures, ["POP3: unknown server command (hello?)"]);
  assert.deepEqual(bad.weirds, ["pop3_server_command_unknown hello?"]);
});

Deno.test("POP3: the body of a multi-line answer is no status line", () => {
  const out = run(
    [POP3_ANALYZER],
    conversation(110, [
      s("+OK ready"),
      c("CAPA"),
      s("+OK\r\nnot a status\r\n."),
      c("STLS"),
      s("+OK go"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.deepEqual(out.failures, []);
  assert.deepEqual(out.services, ["pop3,ssl"]);
});
