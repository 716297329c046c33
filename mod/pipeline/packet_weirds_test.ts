import assert from "node:assert/strict";
import {
  type Borrowed,
  lend,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  PacketBatch,
  WEIRD_NAMES,
  ZEEK_WEIRDS,
} from "../../capture/mod.ts";
import { LogRegistry } from "../log/stream.ts";
import type { ZeekValue } from "../../zeek/types.ts";
import { WeirdLog } from "../analysis/weird/mod.ts";
import { type LocalNet, parseCidr } from "../../config/mod.ts";
import {
  bytes,
  concat,
  ethernet,
  fragmentV4,
  gre,
  ipv4,
  tcp,
  udp,
  vxlan,
} from "../../testing/frames.ts";
import { PacketPipeline, type PacketPipelineOptions } from "./mod.ts";

type Row = Record<string, ZeekValue>;

const T0 = 1_700_000_000;

interface Frame {
  readonly bytes: Uint8Array;
  /** Bytes captured (default: all). */
  readonly caplen?: number;
  /** Bytes on the wire (default: `bytes.length`). */
  readonly wireLen?: number;
}

/** A batch of `frames`, one per second from T0. */
function batchOf(
  frames: readonly (Uint8Array | Frame)[],
  linkType: number,
  vouched?: readonly number[],
): Borrowed<PacketBatch> {
  const list = frames.map((f) => f instanceof Uint8Array ? { bytes: f } : f);
  const batch = new PacketBatch(list.length, { checksumVouched: vouched !== undefined });
  batch.data = concat(...list.map((f) => f.bytes));
  let at = 0;
  list.forEach((f, i) => {
    batch.offset[i] = at;
    batch.caplen[i] = f.caplen ?? f.bytes.length;
    batch.wireLen[i] = f.wireLen ?? f.bytes.length;
    batch.linkType[i] = linkType;
    batch.tsSec[i] = T0 + i;
    batch.tsNsec[i] = 0;
    if (vouched !== undefined) batch.checksumVouched![i] = vouched[i]!;
    at += f.bytes.length;
  });
  batch.count = list.length;
  return lend(batch);
}

/** weird.log and conn.log rows of `frames` run through a pipeline with weird.log on. */
function run(
  frames: readonly (Uint8Array | Frame)[],
  linkType: number,
  options: PacketPipelineOptions = {},
  vouched?: readonly number[],
): { weirds: Row[]; conns: Row[] } {
  const weirds: Row[] = [];
  const conns: Row[] = [];
  const logs = new LogRegistry({
    validate: true,
    sink: {
      write(stream, _filter, values) {
        const row: Row = {};
        stream.columns.forEach((c, i) => (row[c.name] = values[i]));
        (stream.path === "weird" ? weirds : conns).push(row);
      },
    },
  });
  const pipeline = new PacketPipeline({
    ...options,
    sessions: { ...options.sessions, logs },
    weirds: new WeirdLog({ logs }),
  });
  pipeline.runBatch(batchOf(frames, linkType, vouched));
  pipeline.flush();
  return { weirds, conns };
}

/** A weird.log row as Zeek writes it; `id` is [orig_h, orig_p, resp_h, resp_p]. */
function weirdRow(
  ts: number,
  name: string,
  source: string | undefined,
  id?: readonly [string, number, string, number],
  uid?: string,
  addl?: string,
): Row {
  return {
    ts,
    uid,
    "id.orig_h": id?.[0],
    "id.orig_p": id?.[1],
    "id.resp_h": id?.[2],
    "id.resp_p": id?.[3],
    name,
    addl,
    notice: false,
    peer: "zeek",
    source,
  };
}

function datagram(payload = new Uint8Array(12), src = "10.0.0.1", dst = "10.0.0.2"): Uint8Array {
  return ipv4(17, udp(40000, 53, payload), { src, dst });
}

Deno.test("a truncated IPv4 header is a net weird of the IP analyzer", () => {
  const { weirds } = run([ethernet(0x0800, datagram().subarray(0, 12))], LINKTYPE_ETHERNET);
  assert.deepEqual(weirds, [weirdRow(T0, "truncated_IP", "IP")]);
});

Deno.test("an IP length beyond the wire is truncated_IP_len, a net weird", () => {
  const packet = ipv4(17, udp(40000, 53, new Uint8Array(12)), { totalLength: 200 });
  const { weirds } = run([packet], LINKTYPE_RAW);
  assert.deepEqual(weirds, [weirdRow(T0, "truncated_IP_len", "IP")]);
});

Deno.test("a cut transport header is a flow weird of its transport analyzer", () => {
  // IP says 10 bytes of TCP (Zeek's CheckHeaderTrunc: truncated_header); an ICMP header
  // cut by the snap length is internally_truncated_header.
  const cutTcp = ipv4(6, tcp({ sport: 1, dport: 2 }).subarray(0, 10));
  const icmpEcho = ipv4(1, bytes(8, 0, 0, 0, 0, 1, 0, 1), { src: "10.0.0.3" });
  const { weirds, conns } = run(
    [cutTcp, { bytes: icmpEcho, caplen: 24, wireLen: icmpEcho.length }],
    LINKTYPE_RAW,
  );
  assert.deepEqual(weirds, [
    weirdRow(T0, "truncated_header", "TCP", ["10.0.0.1", 0, "10.0.0.2", 0]),
    weirdRow(T0 + 1, "internally_truncated_header", "ICMP", ["10.0.0.3", 0, "10.0.0.2", 0]),
  ]);
  assert.equal(conns.length, 0);
});

Deno.test("a bad IP header checksum is a flow weird; ignore_checksums_nets and -C silence it", () => {
  const bad = ipv4(17, udp(40000, 53, new Uint8Array(4)), { badChecksum: true });
  assert.deepEqual(run([bad], LINKTYPE_RAW).weirds, [
    weirdRow(T0, "bad_IP_checksum", "IP", ["10.0.0.1", 0, "10.0.0.2", 0]),
  ]);
  const ignored = run([bad], LINKTYPE_RAW, {
    sessions: { ignoreChecksumsNets: [parseCidr("10.0.0.0/8") as LocalNet] },
  });
  assert.deepEqual(ignored.weirds, []);
  assert.deepEqual(run([bad], LINKTYPE_RAW, { checksums: false }).weirds, []);
});

Deno.test("a bad UDP checksum is a weird of the connection, with its uid", () => {
  const bad = datagram();
  bad[26]! ^= 0xff;
  const { weirds, conns } = run([datagram(), bad], LINKTYPE_RAW);
  assert.equal(conns.length, 1);
  assert.equal(conns[0]!["history"], "DC");
  assert.deepEqual(weirds, [
    weirdRow(
      T0 + 1,
      "bad_UDP_checksum",
      "UDP",
      ["10.0.0.1", 40000, "10.0.0.2", 53],
      conns[0]!["uid"] as string,
    ),
  ]);
  // zeek -C does not check, and a packet the kernel vouched for is not held against it.
  assert.deepEqual(run([datagram(), bad], LINKTYPE_RAW, { checksums: false }).weirds, []);
  assert.deepEqual(run([datagram(), bad], LINKTYPE_RAW, {}, [0, 1]).weirds, []);
});

Deno.test("a UDP length field that differs from the IP payload: the connection's weird with both lengths", () => {
  const packet = ipv4(17, udp(40000, 53, new Uint8Array(12), 30));
  const { weirds, conns } = run([packet], LINKTYPE_RAW);
  assert.deepEqual(weirds, [
    weirdRow(
      T0,
      "UDP_datagram_length_mismatch",
      "UDP",
      ["10.0.0.1", 40000, "10.0.0.2", 53],
      conns[0]!["uid"] as string,
      "30 != 20",
    ),
  ]);
});

Deno.test("an overlapping fragment is a flow weird without a source, as Frag.cc raises it", () => {
  const parts = fragmentV4(datagram(new Uint8Array(100)), 56);
  assert.equal(parts.length, 2);
  const { weirds, conns } = run([parts[0]!, parts[0]!, parts[1]!], LINKTYPE_RAW);
  assert.deepEqual(weirds, [
    weirdRow(T0 + 1, "fragment_overlap", undefined, ["10.0.0.1", 0, "10.0.0.2", 0]),
  ]);
  assert.equal(conns.length, 1);
});

Deno.test("a weird inside a tunnel gets _in_tunnel", () => {
  const inner = datagram(new Uint8Array(12), "192.168.0.1", "192.168.0.2");
  const overGre = ipv4(47, gre(0x0800, inner.subarray(0, 12)), { src: "1.1.1.1", dst: "2.2.2.2" });
  // An Ethernet frame too short in VXLAN: the decoder goes back to the outer datagram,
  // Zeek raised it on the inner packet.
  const overVxlan = ipv4(17, udp(50000, 4789, vxlan(7, bytes(1, 2, 3, 4, 5, 6, 7, 8))), {
    src: "3.3.3.3",
    dst: "3.3.3.9",
  });
  const { weirds } = run([overGre, overVxlan], LINKTYPE_RAW);
  assert.deepEqual(weirds, [
    weirdRow(T0, "truncated_IP_in_tunnel", "IP"),
    weirdRow(T0 + 1, "truncated_ethernet_frame_in_tunnel", "ETHERNET"),
  ]);
});

Deno.test("one tunnel too deep: IPTunnel's flow weird on the packet it refused", () => {
  const innermost = datagram(new Uint8Array(8), "192.168.0.1", "192.168.0.2");
  const third = ipv4(47, gre(0x0800, innermost), { src: "10.10.11.2", dst: "10.10.13.2" });
  const second = ipv4(47, gre(0x0800, third), { src: "10.0.0.5", dst: "10.0.0.6" });
  const outer = ipv4(47, gre(0x0800, second), { src: "1.1.1.1", dst: "2.2.2.2" });
  const { weirds } = run([outer], LINKTYPE_RAW);
  assert.deepEqual(weirds, [
    weirdRow(
      T0,
      "exceeded_tunnel_max_depth_in_tunnel",
      "IPTUNNEL",
      ["10.10.11.2", 0, "10.10.13.2", 0],
    ),
  ]);
});

Deno.test("weir's own weird names are counted, never logged", () => {
  const frame = ethernet(0x8847, bytes(0, 0, 0x11, 64, 0x00, 1, 2, 3));
  const { weirds } = run([frame], LINKTYPE_ETHERNET);
  assert.deepEqual(weirds, []);
  assert.equal(ZEEK_WEIRDS.no_ip_in_mpls_payload, null);
});

Deno.test("every weird name has Zeek's report or is marked weir's own", () => {
  for (const name of WEIRD_NAMES) assert.ok(name in ZEEK_WEIRDS, name);
  assert.equal(Object.keys(ZEEK_WEIRDS).length, WEIRD_NAMES.length);
});

Deno.test("VXLAN too deep is VXLAN's flow weird on the datagram that carries it", () => {
  const frame = ethernet(0x0800, datagram(new Uint8Array(8), "192.168.0.1", "192.168.0.2"));
  const carrier = ipv4(17, udp(50000, 4789, vxlan(7, frame)), { src: "3.3.3.3", dst: "3.3.3.9" });
  const second = ipv4(47, gre(0x0800, carrier), { src: "10.0.0.5", dst: "10.0.0.6" });
  const outer = ipv4(47, gre(0x0800, second), { src: "1.1.1.1", dst: "2.2.2.2" });
  const { weirds } = run([outer], LINKTYPE_RAW);
  assert.deepEqual(weirds, [
    weirdRow(T0, "exceeded_tunnel_max_depth_in_tunnel", "VXLAN", ["3.3.3.3", 0, "3.3.3.9", 0]),
  ]);
});

Deno.test("under -C a zero IP length goes on to the header checks, and both weirds are logged", () => {
  // Total length 0, header length 60 in a 24-byte packet: Zeek takes the captured length
  // as the total (ignore_checksums), then finds the header longer than that.
  const packet = ipv4(17, bytes(0, 0, 0, 0), { totalLength: 0 });
  packet[0] = 0x4f;
  const { weirds } = run([packet], LINKTYPE_RAW, { checksums: false });
  assert.deepEqual(weirds, [
    weirdRow(T0, "ip_hdr_len_zero", "IP"),
    weirdRow(T0, "invalid_IP_header_size", "IP"),
  ]);
});
