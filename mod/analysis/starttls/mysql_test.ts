import assert from "node:assert/strict";
import { concat } from "../../../testing/frames.ts";
import { MYSQL_ANALYZER } from "./mysql.ts";
import {
  CLIENT_HELLO,
  conversation,
  run,
  SERVER_HELLO,
  show,
  text,
  type Turn,
} from "./fake_ssl_test.ts";

/** One MySQL packet: 3-byte little-endian length, sequence id, payload. */
function packet(seq: number, payload: Uint8Array): Uint8Array {
  const n = payload.length;
  return concat(new Uint8Array([n & 0xff, (n >> 8) & 0xff, n >> 16, seq]), payload);
}

const le32 = (v: number) => new Uint8Array([v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >>> 24]);

/** A v10 greeting with the `mysql_native_password` plugin (as MariaDB 10.0 sends it). */
const GREETING: Turn = {
  orig: false,
  data: packet(
    0,
    concat(
      new Uint8Array([10]),
      text("5.5.5-10.0.36-MariaDB\0"),
      le32(33),
      text("tnNv,t'`"),
      new Uint8Array([0, 0xff, 0xf7, 0x2d, 0x02, 0x00, 0x3f, 0xa0, 21]),
      new Uint8Array(10),
      text("1rkADp+#ijZe\0"),
      text("mysql_native_password\0"),
    ),
  ),
};

const CLIENT_SSL = 0x800;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SECURE_CONNECTION = 0x8000;

function response(capabilities: number, rest: Uint8Array = new Uint8Array(0)): Turn {
  return {
    orig: true,
    data: packet(
      1,
      concat(le32(capabilities), le32(1 << 24), new Uint8Array([0x21]), new Uint8Array(23), rest),
    ),
  };
}

Deno.test("MySQL: a handshake response with CLIENT_SSL hands the rest to SSL; service mysql,ssl", () => {
  const out = run(
    [MYSQL_ANALYZER],
    conversation(3306, [
      GREETING,
      response(CLIENT_SSL | CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION),
      { orig: true, data: CLIENT_HELLO },
      { orig: false, data: SERVER_HELLO },
    ]),
  );
  assert.equal(show(out.ssl[0]!.orig), show(CLIENT_HELLO));
  assert.equal(show(out.ssl[0]!.resp), show(SERVER_HELLO));
  assert.deepEqual(out.services, ["mysql,ssl"]);
});

Deno.test("MySQL: a plain login confirms without TLS; a response before any greeting is a violation", () => {
  const plain = run(
    [MYSQL_ANALYZER],
    conversation(3306, [
      GREETING,
      response(
        CLIENT_PROTOCOL_41 | CLIENT_SECURE_CONNECTION,
        concat(text("root\0"), new Uint8Array([0])),
      ),
      { orig: false, data: packet(2, new Uint8Array([0, 0, 0, 2, 0, 0, 0])) },
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.equal(plain.ssl.length, 0);
  assert.deepEqual(plain.services, ["mysql"]);

  const early = run(
    [MYSQL_ANALYZER],
    conversation(3306, [
      response(CLIENT_SSL),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.equal(early.ssl.length, 0);
  assert.deepEqual(early.services, ["-"]);

  const short = run(
    [MYSQL_ANALYZER],
    conversation(3306, [
      GREETING,
      { orig: true, data: packet(1, le32(CLIENT_SSL)) },
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.equal(short.ssl.length, 0, "an SSL request shorter than its fields does not parse");
});

Deno.test("MySQL: packets split across segments are reassembled", () => {
  const greeting = GREETING as { orig: boolean; data: Uint8Array };
  const out = run(
    [MYSQL_ANALYZER],
    conversation(3306, [
      { orig: false, data: greeting.data.subarray(0, 2) },
      { orig: false, data: greeting.data.subarray(2, 40) },
      { orig: false, data: greeting.data.subarray(40) },
      response(CLIENT_SSL),
      { orig: true, data: CLIENT_HELLO },
    ]),
  );
  assert.deepEqual(out.services, ["mysql,ssl"]);
});
