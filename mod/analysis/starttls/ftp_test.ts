import assert from "node:assert/strict";
import { FTP_ANALYZER } from "./ftp.ts";
import {
  c,
  CLIENT_HELLO,
  conversation,
  encodeBase64,
  run,
  s,
  SERVER_HELLO,
  show,
} from "./fake_ssl_test.ts";

const OPENING = [
  s("220 (vsFTPd 3.0.5)"),
  c("FEAT"),
  s("211-Features:\r\n EPRT\r\n AUTH TLS\r\n211 End"),
];

Deno.test("FTP: AUTH TLS and 234 hand the rest to SSL; service ftp,ssl", () => {
  const out = run(
    [FTP_ANALYZER],
    conversation(21, [
      ...OPENING,
      c("AUTH TLS"),
      s("234 Proceed with negotiation."),
      c(CLIENT_HELLO),
      s(SERVER_HELLO),
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["ftp,ssl"]);
});

Deno.test("FTP: AUTH SSL and AUTH tls do nothing, AUT TLS (a prefix of AUTH) does", () => {
  for (const command of ["AUTH SSL", "AUTH tls", "AUTH TLS "]) {
    const out = run(
      [FTP_ANALYZER],
      conversation(21, [
        ...OPENING,
        c(command),
        s("234 Proceed with negotiation."),
        c(CLIENT_HELLO),
      ]),
    );
    assert.equal(out.ssl.length, 0, command);
    assert.deepEqual(out.services, ["ftp"], command);
  }
  const aut = run(
    [FTP_ANALYZER],
    conversation(21, [
      ...OPENING,
      c("aut TLS"),
      s("234 Proceed."),
      c(CLIENT_HELLO),
    ]),
  );
  assert.deepEqual(aut.services, ["ftp,ssl"]);
});

Deno.test("FTP: a reply line without a code is a violation; telnet commands are removed from lines", () => {
  const bad = run([FTP_ANALYZER], conversation(21, [...OPENING, c("USER x"), s("hello")]));
  assert.deepEqual(bad.failures, ["FTP: non-numeric reply code"]);

  const telnet = run(
    [FTP_ANALYZER],
    conversation(21, [
      ...OPENING,
      // IAC IP, IAC DM (an interrupt), then the command.
      c(new Uint8Array([0xff, 0xf4, 0xff, 0xf2, ...new TextEncoder().encode("AUTH TLS\r\n")])),
      s("234 go"),
      c(CLIENT_HELLO),
    ]),
  );
  assert.deepEqual(telnet.services, ["ftp,ssl"]);
});

Deno.test("FTP: AUTH GSSAPI and 334 attach SSL fed with the decoded ADAT tokens", () => {
  const out = run(
    [FTP_ANALYZER],
    conversation(2811, [
      s("220 GridFTP Server ready."),
      c("AUTH GSSAPI"),
      s("334 Using authentication type GSSAPI; ADAT must follow"),
      c(`ADAT ${encodeBase64(CLIENT_HELLO)}`),
      s(`335 ADAT=${encodeBase64(SERVER_HELLO)}`),
      s("235 ADAT="),
      c("USER x"),
    ]),
  );
  assert.equal(out.ssl.length, 1);
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["ftp,ssl"]);
});
