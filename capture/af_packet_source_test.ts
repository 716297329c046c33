import assert from "node:assert/strict";
import dgram from "node:dgram";
import { DEFAULT_AF_PACKET_SETTINGS, fanoutArgument, openAfPacket } from "./af_packet_source.ts";
import { FilterSyntaxError } from "./bpf.ts";
import { CapturePermissionError, InterfaceNotFoundError } from "./capture_errors.ts";

const root = Deno.uid() === 0;
if (!root) console.log("%cSKIPPED AF_PACKET capture on lo: needs root", "color: yellow");

Deno.test("defaults are Zeek's", () => {
  assert.deepEqual({ ...DEFAULT_AF_PACKET_SETTINGS }, {
    bufferSize: 128 * 1024 * 1024,
    blockSize: 32768,
    blockTimeoutMs: 10,
    fanoutId: 23,
    fanoutMode: "hash",
    enableFanout: true,
    enableDefrag: false,
    enableHwTimestamping: false,
    linkType: 1,
    checksumValidation: "on",
  });
});

Deno.test("fanoutArgument packs id, mode and the defrag flag", () => {
  assert.equal(fanoutArgument(23, "hash", false), 23);
  assert.equal(fanoutArgument(23, "qm", false), (5 << 16) | 23);
  assert.equal(fanoutArgument(7, "lb", true), ((1 | 0x8000) << 16) | 7);
  assert.equal(fanoutArgument(0xffff, "rnd", false), (4 << 16) | 0xffff);
});

Deno.test("impossible options are refused before any system call", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ blockSize: 5000 }, /blockSize 5000: use a multiple of the 4096-byte page size/],
    [{ bufferSize: 4096, blockSize: 8192 }, /bufferSize 4096: use at least one block/],
    [{ fanoutId: 70000 }, /fanoutId 70000/],
    [{ fanoutMode: "ebpf" }, /fanoutMode "ebpf": use one of hash, lb, cpu, rollover, rnd, qm/],
    [{ checksumValidation: "maybe" }, /checksumValidation "maybe"/],
    [{ enableHwTimestamping: true }, /af_packet_enable_hw_timestamping=0/],
    [{ batchCapacity: 0 }, /batchCapacity 0/],
  ];
  for (const [options, message] of cases) {
    // A missing interface would fail later: the options must fail first.
    assert.throws(() => openAfPacket("weirnosuch0", options), (e: unknown) => {
      assert.ok(e instanceof RangeError, String(e));
      assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => openAfPacket("weirnosuch0", { filter: "tcp prot 80" }), FilterSyntaxError);
});

Deno.test("a missing interface (or no privilege) is named", () => {
  assert.throws(() => openAfPacket("weirnosuch0"), (e: unknown) => {
    if (root) {
      assert.ok(e instanceof InterfaceNotFoundError, String(e));
      assert.match(e.message, /"weirnosuch0": no such interface/);
    } else {
      assert.ok(e instanceof CapturePermissionError, String(e));
      assert.match(e.message, /CAP_NET_RAW/);
    }
    return true;
  });
});

Deno.test({
  name: "reads datagrams sent over lo from the ring, filtered in the kernel",
  ignore: !root,
  async fn() {
    const port = 20000 + Math.floor(Math.random() * 30000);
    using source = openAfPacket("lo", {
      enableFanout: false,
      bufferSize: 1 << 20,
      blockSize: 1 << 16,
      batchCapacity: 7,
      filter: `udp dst port ${port}`,
    });
    assert.equal(source.name, "af_packet::lo");
    assert.equal(source.settings.blockSize, 1 << 16);
    const sender = dgram.createSocket("udp4");
    const sentAt = Date.now() / 1000;
    try {
      for (let i = 0; i < 20; i++) {
        const payload = new Uint8Array(10 + i).fill(i);
        await new Promise((resolve) => sender.send(payload, port, "127.0.0.1", resolve));
      }
    } finally {
      sender.close();
    }
    // On lo every datagram passes the tap twice: going out and coming in.
    const seen: number[] = [];
    while (seen.length < 40) {
      const batch = await source.next();
      assert.ok(batch !== null);
      assert.ok(batch.count <= 7);
      for (let i = 0; i < batch.count; i++) {
        const frame = batch.bytes(i);
        assert.equal(batch.caplen[i], batch.wireLen[i]);
        assert.equal(batch.linkType[i], 1);
        assert.equal(batch.vlan[i], 0);
        assert.equal((frame[36]! << 8) | frame[37]!, port);
        const payloadLength = frame.length - 42;
        assert.ok(frame.subarray(42).every((b) => b === payloadLength - 10));
        assert.ok(Math.abs(batch.time(i) - sentAt) < 5);
        seen.push(payloadLength);
      }
    }
    seen.sort((a, b) => a - b);
    assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => 10 + (i >> 1)));
    const stats = source.stats();
    assert.equal(stats.received, 40);
    assert.equal(stats.link, 40);
    assert.equal(stats.dropped, 0);
    assert.equal(stats.bytes, seen.reduce((s, n) => s + n + 42, 0));
    // Nothing more comes: a pending next() resolves to null when closed.
    const pending = source.next();
    source.close();
    assert.equal(await pending, null);
    source.close();
    assert.equal(await source.next(), null);
  },
});
