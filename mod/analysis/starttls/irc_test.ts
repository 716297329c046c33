import assert from "node:assert/strict";
import { IRC_ANALYZER } from "./irc.ts";
import { c, CLIENT_HELLO, conversation, run, s, SERVER_HELLO, show } from "./fake_ssl_test.ts";

Deno.test("IRC: the server's 670 hands the rest to SSL; service irc,ssl", () => {
  const out = run(
    [IRC_ANALYZER],
    conversation(6667, [
      c("STARTTLS"),
      s(":irc.example.net 670  :STARTTLS successful, go ahead with TLS handshake"),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["irc,ssl"]);
});

Deno.test("IRC: 691 (STARTTLS failed) does not upgrade; bad reply numbers are violations", () => {
  const failed = run(
    [IRC_ANALYZER],
    conversation(6667, [
      c("CAP LS"),
      c("STARTTLS"),
      s(":irc.example.net 691 * :STARTTLS failed"),
      c("NICK alice"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.equal(failed.ssl.length, 0);
  assert.deepEqual(failed.services, ["irc"]);

  const bad = run(
    [IRC_ANALYZER],
    conversation(6667, [
      c("NICK alice"),
      s(":irc.example.net 12x oops"),
    ]),
  );
  assert.deepEqual(bad.failures, ["IRC: invalid reply number"]);
  assert.deepEqual(bad.weirds, ["irc_invalid_reply_number"]);
});

Deno.test("IRC: found by its DPD signatures (USER and NICK lines, a numeric reply)", () => {
  const out = run(
    [IRC_ANALYZER],
    conversation(7000, [
      c("USER alice 0 * :Alice\r\nNICK alice"),
      s(":irc.example.net 001 alice :Welcome"),
      c("STARTTLS"),
      s(":irc.example.net 670 alice :go ahead"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.deepEqual(out.services, ["irc,ssl"]);
});
