import assert from "node:assert/strict";
import { XMPP_ANALYZER } from "./xmpp.ts";
import {
  CLIENT_HELLO,
  conversation,
  run,
  SERVER_HELLO,
  show,
  text,
  type Turn,
} from "./fake_ssl_test.ts";

const c = (xml: string): Turn => ({ orig: true, data: text(xml) });
const s = (xml: string): Turn => ({ orig: false, data: text(xml) });

const OPENING = [
  c(
    "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' to='example.org' version='1.0'>",
  ),
  s(
    "<?xml version='1.0'?><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' id='34495' from='example.org' version='1.0' xml:lang='en'>",
  ),
  s(
    "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>",
  ),
];

Deno.test("XMPP: starttls then proceed hand the rest to SSL; service xmpp,ssl", () => {
  const out = run(
    [XMPP_ANALYZER],
    conversation(5222, [
      ...OPENING,
      c("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      s("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      { orig: true, data: CLIENT_HELLO },
      { orig: false, data: SERVER_HELLO },
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["xmpp,ssl"]);
  assert.deepEqual(out.weirds, []);
});

Deno.test("XMPP: a namespace prefix counts; proceed without starttls is a weird and no upgrade", () => {
  const prefixed = run(
    [XMPP_ANALYZER],
    conversation(5222, [
      ...OPENING,
      c("<tls:starttls xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      s("<tls:proceed xmlns:tls='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.deepEqual(prefixed.services, ["xmpp,ssl"]);

  const out = run(
    [XMPP_ANALYZER],
    conversation(5222, [
      ...OPENING,
      s("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      c("<message to='a@b'><body>hi</body></message>"),
    ]),
  );
  assert.equal(out.ssl.length, 0);
  assert.deepEqual(out.weirds, ["XMPP: proceed without starttls"]);
  assert.deepEqual(out.services, ["xmpp"]);
});

Deno.test("XMPP: found by its DPD signature on any port; an element split across segments is a violation", () => {
  const dpd = run(
    [XMPP_ANALYZER],
    conversation(15222, [
      ...OPENING,
      c("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      s("<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.deepEqual(dpd.services, ["xmpp,ssl"]);

  const split = run(
    [XMPP_ANALYZER],
    conversation(5222, [
      ...OPENING,
      c("<starttls xmlns='urn:ietf:par"),
      c("ams:xml:ns:xmpp-tls'/>"),
    ]),
  );
  assert.equal(split.failures.length, 1);
  assert.match(split.failures[0]!, /^XMPP: Binpac exception: binpac exception: string mismatch/);
  assert.deepEqual(split.services, ["-"]);
});
