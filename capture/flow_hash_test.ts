import assert from "node:assert/strict";
import { ethernet, fragmentV4, icmp, ipv4, ipv6, tcp, udp, vxlan } from "../testing/frames.ts";
import { PacketDecoder } from "./decode.ts";
import { DecodedPacket, OUTCOME_FRAGMENT, OUTCOME_IP } from "./decoded_packet.ts";
import { flowHash, flowKeyInto, hashTuple, workerFor } from "./flow_hash.ts";
import { generateTraceBytes } from "../testing/generate.ts";
import { openPcapFile } from "./pcap_file.ts";

function hashOf(frame: Uint8Array, decoder = new PacketDecoder()): number {
  const d = new DecodedPacket();
  decoder.decodeFrame(frame, 0, frame.length, frame.length, 1, 0, 1, d);
  return flowHash(d);
}

Deno.test("both directions of a flow hash alike", () => {
  const pairs: Array<[Uint8Array, Uint8Array]> = [
    [
      ethernet(
        0x0800,
        ipv4(6, tcp({ sport: 40000, dport: 80 }), { src: "10.0.0.1", dst: "10.0.0.2" }),
      ),
      ethernet(
        0x0800,
        ipv4(6, tcp({ sport: 80, dport: 40000, flags: 0x12 }), {
          src: "10.0.0.2",
          dst: "10.0.0.1",
        }),
      ),
    ],
    [
      ethernet(
        0x86dd,
        ipv6(17, udp(5353, 53, new Uint8Array(4)), { src: "fd00::1", dst: "2001:db8::9" }),
      ),
      ethernet(
        0x86dd,
        ipv6(17, udp(53, 5353, new Uint8Array(9)), { src: "2001:db8::9", dst: "fd00::1" }),
      ),
    ],
    [
      ethernet(
        0x0800,
        ipv4(1, icmp(8, 0, 1, new Uint8Array(8)), { src: "1.2.3.4", dst: "5.6.7.8" }),
      ),
      ethernet(
        0x0800,
        ipv4(1, icmp(0, 0, 1, new Uint8Array(8)), { src: "5.6.7.8", dst: "1.2.3.4" }),
      ),
    ],
  ];
  for (const [a, b] of pairs) {
    assert.equal(hashOf(a), hashOf(b));
    assert.notEqual(hashOf(a), 0);
  }
  const words = new Int32Array(8);
  for (let i = 0; i < 1000; i++) {
    for (let k = 0; k < 8; k++) words[k] = Math.imul(i + 1, 0x9e3779b1 + k);
    const swapped = Int32Array.from([...words.subarray(4), ...words.subarray(0, 4)]);
    assert.equal(hashTuple(words, 6, i, 65535 - i), hashTuple(swapped, 6, 65535 - i, i));
  }
});

Deno.test("ports, addresses and protocol all change the hash", () => {
  const base = ethernet(0x0800, ipv4(6, tcp({ sport: 40000, dport: 80 })));
  const others = [
    ethernet(0x0800, ipv4(6, tcp({ sport: 40001, dport: 80 }))),
    ethernet(0x0800, ipv4(6, tcp({ sport: 40000, dport: 81 }))),
    ethernet(0x0800, ipv4(6, tcp({ sport: 40000, dport: 80 }), { src: "10.0.0.3" })),
    ethernet(0x0800, ipv4(17, udp(40000, 80, new Uint8Array(0)))),
  ];
  for (const o of others) assert.notEqual(hashOf(o), hashOf(base));
});

Deno.test("fragments of a datagram hash alike; the reassembled datagram joins its flow", () => {
  const whole = ipv4(17, udp(4000, 53, new Uint8Array(3000)), { frag: 0 });
  const frags = fragmentV4(whole, 1480).map((f) => ethernet(0x0800, f));
  const noReassembly = new PacketDecoder({ reassembler: null });
  const d = new DecodedPacket();
  const hashes = frags.map((f) => {
    assert.equal(noReassembly.decodeFrame(f, 0, f.length, f.length, 1, 0, 1, d), OUTCOME_FRAGMENT);
    return flowHash(d);
  });
  assert.equal(new Set(hashes).size, 1);
  const decoder = new PacketDecoder();
  const reassembled = frags.map((f) => {
    decoder.decodeFrame(f, 0, f.length, f.length, 1, 0, 1, d);
    return d.outcome === OUTCOME_IP ? flowHash(d) : -1;
  });
  const small = ethernet(
    0x0800,
    ipv4(17, udp(53, 4000, new Uint8Array(10)), { src: "10.0.0.2", dst: "10.0.0.1" }),
  );
  assert.equal(reassembled[2], hashOf(small));
});

Deno.test("tunnelled packets hash on the outermost flow", () => {
  const inner = (sport: number) =>
    ethernet(0x0800, ipv4(6, tcp({ sport, dport: 443 }), { src: "172.16.0.1", dst: "172.16.0.2" }));
  const outer = (sport: number) =>
    ethernet(0x0800, ipv4(17, udp(sport, 4789, vxlan(1, inner(sport)))));
  assert.equal(
    hashOf(outer(1000)),
    hashOf(ethernet(0x0800, ipv4(17, udp(1000, 4789, new Uint8Array(50))))),
  );
  assert.notEqual(hashOf(outer(1000)), hashOf(outer(1001)));
});

Deno.test("packets without IP hash to 0", () => {
  assert.equal(hashOf(ethernet(0x0806, new Uint8Array(28))), 0);
  assert.equal(hashOf(new Uint8Array(5)), 0);
});

Deno.test("workerFor scales the hash into n buckets", () => {
  assert.equal(workerFor(0, 4), 0);
  assert.equal(workerFor(0xffffffff, 4), 3);
  assert.equal(workerFor(0x80000000, 2), 1);
  assert.equal(workerFor(0x7fffffff, 2), 0);
  assert.equal(workerFor(123456789, 1), 0);
  for (let h = 0; h < 2 ** 32; h += 65537 * 977) {
    const w = workerFor(h, 7);
    assert.ok(w >= 0 && w < 7);
  }
});

Deno.test("flowKeyInto writes one key for both directions", () => {
  const decoder = new PacketDecoder();
  const d = new DecodedPacket();
  const keyA = new Uint32Array(11);
  const keyB = new Uint32Array(11);
  const a = ethernet(
    0x0800,
    ipv4(6, tcp({ sport: 40000, dport: 80 }), { src: "10.0.0.9", dst: "10.0.0.2" }),
  );
  const b = ethernet(
    0x0800,
    ipv4(6, tcp({ sport: 80, dport: 40000 }), { src: "10.0.0.2", dst: "10.0.0.9" }),
  );
  decoder.decodeFrame(a, 0, a.length, a.length, 1, 0, 1, d);
  assert.equal(flowKeyInto(d, keyA), false);
  decoder.decodeFrame(b, 0, b.length, b.length, 1, 0, 1, d);
  assert.equal(flowKeyInto(d, keyB), true);
  assert.deepEqual(keyA, keyB);
  assert.equal(keyA[3], 0x0a000002);
  assert.equal(keyA[8], 80);
  assert.equal(keyA[10], 6);
});

Deno.test("a generated trace spreads evenly and keeps every flow on one worker", async () => {
  const { bytes, truth } = await generateTraceBytes({
    flows: 20000,
    packetsPerFlow: 6,
    ipv6Share: 0.3,
    vlanShare: 0.2,
    fragmentsShare: 0.05,
    seed: 11,
  });
  const path = await Deno.makeTempFile({ suffix: ".pcap" });
  try {
    await Deno.writeFile(path, bytes);
    for (const n of [2, 3, 8]) {
      await using source = await openPcapFile(path);
      const decoder = new PacketDecoder();
      const d = new DecodedPacket();
      const key = new Uint32Array(11);
      const workerOfFlow = new Map<string, number>();
      const perWorker = new Array<number>(n).fill(0);
      for (let batch = await source.next(); batch !== null; batch = await source.next()) {
        for (let i = 0; i < batch.count; i++) {
          if (decoder.decode(batch, i, d) !== OUTCOME_IP) continue;
          const w = workerFor(flowHash(d), n);
          perWorker[w]!++;
          flowKeyInto(d, key);
          const k = key.join(",");
          const seen = workerOfFlow.get(k);
          if (seen === undefined) workerOfFlow.set(k, w);
          else assert.equal(seen, w, `flow ${k} split across workers`);
        }
      }
      assert.equal(workerOfFlow.size, truth.flows.length);
      const total = perWorker.reduce((a, b) => a + b, 0);
      assert.equal(total, truth.datagrams);
      for (const count of perWorker) {
        assert.ok(Math.abs(count - total / n) < 0.05 * total / n, `uneven split ${perWorker}`);
      }
    }
  } finally {
    await Deno.remove(path);
  }
});
