import assert from "node:assert/strict";
import { ByteReader, ByteReadError, ByteWriter } from "./bytes.ts";

Deno.test("ByteWriter writes big-endian numbers and both string forms, and grows", () => {
  const writer = new ByteWriter(16);
  writer.writeUint8(1);
  writer.writeBool(true);
  writer.writeUint16(0x0203);
  writer.writeInt32(-2);
  writer.writeUint64(2 ** 40 + 5);
  writer.writeInt64(-3);
  writer.writeUint64(0xfedcba9876543210n);
  writer.writeFloat64(0.5);
  writer.writeVarint(300);
  writer.writeVarintString("hé");
  writer.writeUint32String("hé");
  writer.writeUint32String(new Uint8Array([0xff]));
  const reader = new ByteReader(writer.bytes());
  assert.equal(reader.readUint8(), 1);
  assert.equal(reader.readUint8(), 1);
  assert.equal(reader.readUint16(), 0x0203);
  assert.equal(reader.readInt32(), -2);
  assert.equal(reader.readUint64(), 2 ** 40 + 5);
  assert.equal(reader.readInt64(), -3);
  assert.equal(reader.readUint64(), 0xfedcba9876543210n);
  assert.equal(reader.readFloat64(), 0.5);
  assert.equal(reader.readVarint(), 300);
  assert.equal(reader.readUtf8(reader.readVarint()), "hé");
  assert.equal(reader.readUtf8(reader.readUint32()), "hé");
  assert.deepEqual(reader.readUtf8(reader.readUint32()), new Uint8Array([0xff]));
  assert.equal(reader.remaining, 0);
});

Deno.test("ByteWriter: reserve, length and truncate serve hot loops and undo", () => {
  const writer = new ByteWriter(16);
  const buffer = writer.reserve(100);
  assert.ok(buffer.length >= 100);
  buffer[0] = 7;
  writer.length = 1;
  writer.writeUint8(8);
  writer.truncate(1);
  assert.deepEqual(writer.bytes(), new Uint8Array([7]));
  writer.reset();
  assert.equal(writer.length, 0);
});

Deno.test("ByteReader: i64 beyond 2^53 and exactly -2^53 are bigints", () => {
  const writer = new ByteWriter();
  writer.writeInt64(-(2n ** 53n));
  writer.writeInt64(-(2 ** 53) + 1);
  writer.writeInt64(2n ** 62n);
  const reader = new ByteReader(writer.bytes());
  assert.equal(reader.readInt64(), -(2n ** 53n));
  assert.equal(reader.readInt64(), -(2 ** 53) + 1);
  assert.equal(reader.readInt64(), 2n ** 62n);
});

Deno.test("ByteReader: short reads and long varints raise the format's error", () => {
  const bare = new ByteReader(new Uint8Array([1, 2]), 1);
  assert.throws(() => bare.readUint32(), (e: unknown) => {
    assert.ok(e instanceof ByteReadError);
    assert.equal(e.offset, 1);
    assert.match(e.message, /expected 4 more bytes, found only 1/);
    return true;
  });
  class FormatError extends Error {}
  const reader = new ByteReader(
    new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]),
    0,
    (offset, expected, found) => new FormatError(`${offset}: ${expected} / ${found}`),
  );
  assert.throws(
    () => reader.readVarint(),
    /0: a varint below 2\^32 \(at most 5 bytes\) \/ a longer one/,
  );
  assert.throws(
    () => new ByteReader(new Uint8Array(0), 0, () => new FormatError("x")).readUint8(),
    FormatError,
  );
});
