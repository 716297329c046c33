import assert from "node:assert/strict";
import { PacketDecoder } from "../capture/decode.ts";
import {
  CHECKSUM_BAD,
  DecodedPacket,
  formatAddress,
  OUTCOME_FRAGMENT,
  OUTCOME_IP,
} from "../capture/decoded_packet.ts";
import { flowKeyInto } from "../capture/flow_hash.ts";
import { generateTrace, generateTraceBytes } from "./generate.ts";
import { openPcapFile } from "../capture/pcap_file.ts";

const OPTIONS = {
  flows: 400,
  packetsPerFlow: 9,
  ipv6Share: 0.3,
  vlanShare: 0.3,
  fragmentsShare: 0.1,
  seed: 42,
};

Deno.test("the same seed gives the same bytes; another seed does not", async () => {
  const a = await generateTraceBytes(OPTIONS);
  const b = await generateTraceBytes(OPTIONS);
  const c = await generateTraceBytes({ ...OPTIONS, seed: 43 });
  assert.deepEqual(a.bytes, b.bytes);
  assert.notDeepEqual(a.bytes, c.bytes);
  assert.deepEqual(a.truth, b.truth);
});

Deno.test("the totals of the ground truth add up", async () => {
  const { bytes, truth } = await generateTraceBytes(OPTIONS);
  assert.equal(truth.flows.length, 400);
  assert.equal(truth.flows.reduce((n, f) => n + f.packets, 0), truth.packets);
  assert.equal(truth.flows.reduce((n, f) => n + f.bytes, 0), truth.bytes);
  assert.equal(truth.flows.reduce((n, f) => n + f.datagrams, 0), truth.datagrams);
  assert.equal(bytes.length, 24 + 16 * truth.packets + truth.bytes);
  for (const f of truth.flows) {
    assert.equal(f.clientPackets + f.serverPackets, f.packets);
    if (f.proto === "tcp") assert.equal(f.packets, 9);
    if (f.fragmented) {
      assert.equal(f.packets, f.datagrams + 2);
      assert.equal(f.ipVersion, 4);
    }
  }
  const kinds = new Set(
    truth.flows.map((f) =>
      `${f.proto}/${f.ipVersion}/${f.vlan !== 0}/${f.innerVlan !== 0}/${f.fragmented}`
    ),
  );
  for (
    const k of [
      "tcp/4/false/false/false",
      "tcp/6/true/true/false",
      "udp/4/true/false/false",
      "icmp/6/false/false/false",
      "udp/4/false/false/true",
    ]
  ) {
    assert.ok(kinds.has(k), `a ${k} flow`);
  }
});

Deno.test("decoding the trace reproduces every flow of the ground truth", async () => {
  const { bytes, truth } = await generateTraceBytes(OPTIONS);
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  await Deno.writeFile(path, bytes);
  try {
    await using source = await openPcapFile(path);
    const decoder = new PacketDecoder();
    const d = new DecodedPacket();
    const key = new Uint32Array(11);
    interface Seen {
      client: string;
      clientDatagrams: number;
      serverDatagrams: number;
      clientIpBytes: number;
      serverIpBytes: number;
      vlan: number;
      innerVlan: number;
      nextSeq: Map<string, number>;
    }
    const flows = new Map<string, Seen>();
    let fragments = 0;
    for (let batch = await source.next(); batch !== null; batch = await source.next()) {
      for (let i = 0; i < batch.count; i++) {
        const outcome = decoder.decode(batch, i, d);
        if (outcome === OUTCOME_FRAGMENT) {
          fragments++;
          continue;
        }
        assert.equal(outcome, OUTCOME_IP);
        assert.notEqual(d.ipChecksum, CHECKSUM_BAD);
        assert.notEqual(d.l4Checksum, CHECKSUM_BAD);
        flowKeyInto(d, key);
        const k = key.join(",");
        const src = formatAddress(d.addr, 0);
        let f = flows.get(k);
        if (f === undefined) {
          f = {
            client: src,
            clientDatagrams: 0,
            serverDatagrams: 0,
            clientIpBytes: 0,
            serverIpBytes: 0,
            vlan: d.vlan,
            innerVlan: d.innerVlan,
            nextSeq: new Map(),
          };
          flows.set(k, f);
        }
        assert.equal(d.vlan, f.vlan);
        assert.equal(d.innerVlan, f.innerVlan);
        if (src === f.client) {
          f.clientDatagrams++;
          f.clientIpBytes += d.ipTotalLen;
        } else {
          f.serverDatagrams++;
          f.serverIpBytes += d.ipTotalLen;
        }
        if (d.proto === 6) {
          const dir = src;
          const other = formatAddress(d.addr, 4);
          const expected = f.nextSeq.get(dir);
          if (expected !== undefined) assert.equal(d.tcpSeq, expected, "sequence continues");
          if ((d.tcpFlags & 0x10) !== 0 && f.nextSeq.has(other)) {
            assert.equal(d.tcpAck, f.nextSeq.get(other), "ack covers the peer");
          }
          const consumed = d.payloadLen + ((d.tcpFlags & 0x02) !== 0 ? 1 : 0) +
            ((d.tcpFlags & 0x01) !== 0 ? 1 : 0);
          f.nextSeq.set(dir, (d.tcpSeq + consumed) >>> 0);
        }
      }
    }
    assert.equal(flows.size, truth.flows.length);
    assert.equal(fragments, 2 * truth.flows.filter((f) => f.fragmented).length);
    const byClient = new Map([...flows.values()].map((f) => [f.client, f]));
    for (const t of truth.flows) {
      const f = byClient.get(t.client);
      assert.ok(f, `flow of ${t.client}`);
      assert.equal(f.clientDatagrams, t.clientDatagrams, t.client);
      assert.equal(f.serverDatagrams, t.serverDatagrams, t.client);
      assert.equal(f.clientIpBytes, t.clientIpBytes, t.client);
      assert.equal(f.serverIpBytes, t.serverIpBytes, t.client);
      assert.equal(f.vlan, t.vlan);
      assert.equal(f.innerVlan, t.innerVlan);
    }
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("generateTrace writes a file in the chosen format", async () => {
  const path = await Deno.makeTempFile({ suffix: ".pcapng" });
  try {
    const truth = await generateTrace(path, {
      flows: 5,
      format: "pcapng",
      rate: 1000,
      startTime: 1600000000,
    });
    await using source = await openPcapFile(path);
    assert.equal(source.format, "pcapng");
    const batch = await source.next();
    assert.equal(batch?.count, truth.packets);
    assert.equal(batch.tsSec[0], 1600000000);
    assert.equal(batch.tsNsec[1], 1000000);
    assert.equal(truth.firstTime, 1600000000);
    assert.equal(truth.lastTime, 1600000000 + (truth.packets - 1) / 1000);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("options out of range are refused with a message", async () => {
  await assert.rejects(
    generateTraceBytes({ ipv6Share: 1.5 }),
    /ipv6Share 1.5: use a share from 0 to 1/,
  );
  await assert.rejects(generateTraceBytes({ flows: -1 }), /flows -1: use an integer from 0/);
  await assert.rejects(generateTraceBytes({ rate: 0 }), /rate 0: use packets per second > 0/);
  await assert.rejects(
    generateTraceBytes({ udpShare: 0.8, icmpShare: 0.5 }),
    /udpShare \+ icmpShare 1.3/,
  );
  await assert.rejects(generateTraceBytes({ payloadMin: 100, payloadMax: 50 }), /payloadMax 50/);
  const empty = await generateTraceBytes({ flows: 0 });
  assert.equal(empty.truth.packets, 0);
  assert.equal(empty.bytes.length, 24);
});
