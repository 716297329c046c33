import assert from "node:assert/strict";
import { LINKTYPE_RAW } from "./link_type.ts";
import { openPcapFile } from "./pcap_file.ts";
import { createPcapWriter, openPcapWriter, WRITER_FLUSH_THRESHOLD } from "./pcap_writer.ts";

async function readTimes(bytes: Uint8Array): Promise<Array<[number, number]>> {
  const path = await Deno.makeTempFile({ suffix: ".pcapng" });
  try {
    await Deno.writeFile(path, bytes);
    await using source = await openPcapFile(path);
    const out: Array<[number, number]> = [];
    for (let b = await source.next(); b !== null; b = await source.next()) {
      for (let i = 0; i < b.count; i++) out.push([b.tsSec[i]!, b.tsNsec[i]!]);
    }
    return out;
  } finally {
    await Deno.remove(path);
  }
}

Deno.test("pcapng timestamps survive every resolution exactly (decimal) or within a tick (binary)", async () => {
  const times: Array<[number, number]> = [
    [0, 0],
    [1, 1],
    [1700000000, 123456789],
    [4294967295, 999999999],
    [2147483648, 500000000],
  ];
  for (const resolution of [9, 6, 3, 0, -10, -30]) {
    const w = createPcapWriter({ format: "pcapng", tsResolution: resolution });
    for (const [sec, nsec] of times) w.write(sec, nsec, new Uint8Array(20));
    const read = await readTimes(w.bytes());
    read.forEach(([sec, nsec], i) => {
      const [wantSec, wantNsec] = times[i]!;
      assert.equal(sec, wantSec, `resolution ${resolution}, time ${i}: seconds`);
      if (resolution >= 0) {
        const unit = 10 ** (9 - resolution);
        assert.equal(
          nsec,
          Math.floor(wantNsec / unit) * unit,
          `resolution ${resolution}, time ${i}`,
        );
      } else {
        assert.ok(
          Math.abs(nsec - wantNsec) <= Math.ceil(1e9 / 2 ** -resolution) + 1,
          `resolution ${resolution}: ${nsec} vs ${wantNsec}`,
        );
      }
    });
  }
});

Deno.test("a file writer writes the same bytes as a memory writer, through flushes", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    const file = await openPcapWriter(path, { format: "pcap-ns", linkType: LINKTYPE_RAW });
    const memory = createPcapWriter({ format: "pcap-ns", linkType: LINKTYPE_RAW });
    const frame = new Uint8Array(1400).fill(7);
    let flushed = 0;
    for (let i = 0; i < 4000; i++) {
      const at = file.begin(frame.length);
      file.buffer.set(frame, at);
      file.end(1700000000 + i, i, frame.length);
      memory.write(1700000000 + i, i, frame);
      if (file.needsFlush) {
        await file.flush();
        flushed++;
      }
    }
    assert.ok(flushed >= 1, "crossed the flush threshold");
    assert.ok(file.buffered < WRITER_FLUSH_THRESHOLD);
    assert.equal(file.packets, 4000);
    await file.close();
    await file.close();
    assert.deepEqual(await Deno.readFile(path), memory.bytes());
    assert.throws(() => file.bytes(), /Cannot take the bytes of a writer that writes to a file/);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("classic headers: magic, version, snap length, link type, byte order", () => {
  const le = createPcapWriter({ snaplen: 1500 }).bytes();
  assert.deepEqual(Array.from(le.subarray(0, 8)), [0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]);
  assert.equal(new DataView(le.buffer).getUint32(16, true), 1500);
  assert.equal(new DataView(le.buffer).getUint32(20, true), 1);
  const be = createPcapWriter({ format: "pcap-ns", bigEndian: true }).bytes();
  assert.deepEqual(Array.from(be.subarray(0, 4)), [0xa1, 0xb2, 0x3c, 0x4d]);
});

Deno.test("misuse is refused with a message", () => {
  assert.throws(
    () => createPcapWriter({ format: "erf" as "pcap" }),
    /Cannot write trace format "erf": use pcap, pcap-ns, pcapng/,
  );
  assert.throws(
    () => createPcapWriter().addInterface(1),
    /Cannot add an interface to a classic pcap file/,
  );
  assert.throws(
    () => createPcapWriter().writeSimple(new Uint8Array(4)),
    /simple packet block to a classic pcap file/,
  );
  assert.throws(
    () => createPcapWriter({ format: "pcapng" }).write(0, 0, new Uint8Array(4), 4, 2),
    /interface 2: add it first/,
  );
});
