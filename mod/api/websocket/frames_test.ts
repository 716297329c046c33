import assert from "node:assert/strict";
import {
  CLOSE_CODE,
  closePayload,
  frameHeaderBytes,
  FrameReader,
  OPCODE,
  WebSocketProtocolError,
  writeFrameHeader,
} from "./frames.ts";

function clientFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const mask = [0x37, 0xfa, 0x21, 0x3d];
  const n = payload.length;
  const header = n < 126
    ? [(fin ? 0x80 : 0) | opcode, 0x80 | n]
    : n < 65536
    ? [(fin ? 0x80 : 0) | opcode, 0x80 | 126, n >> 8, n & 0xff]
    : [
      (fin ? 0x80 : 0) | opcode,
      0x80 | 127,
      0,
      0,
      0,
      0,
      n >>> 24,
      (n >> 16) & 0xff,
      (n >> 8) & 0xff,
      n & 0xff,
    ];
  const frame = new Uint8Array(header.length + 4 + n);
  frame.set(header);
  frame.set(mask, header.length);
  for (let i = 0; i < n; i++) frame[header.length + 4 + i] = payload[i]! ^ mask[i & 3]!;
  return frame;
}

const text = (s: string) => new TextEncoder().encode(s);

Deno.test("FrameReader unmasks RFC 6455's masked 'Hello' example", () => {
  const reader = new FrameReader(1024);
  reader.push(new Uint8Array([0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]));
  assert.equal(reader.next(), OPCODE.text);
  assert.equal(new TextDecoder().decode(reader.payload), "Hello");
  assert.equal(reader.next(), -1);
});

Deno.test("FrameReader reassembles fragments around a ping, across arbitrary chunk splits", () => {
  const long = "x".repeat(70_000) + "é";
  const bytes = [
    ...clientFrame(OPCODE.text, text("Hel"), false),
    ...clientFrame(OPCODE.ping, text("p")),
    ...clientFrame(OPCODE.continuation, text("lo"), true),
    ...clientFrame(OPCODE.text, text(long)),
    ...clientFrame(OPCODE.binary, text("a".repeat(300))),
  ];
  for (const step of [1, 7, 4096, bytes.length]) {
    const reader = new FrameReader(1 << 20);
    const got: [number, string][] = [];
    for (let i = 0; i < bytes.length; i += step) {
      reader.push(new Uint8Array(bytes.slice(i, i + step)));
      for (let op = reader.next(); op >= 0; op = reader.next()) {
        got.push([op, new TextDecoder().decode(reader.payload)]);
      }
    }
    assert.deepEqual(got, [
      [OPCODE.ping, "p"],
      [OPCODE.text, "Hello"],
      [OPCODE.text, long],
      [OPCODE.binary, "a".repeat(300)],
    ], `chunks of ${step}`);
  }
});

Deno.test("FrameReader names each violation with its close code", () => {
  const cases: [Uint8Array, number, RegExp][] = [
    [new Uint8Array([0x81, 0x01, 0x41]), CLOSE_CODE.protocolError, /not masked/],
    [new Uint8Array([0xc1, 0x80, 0, 0, 0, 0]), CLOSE_CODE.protocolError, /reserved bits/],
    [new Uint8Array([0x83, 0x80, 0, 0, 0, 0]), CLOSE_CODE.protocolError, /unknown opcode 3/],
    [clientFrame(OPCODE.ping, new Uint8Array(126)), CLOSE_CODE.protocolError, /control frame/],
    [clientFrame(OPCODE.continuation, text("x")), CLOSE_CODE.protocolError, /continuation/],
    [clientFrame(OPCODE.text, new Uint8Array(2000)), CLOSE_CODE.messageTooBig, /longer than 1024/],
  ];
  for (const [bytes, code, message] of cases) {
    const reader = new FrameReader(1024);
    reader.push(bytes);
    assert.throws(
      () => reader.next(),
      (e: unknown) =>
        e instanceof WebSocketProtocolError && e.code === code && message.test(e.message),
    );
  }
  const reader = new FrameReader(1024);
  reader.push(
    new Uint8Array([
      ...clientFrame(OPCODE.text, text("a"), false),
      ...clientFrame(OPCODE.text, text("b")),
    ]),
  );
  assert.throws(() => reader.next(), /before the fragmented one ended/);
});

Deno.test("writeFrameHeader uses 2, 4 and 10 bytes at the length boundaries", () => {
  for (
    const [length, expected] of [[125, [0x81, 125]], [126, [0x81, 126, 0, 126]], [65535, [
      0x81,
      126,
      0xff,
      0xff,
    ]], [
      65536,
      [0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0],
    ]] as const
  ) {
    const target = new Uint8Array(10);
    const n = writeFrameHeader(target, 0, OPCODE.text, length);
    assert.equal(n, frameHeaderBytes(length));
    assert.deepEqual([...target.subarray(0, n)], expected);
  }
});

Deno.test("closePayload keeps the reason within 123 bytes without splitting a character", () => {
  const payload = closePayload(1011, "é".repeat(100));
  assert.deepEqual([payload[0], payload[1]], [0x03, 0xf3]);
  assert.ok(payload.length <= 125);
  assert.equal(
    new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(2)),
    "é".repeat(61),
  );
});

Deno.test("FrameReader lets go of what a large message grew once it was handled, never of pending bytes", () => {
  const reader = new FrameReader(8 << 20);
  const big = new Uint8Array(3 << 20).fill(0x61);
  // Whole, then fragmented: both grow buffers beyond 1 MiB.
  reader.push(clientFrame(OPCODE.text, big));
  reader.push(clientFrame(OPCODE.text, big.subarray(0, 2 << 20), false));
  assert.equal(reader.next(), OPCODE.text);
  assert.equal(reader.shrink(), 0, "the rest is still pending");
  reader.push(clientFrame(OPCODE.continuation, big.subarray(2 << 20)));
  assert.equal(reader.next(), OPCODE.text);
  assert.equal(reader.payload.length, 3 << 20);
  assert.equal(reader.next(), -1);
  const held = reader.capacity;
  assert.ok(held > 6 << 20, `${held} bytes held`);
  assert.equal(reader.shrink(), held);
  assert.equal(reader.capacity, 64 * 1024);
  reader.push(clientFrame(OPCODE.text, text("after")));
  assert.equal(reader.next(), OPCODE.text);
  assert.equal(new TextDecoder().decode(reader.payload), "after");
});
