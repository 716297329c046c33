import assert from "node:assert/strict";
import { concat } from "../../../testing/frames.ts";
import { RDP_ANALYZER } from "./rdp.ts";
import {
  CLIENT_HELLO,
  conversation,
  run,
  SERVER_HELLO,
  show,
  text,
  type Turn,
} from "./fake_ssl_test.ts";

/** A TPKT holding a COTP PDU of `type` with `body` after its 5-byte header. */
function tpkt(type: number, body: Uint8Array): Uint8Array {
  const cotp = concat(new Uint8Array([6 + body.length, type, 0, 0, 0x12, 0x34, 0]), body);
  const n = 4 + cotp.length;
  return concat(new Uint8Array([3, 0, n >> 8, n & 0xff]), cotp);
}

/** RDP_NEG_REQ/RSP/FAILURE: type, flags, length 8 (little-endian), 32-bit value. */
function negotiation(type: number, value: number, length = 8): Uint8Array {
  return new Uint8Array([type, 0, length, 0, value & 0xff, value >> 8, 0, 0]);
}

const REQUEST: Turn = {
  orig: true,
  data: tpkt(0xe0, concat(text("Cookie: mstshash=AWAKECODI\r\n"), negotiation(1, 3))),
};
const confirm = (selected: number, length = 8): Turn => ({
  orig: false,
  data: tpkt(0xd0, negotiation(2, selected, length)),
});

Deno.test("RDP: a negotiation response selecting TLS hands the rest to SSL; RDP never confirms", () => {
  const out = run(
    [RDP_ANALYZER],
    conversation(3389, [
      REQUEST,
      confirm(1),
      { orig: true, data: CLIENT_HELLO },
      { orig: false, data: SERVER_HELLO },
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["ssl"]);
});

Deno.test("RDP: standard RDP security (protocol 0) and a failure do not upgrade; a bad length is a violation", () => {
  const replies: Turn[] = [
    confirm(0),
    { orig: false, data: tpkt(0xd0, negotiation(3, 2)) },
    { orig: false, data: tpkt(0xd0, new Uint8Array(0)) },
  ];
  for (const reply of replies) {
    const out = run(
      [RDP_ANALYZER],
      conversation(3389, [REQUEST, reply, { orig: true, data: CLIENT_HELLO }]),
    );
    assert.equal(out.ssl.length, 0);
    assert.deepEqual(out.services, ["-"]);
    assert.deepEqual(out.failures, []);
  }
  const bad = run(
    [RDP_ANALYZER],
    conversation(3389, [
      REQUEST,
      confirm(1, 9),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.equal(bad.ssl.length, 0, "&enforce(length == 8) failed before the selection was read");
});

Deno.test("RDP: found by its DPD signatures on another port (the cookie, and the confirm's 0xd0)", () => {
  const out = run(
    [RDP_ANALYZER],
    conversation(13389, [
      REQUEST,
      confirm(2),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.deepEqual(out.services, ["ssl"]);
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
});
