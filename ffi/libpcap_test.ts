import assert from "node:assert/strict";
import {
  BPF_INSTRUCTION_SIZE,
  compileFilter,
  FilterProgram,
  filterTarget,
  NEXT_END_OF_FILE,
  PacketBuffer,
  PCAP_STATUS,
  PcapError,
  PcapHandle,
  PcapPacketHeader,
  pcapStatusName,
  pcapVersion,
} from "./libpcap.ts";

/** tcpdump's own compilation of the same filter, as `{ code, jt, jf, k }` lines. */
async function tcpdumpProgram(expression: string): Promise<string[] | undefined> {
  try {
    const out = await new Deno.Command("tcpdump", {
      args: ["-y", "EN10MB", "-dd", expression],
      stdout: "piped",
      stderr: "null",
    }).output();
    if (!out.success) return undefined;
    return new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => l.replace(/,$/, ""));
  } catch {
    return undefined;
  }
}

/** A 60-byte Ethernet/IPv4/UDP frame from port 1000 to `dstPort`. */
function udpFrame(dstPort: number): Uint8Array {
  const f = new Uint8Array(60);
  f.set([0x08, 0x00], 12);
  f.set([0x45, 0, 0, 28, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2], 14);
  f.set([0x03, 0xe8, dstPort >> 8, dstPort & 0xff, 0, 8, 0, 0], 34);
  return f;
}

Deno.test("pcapVersion names libpcap", () => {
  assert.match(pcapVersion(), /^libpcap version \d+\.\d+/);
});

Deno.test("compileFilter produces the program tcpdump -dd prints", async () => {
  const filter = compileFilter("tcp port 80");
  assert.equal(filter.instructions.length, filter.count * BPF_INSTRUCTION_SIZE);
  const view = new DataView(filter.instructions.buffer, filter.instructions.byteOffset);
  const lines = [];
  for (let i = 0; i < filter.count; i++) {
    const o = i * 8;
    lines.push(
      `{ 0x${view.getUint16(o, true).toString(16)}, ${view.getUint8(o + 2)}, ${
        view.getUint8(o + 3)
      }, 0x${view.getUint32(o + 4, true).toString(16).padStart(8, "0")} }`,
    );
  }
  const reference = await tcpdumpProgram("tcp port 80");
  if (reference === undefined) console.log("tcpdump not installed: compared the length only");
  else assert.deepEqual(lines, reference);
  assert.ok(filter.count > 4);
});

Deno.test("compileFilter rejects bad syntax with libpcap's reason", () => {
  assert.throws(() => compileFilter("tcp prot 80"), (e: unknown) => {
    assert.ok(e instanceof PcapError);
    assert.match(e.message, /Cannot compile BPF filter "tcp prot 80": .*syntax error/);
    assert.match(e.message, /tcpdump -d/);
    return true;
  });
});

Deno.test("FilterProgram runs a compiled filter over packets in memory", () => {
  const program = new FilterProgram(compileFilter("udp dst port 53"));
  const buffer = new Uint8Array(new ArrayBuffer(8192));
  buffer.set(udpFrame(53), 0);
  buffer.set(udpFrame(54), 100);
  const target = filterTarget(buffer);
  assert.equal(program.matches(target, 0, 60, 60), true);
  assert.equal(program.matches(target, 100, 60, 60), false);
  // Cut before the port: the filter cannot read it and rejects.
  assert.equal(program.matches(target, 0, 30, 60), false);
});

Deno.test("openOffline + nextInto read a file libpcap understands", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/two.pcap`;
    const header = new Uint8Array(24);
    const h = new DataView(header.buffer);
    h.setUint32(0, 0xa1b2c3d4, true);
    h.setUint16(4, 2, true);
    h.setUint16(6, 4, true);
    h.setUint32(16, 65535, true);
    h.setUint32(20, 1, true);
    const records = [udpFrame(53), udpFrame(54)].map((frame, i) => {
      const r = new Uint8Array(16 + frame.length);
      const v = new DataView(r.buffer);
      v.setUint32(0, 1700000000 + i, true);
      v.setUint32(4, 250 * i, true);
      v.setUint32(8, frame.length, true);
      v.setUint32(12, frame.length + i, true);
      r.set(frame, 16);
      return r;
    });
    await Deno.writeFile(path, new Uint8Array([...header, ...records[0]!, ...records[1]!]));
    using handle = PcapHandle.openOffline(path);
    assert.equal(handle.datalink, 1);
    const buffer = new PacketBuffer(4096);
    const hdr = new PcapPacketHeader();
    assert.equal(handle.nextInto(buffer, 0, hdr), 1);
    assert.deepEqual([hdr.sec, hdr.fraction, hdr.caplen, hdr.wireLen], [1700000000, 0, 60, 60]);
    assert.deepEqual(buffer.bytes.subarray(0, 60), udpFrame(53));
    assert.equal(handle.nextInto(buffer, 64, hdr), 1);
    assert.deepEqual([hdr.sec, hdr.fraction, hdr.caplen, hdr.wireLen], [1700000001, 250, 60, 61]);
    assert.deepEqual(buffer.bytes.subarray(64, 124), udpFrame(54));
    assert.equal(handle.nextInto(buffer, 0, hdr), NEXT_END_OF_FILE);
    handle.close();
    handle.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openOffline names the file and the way out", () => {
  assert.throws(() => PcapHandle.openOffline("/nonexistent/x.pcap"), (e: unknown) => {
    assert.ok(e instanceof PcapError);
    assert.match(
      e.message,
      /Cannot open trace "\/nonexistent\/x.pcap" with libpcap: .*No such file/,
    );
    return true;
  });
});

Deno.test("openLive on a missing interface fails with PCAP_ERROR_NO_SUCH_DEVICE or a permission error", () => {
  assert.throws(() => PcapHandle.openLive("weirnosuch0"), (e: unknown) => {
    assert.ok(e instanceof PcapError);
    const expected: number[] = Deno.uid() === 0
      ? [PCAP_STATUS.NO_SUCH_DEVICE]
      : [PCAP_STATUS.PERM_DENIED, PCAP_STATUS.NO_SUCH_DEVICE];
    assert.ok(expected.includes(e.status), e.message);
    assert.match(e.message, /Cannot open libpcap capture on interface "weirnosuch0"/);
    return true;
  });
});

Deno.test("pcapStatusName names libpcap's codes", () => {
  assert.equal(pcapStatusName(PCAP_STATUS.PERM_DENIED), "PCAP_ERROR_PERM_DENIED");
  assert.equal(pcapStatusName(PCAP_STATUS.ERROR), "PCAP_ERROR");
  assert.equal(pcapStatusName(PCAP_STATUS.WARNING_PROMISC_NOTSUP), "PCAP_WARNING_PROMISC_NOTSUP");
  assert.equal(pcapStatusName(-99), "pcap status -99");
});
