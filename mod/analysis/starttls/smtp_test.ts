import assert from "node:assert/strict";
import { concat } from "../../../testing/frames.ts";
import { SMTP_ANALYZER } from "./smtp.ts";
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

const GREETING = [s("220 mail.example.com ESMTP ready"), c("EHLO client.example.org")];
const EHLO_REPLY = s(
  "250-mail.example.com at your service\r\n250-SIZE 35882577\r\n250-STARTTLS\r\n250 PIPELINING",
);

Deno.test("SMTP: STARTTLS and 220 hand every later byte of both sides to SSL; service smtp,ssl", () => {
  const after = text("application data");
  const out = run(
    [SMTP_ANALYZER],
    conversation(25, [
      ...GREETING,
      EHLO_REPLY,
      c("STARTTLS"),
      s("220 2.0.0 Ready to start TLS"),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
      c(after),
    ]),
  );
  assert.equal(out.ssl.length, 1);
  assert.equal(show(out.ssl[0]!.orig), show(concat(CLIENT_HELLO, after)));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.ssl[0]!.order, [">", "<", ">"]);
  assert.deepEqual(out.services, ["smtp,ssl"]);
  assert.deepEqual(out.failures, []);
});

Deno.test("SMTP: a 454 to STARTTLS does not upgrade", () => {
  const out = run(
    [SMTP_ANALYZER],
    conversation(25, [
      ...GREETING,
      EHLO_REPLY,
      c("STARTTLS"),
      s("454 4.7.0 TLS not available due to local problem"),
      c("QUIT"),
      s("221 2.0.0 Bye"),
    ]),
  );
  assert.equal(out.ssl.length, 0);
  assert.deepEqual(out.services, ["smtp"]);
});

Deno.test("SMTP: pipelined commands pair with their replies; X-ANONYMOUSTLS upgrades too", () => {
  const out = run(
    [SMTP_ANALYZER],
    conversation(587, [
      s("220 ready"),
      c(text("EHLO a\r\nNOOP\r\nX-ANONYMOUSTLS\r\n")),
      // The 220 to NOOP is no answer to X-ANONYMOUSTLS.
      s("250 hello"),
      s("220 noop is fine"),
      s("220 go ahead"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.equal(show(out.ssl[0]?.orig ?? new Uint8Array(0)), show(CLIENT_HELLO));
  assert.deepEqual(out.services, ["smtp,ssl"]);

  const early = run(
    [SMTP_ANALYZER],
    conversation(25, [
      s("220 ready"),
      c(text("EHLO a\r\nNOOP\r\nSTARTTLS\r\n")),
      s("250 hello"),
      s("220 noop is fine"),
      c(text("MAIL FROM:<a@b>\r\n")),
    ]),
  );
  assert.equal(early.ssl.length, 0, "the 220 went to NOOP, STARTTLS is still unanswered");
});

Deno.test("SMTP: lines inside DATA are no commands", () => {
  const out = run(
    [SMTP_ANALYZER],
    conversation(25, [
      ...GREETING,
      s("250 ok"),
      c("MAIL FROM:<a@example.org>"),
      s("250 ok"),
      c("RCPT TO:<b@example.com>"),
      s("250 ok"),
      c("DATA"),
      s("354 go ahead"),
      c(text("Subject: hi\r\n\r\nSTARTTLS\r\n.\r\n")),
      s("220 not an answer to the STARTTLS in the body"),
      c("QUIT"),
    ]),
  );
  assert.equal(out.ssl.length, 0);
  assert.deepEqual(out.services, ["smtp"]);
});

Deno.test("SMTP: a reply without a code is a violation (quiet before confirmation, logged after)", () => {
  const early = run([SMTP_ANALYZER], conversation(25, [s("hello there"), c("EHLO x")]));
  assert.deepEqual(early.services, ["-"]);
  assert.deepEqual(early.failures, []);

  const late = run(
    [SMTP_ANALYZER],
    conversation(25, [
      ...GREETING,
      s("not a reply"),
      c("STARTTLS"),
      s("220 go"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.deepEqual(late.failures, ["SMTP: reply code -1 out of range"]);
  assert.equal(late.ssl.length, 0, "nothing reaches a removed analyzer");
  assert.deepEqual(late.services, ["-"]);
});

Deno.test("SMTP: found by its DPD signatures on another port, which need both sides", () => {
  const out = run(
    [SMTP_ANALYZER],
    conversation(2525, [
      ...GREETING,
      EHLO_REPLY,
      c("STARTTLS"),
      s("220 go"),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]),
  );
  assert.deepEqual(out.services, ["smtp,ssl"]);
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));

  const clientOnly = run([SMTP_ANALYZER], conversation(2525, [c("EHLO x"), s("500 what")]));
  assert.deepEqual(clientOnly.services, ["-"], "dpd_smtp_client needs dpd_smtp_server");
});

Deno.test("SMTP: BDAT chunks are read plainly, a gap before the switch ends nothing, after it ends the forwarding", () => {
  const chunk = text("STARTTLS\r\nnot a command\r\n");
  const out = run(
    [SMTP_ANALYZER],
    conversation(25, [
      ...GREETING,
      s("250 ok"),
      c("MAIL FROM:<a@example.org>"),
      s("250 ok"),
      c("RCPT TO:<b@example.com>"),
      s("250 ok"),
      c(concat(text(`BDAT ${chunk.length} LAST\r\n`), chunk)),
      s("250 ok"),
      c("STARTTLS"),
      s("220 go"),
      c(CLIENT_HELLO),
      { orig: false, gap: 100 },
      s(SERVER_HELLO),
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(out.ssl[0]!.resp.length, 0, "after a gap Zeek's SMTP stops forwarding");
  assert.deepEqual(out.weirds, []);
});
