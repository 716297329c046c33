import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { PacketDecoder } from "./decode.ts";
import { DecodedPacket, OUTCOME_IP, OUTCOME_MALFORMED } from "./decoded_packet.ts";
import { generateTraceBytes, type TraceTruth } from "../testing/generate.ts";
import { LINKTYPE_ETHERNET, LINKTYPE_RAW } from "./link_type.ts";
import { openPcapFile, type PcapFileOptions } from "./pcap_file.ts";
import { createPcapWriter, type TraceWriteFormat } from "./pcap_writer.ts";
import { TraceFormatError, TraceOpenError } from "./trace_errors.ts";

const START = 1700000000;
const FORMATS: TraceWriteFormat[] = ["pcap", "pcap-ns", "pcapng"];

async function withFile<T>(
  data: Uint8Array,
  fn: (path: string) => Promise<T>,
  suffix = ".pcap",
): Promise<T> {
  const path = await Deno.makeTempFile({ prefix: "weir-capture-", suffix });
  try {
    await Deno.writeFile(path, data);
    return await fn(path);
  } finally {
    await Deno.remove(path);
  }
}

interface Read {
  packets: number;
  bytes: number;
  sec: number[];
  nsec: number[];
  frames: Uint8Array[];
  linkTypes: number[];
  ifaces: number[];
  warning: string | undefined;
}

async function readAll(path: string, options: PcapFileOptions = {}): Promise<Read> {
  await using source = await openPcapFile(path, options);
  const out: Read = {
    packets: 0,
    bytes: 0,
    sec: [],
    nsec: [],
    frames: [],
    linkTypes: [],
    ifaces: [],
    warning: undefined,
  };
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    for (let i = 0; i < batch.count; i++) {
      out.sec.push(batch.tsSec[i]!);
      out.nsec.push(batch.tsNsec[i]!);
      out.frames.push(batch.bytes(i).slice());
      out.linkTypes.push(batch.linkType[i]!);
      out.ifaces.push(batch.iface[i]!);
      out.bytes += batch.wireLen[i]!;
    }
    out.packets += batch.count;
  }
  const stats = source.stats();
  assert.equal(stats.received, out.packets);
  assert.equal(stats.bytes, out.bytes);
  assert.equal(stats.dropped, 0);
  out.warning = stats.warning;
  assert.equal(await source.next(), null, "stays at the end");
  return out;
}

/** A trace at 3 packets per second, so timestamps have nanoseconds no microsecond can hold. */
function trace(format: TraceWriteFormat): Promise<{ bytes: Uint8Array; truth: TraceTruth }> {
  return generateTraceBytes({
    flows: 60,
    packetsPerFlow: 8,
    rate: 3,
    ipv6Share: 0.3,
    vlanShare: 0.3,
    fragmentsShare: 0.1,
    format,
    seed: 5,
  });
}

Deno.test("reads generated traces of every format: counts, bytes and timestamps", async () => {
  for (const format of FORMATS) {
    const { bytes, truth } = await trace(format);
    await withFile(bytes, async (path) => {
      const r = await readAll(path);
      assert.equal(r.packets, truth.packets, format);
      assert.equal(r.bytes, truth.bytes, format);
      assert.equal(r.warning, undefined);
      for (let k = 0; k < r.packets; k++) {
        const ns = Math.round((k * 1e9) / 3);
        const whole = Math.floor(ns / 1e9);
        const nsec = ns - whole * 1e9;
        assert.equal(r.sec[k], START + whole, `${format} packet ${k} seconds`);
        assert.equal(
          r.nsec[k],
          format === "pcap" ? Math.floor(nsec / 1000) * 1000 : nsec,
          `${format} packet ${k} ns`,
        );
      }
      assert.ok(r.nsec.some((n) => n % 1000 !== 0) === (format !== "pcap"));
      assert.ok(r.linkTypes.every((t) => t === LINKTYPE_ETHERNET));
    });
  }
});

Deno.test("records straddling the read buffer are moved, not lost", async () => {
  for (const format of FORMATS) {
    const { bytes } = await trace(format);
    await withFile(bytes, async (path) => {
      const reference = await readAll(path);
      for (
        const options of [{ bufferSize: 64 }, { bufferSize: 1000, batchCapacity: 7 }, {
          bufferSize: 1537,
        }, { batchCapacity: 1 }]
      ) {
        const r = await readAll(path, options);
        assert.equal(r.packets, reference.packets, `${format} ${JSON.stringify(options)}`);
        assert.deepEqual(r.frames, reference.frames);
        assert.deepEqual(r.nsec, reference.nsec);
      }
    });
  }
});

Deno.test("a truncated trace keeps the packets before the cut and says so", async () => {
  for (const format of FORMATS) {
    const { bytes, truth } = await trace(format);
    for (const cut of [1, 10, 30]) {
      await withFile(bytes.subarray(0, bytes.length - cut), async (path) => {
        const r = await readAll(path, { bufferSize: 4096 });
        assert.equal(r.packets, truth.packets - 1, `${format} cut ${cut}`);
        assert.match(
          r.warning ?? "",
          /is truncated: the last record at byte \d+ needs \d+ bytes but only \d+ remain; kept the \d+ packets before it/,
        );
      });
    }
  }
});

Deno.test("classic pcap in big-endian byte order and the modified variant", async () => {
  const w = createPcapWriter({ bigEndian: true, format: "pcap-ns" });
  w.write(START, 123456789, new Uint8Array(60).fill(1));
  w.write(START + 1, 5, new Uint8Array(70).fill(2), 1514);
  await withFile(w.bytes(), async (path) => {
    const r = await readAll(path);
    assert.deepEqual(r.nsec, [123456789, 5]);
    assert.equal(r.bytes, 60 + 1514);
    assert.equal(r.frames[1]!.length, 70);
  });

  const header = new Uint8Array(24);
  const view = new DataView(header.buffer);
  view.setUint32(0, 0xa1b2cd34, true);
  view.setUint16(4, 2, true);
  view.setUint16(6, 4, true);
  view.setUint32(16, 65535, true);
  view.setUint32(20, 1, true);
  const record = new Uint8Array(24 + 42);
  const rv = new DataView(record.buffer);
  rv.setUint32(0, START, true);
  rv.setUint32(4, 250000, true);
  rv.setUint32(8, 42, true);
  rv.setUint32(12, 42, true);
  record.fill(9, 24);
  const modified = new Uint8Array(24 + 2 * record.length);
  modified.set(header);
  modified.set(record, 24);
  modified.set(record, 24 + record.length);
  await withFile(modified, async (path) => {
    await using source = await openPcapFile(path);
    assert.equal(source.format, "pcap-modified");
    const r = await readAll(path);
    assert.equal(r.packets, 2);
    assert.deepEqual(r.frames[0], new Uint8Array(42).fill(9));
    assert.equal(r.nsec[0], 250000000);
  });
});

Deno.test("pcapng: interfaces with their own link types and resolutions, simple packets, unknown blocks, sections", async () => {
  const w = createPcapWriter({ format: "pcapng", tsResolution: 6 });
  const raw = w.addInterface(LINKTYPE_RAW, 65535, -20);
  w.write(START, 123456000, new Uint8Array(60).fill(1));
  w.write(START + 2, 500000000, new Uint8Array(20).fill(2), 20, raw);
  w.writeRaw(customBlock());
  w.writeSimple(new Uint8Array(61).fill(3));
  const first = w.bytes();
  const be = createPcapWriter({
    format: "pcapng",
    bigEndian: true,
    linkType: LINKTYPE_RAW,
    tsResolution: 9,
  });
  be.write(START + 9, 999999999, new Uint8Array(33).fill(4));
  const both = new Uint8Array(first.length + be.bytes().length);
  both.set(first);
  both.set(be.bytes(), first.length);
  await withFile(both, async (path) => {
    const r = await readAll(path, { bufferSize: 100 });
    assert.equal(r.packets, 4);
    assert.deepEqual(r.linkTypes, [
      LINKTYPE_ETHERNET,
      LINKTYPE_RAW,
      LINKTYPE_ETHERNET,
      LINKTYPE_RAW,
    ]);
    assert.deepEqual(r.ifaces, [0, 1, 0, 0]);
    assert.deepEqual(r.sec, [START, START + 2, START + 2, START + 9]);
    assert.equal(r.nsec[0], 123456000);
    assert.ok(Math.abs(r.nsec[1]! - 500000000) <= 1, `2^-20 resolution: ${r.nsec[1]}`);
    assert.equal(r.nsec[3], 999999999);
    assert.deepEqual(r.frames[2], new Uint8Array(61).fill(3));
  }, ".pcapng");
});

function customBlock(): Uint8Array {
  const b = new Uint8Array(20);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0x00000bad, true);
  v.setUint32(4, 20, true);
  v.setUint32(16, 20, true);
  return b;
}

Deno.test("pcapng: if_tsoffset shifts the seconds", async () => {
  const w = createPcapWriter({ format: "pcapng" });
  const idb = new Uint8Array(32);
  const v = new DataView(idb.buffer);
  v.setUint32(0, 1, true);
  v.setUint32(4, 32, true);
  v.setUint16(8, LINKTYPE_RAW, true);
  v.setUint16(16, 14, true);
  v.setUint16(18, 8, true);
  v.setBigInt64(20, 1000n, true);
  v.setUint32(28, 32, true);
  w.writeRaw(idb);
  const epb = new Uint8Array(32 + 20);
  const e = new DataView(epb.buffer);
  e.setUint32(0, 6, true);
  e.setUint32(4, epb.length, true);
  e.setUint32(8, 1, true);
  e.setUint32(16, 100_000_000, true);
  e.setUint32(20, 20, true);
  e.setUint32(24, 20, true);
  e.setUint32(48, epb.length, true);
  w.writeRaw(epb);
  await withFile(w.bytes(), async (path) => {
    const r = await readAll(path);
    assert.equal(r.sec[0], 100 + 1000);
    assert.deepEqual(r.linkTypes, [LINKTYPE_RAW]);
  }, ".pcapng");
});

Deno.test("corrupt files throw TraceFormatError with the offset and what is wrong", async () => {
  const cases: Array<[string, Uint8Array, RegExp]> = [
    [
      "text",
      new TextEncoder().encode("hello, this is not a trace\n"),
      /not a pcap or pcapng file \(magic 0x68656c6c\); give a capture written by/,
    ],
    [
      "gzip",
      Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0]),
      /magic 0x1f8b0800\); it is gzip-compressed: decompress it first/,
    ],
    ["empty", new Uint8Array(0), /the file is empty; it is not a pcap or pcapng file/],
    ["tiny", Uint8Array.from([0xd4, 0xc3]), /the file is only 2 bytes long/],
    [
      "short header",
      Uint8Array.from([0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0]),
      /ends inside its 24-byte pcap header/,
    ],
  ];
  for (const [name, data, pattern] of cases) {
    await withFile(data, async (path) => {
      await assert.rejects(openPcapFile(path), (err: unknown) => {
        assert.ok(err instanceof TraceFormatError, name);
        assert.match(err.message, new RegExp(`^Cannot read trace "${escape(path)}": `));
        assert.match(err.message, pattern);
        return true;
      });
    });
  }
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("an absurd captured length ends the trace after the packets before it", async () => {
  const w = createPcapWriter();
  w.write(START, 0, new Uint8Array(60));
  w.write(START, 1, new Uint8Array(60));
  const bytes = w.bytes();
  const bad = new Uint8Array(bytes.length + 16);
  bad.set(bytes);
  new DataView(bad.buffer).setUint32(bytes.length + 8, 0x10000000, true);
  await withFile(bad, async (path) => {
    await using source = await openPcapFile(path);
    const batch = await source.next();
    assert.equal(batch?.count, 2);
    await assert.rejects(source.next(), (err: unknown) => {
      assert.ok(err instanceof TraceFormatError);
      assert.equal(err.offset, bytes.length);
      assert.match(
        err.message,
        /the packet record at byte \d+ claims 268435456 captured bytes, more than the 262144 a capture can hold; the file is corrupt/,
      );
      assert.match(err.message, new RegExp(`record at byte ${bytes.length} `));
      return true;
    });
  });
  const ng = createPcapWriter({ format: "pcapng" });
  ng.write(START, 0, new Uint8Array(60));
  const ngBytes = ng.bytes();
  new DataView(ngBytes.buffer).setUint32(ngBytes.length - 92 + 8, 3, true);
  await assert.rejects(
    withFile(ngBytes, (path) => readAll(path)),
    /a packet refers to interface 3, but the section defines only 1 \(0–0\); the file is corrupt/,
  );
  // The interface description block taken out: the packet block comes first.
  const view = new DataView(ngBytes.buffer, ngBytes.byteOffset);
  const shb = view.getUint32(4, true);
  const idb = view.getUint32(shb + 4, true);
  const noInterface = new Uint8Array([...ngBytes.subarray(0, shb), ...ngBytes.subarray(shb + idb)]);
  new DataView(noInterface.buffer).setUint32(noInterface.length - 92 + 8, 0, true);
  await assert.rejects(
    withFile(noInterface, (path) => readAll(path)),
    /a packet block comes before any interface description block; the file is corrupt/,
  );
});

Deno.test("missing or unreadable paths throw TraceOpenError naming the way out", async () => {
  await assert.rejects(openPcapFile("/nonexistent/weir/x.pcap"), (err: unknown) => {
    assert.ok(err instanceof TraceOpenError);
    assert.equal(
      err.message,
      'Cannot open trace "/nonexistent/weir/x.pcap": no such file; check the path',
    );
    return true;
  });
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(openPcapFile(dir), (err: unknown) => {
      assert.ok(err instanceof TraceOpenError);
      assert.match(err.message, /: it is a directory; name a \.pcap or \.pcapng file$/);
      return true;
    });
  } finally {
    await Deno.remove(dir);
  }
  await assert.rejects(
    openPcapFile("x", { bufferSize: 0 }),
    /bufferSize 0: use a positive integer/,
  );
});

Deno.test("close is idempotent and ends the stream", async () => {
  const { bytes } = await trace("pcap");
  await withFile(bytes, async (path) => {
    const source = await openPcapFile(path);
    assert.equal(source.linkType, LINKTYPE_ETHERNET);
    assert.equal(source.snaplen, 262144);
    assert.equal(source.name, path);
    assert.ok((await source.next())!.count > 0);
    source.close();
    source.close();
    assert.equal(await source.next(), null);
  });
});

async function findTshark(): Promise<string | undefined> {
  for (const path of ["/usr/bin/tshark", "/usr/local/bin/tshark"]) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      continue;
    }
  }
  return undefined;
}

const TSHARK = await findTshark();
if (TSHARK === undefined) {
  console.log("capture/pcap_file_test.ts: tshark not found, skipping the tshark cross-check");
}

Deno.test({
  name: "packet and byte counts equal tshark's io,stat for the same file",
  ignore: TSHARK === undefined,
  async fn() {
    for (const format of ["pcap", "pcapng"] as const) {
      const { bytes, truth } = await generateTraceBytes({
        flows: 300,
        packetsPerFlow: 9,
        ipv6Share: 0.2,
        vlanShare: 0.2,
        fragmentsShare: 0.05,
        format,
        seed: 77,
      });
      await withFile(bytes, async (path) => {
        const r = await readAll(path);
        const out = await new Deno.Command(TSHARK!, {
          args: ["-r", path, "-q", "-z", "io,stat,0"],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
        const text = new TextDecoder().decode(out.stdout);
        const row = text.match(/^\|[^|\n]*<>[^|\n]*\|\s*(\d+)\s*\|\s*(\d+)\s*\|/m);
        assert.ok(row, `no totals in tshark output:\n${text}`);
        assert.equal(r.packets, Number(row[1]), `${format} frames`);
        assert.equal(r.bytes, Number(row[2]), `${format} bytes`);
        assert.equal(r.packets, truth.packets);
      });
    }
  },
});

const CONFORMANCE = fileURLToPath(new URL("../../shared/conformance/zeek-conn/", import.meta.url));

interface ManifestPcap {
  file: string;
  packets: number;
}

async function loadManifest(): Promise<Array<{ case: string; pcaps: ManifestPcap[] }> | undefined> {
  try {
    return JSON.parse(await Deno.readTextFile(`${CONFORMANCE}manifest.json`)).cases;
  } catch {
    return undefined;
  }
}

const MANIFEST = await loadManifest();
if (MANIFEST === undefined) {
  console.log(
    `capture/pcap_file_test.ts: no conformance corpus at ${CONFORMANCE}, skipping the real traces`,
  );
}

Deno.test({
  name: "conformance traces: packet counts match the manifest and every packet decodes",
  ignore: MANIFEST === undefined,
  async fn() {
    const seen = new Map<
      string,
      {
        ip: number;
        tunnels: number;
        vlans: number;
        pppoe: number;
        mpls: number;
        protos: Set<number>;
      }
    >();
    let traces = 0;
    for (const c of MANIFEST!) {
      for (const pcap of c.pcaps) {
        const path = `${CONFORMANCE}${c.case}/${pcap.file}`;
        await using source = await openPcapFile(path);
        const decoder = new PacketDecoder();
        const d = new DecodedPacket();
        const facts = { ip: 0, tunnels: 0, vlans: 0, pppoe: 0, mpls: 0, protos: new Set<number>() };
        let packets = 0;
        for (let batch = await source.next(); batch !== null; batch = await source.next()) {
          for (let i = 0; i < batch.count; i++) {
            const outcome = decoder.decode(batch, i, d);
            if (outcome === OUTCOME_IP) facts.ip++;
            if (outcome !== OUTCOME_MALFORMED) {
              if (d.tunnelDepth > 0) facts.tunnels++;
              if (d.vlanTags > 0) facts.vlans++;
              if (d.pppoe) facts.pppoe++;
              if (d.mplsLabels > 0) facts.mpls++;
              facts.protos.add(d.proto);
            }
          }
          packets += batch.count;
        }
        assert.equal(packets, pcap.packets, `${c.case}/${pcap.file}`);
        assert.equal(source.stats().warning, undefined, `${c.case}/${pcap.file}`);
        seen.set(pcap.file, facts);
        traces++;
      }
    }
    assert.ok(traces >= 1);
    const facts = (file: string) => seen.get(file);
    if (facts("llc.pcap")) assert.equal(facts("llc.pcap")!.ip, 1333, "FDDI: every packet is IP");
    if (facts("q-in-q.pcap")) assert.ok(facts("q-in-q.pcap")!.vlans > 0);
    if (facts("pppoe.pcap")) {
      assert.ok(facts("pppoe.pcap")!.pppoe > 0);
      assert.ok(facts("pppoe.pcap")!.protos.has(58));
    }
    if (facts("gre-sample.pcap")) assert.ok(facts("gre-sample.pcap")!.tunnels > 0);
    if (facts("gtp1_gn_normal_incl_fragmentation.pcap")) {
      assert.ok(facts("gtp1_gn_normal_incl_fragmentation.pcap")!.tunnels > 0);
    }
    if (facts("mixed-vlan-mpls.pcap")) {
      assert.ok(facts("mixed-vlan-mpls.pcap")!.mpls > 0);
      assert.ok(facts("mixed-vlan-mpls.pcap")!.vlans > 0);
    }
    if (facts("sctp.pcap")) assert.ok(facts("sctp.pcap")!.protos.has(132));
    // 6 ARP requests and 4 spanning-tree frames are the rest.
    if (facts("wikipedia.pcap")) assert.equal(facts("wikipedia.pcap")!.ip, 126);
  },
});
