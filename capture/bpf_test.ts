import assert from "node:assert/strict";
import { compileBpf, filterSource, FilterSyntaxError } from "./bpf.ts";
import { DecodedPacket, OUTCOME_IP } from "./decoded_packet.ts";
import { PacketDecoder } from "./decode.ts";
import { generateTrace } from "../testing/generate.ts";
import { openPcapFile } from "./pcap_file.ts";

Deno.test("compileBpf: a program for the link type, or a named syntax error", () => {
  const ethernet = compileBpf("udp");
  assert.equal(ethernet.linkType, 1);
  assert.ok(ethernet.count > 0);
  const raw = compileBpf("udp", 101);
  assert.notDeepEqual(raw.instructions, ethernet.instructions);
  assert.throws(() => compileBpf("port seventy"), (e: unknown) => {
    assert.ok(e instanceof FilterSyntaxError);
    assert.equal(e.expression, "port seventy");
    assert.match(e.message, /^Cannot compile capture filter "port seventy": .*tcpdump -d/);
    return true;
  });
});

Deno.test("filterSource keeps exactly the packets the filter matches, and counts only them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.pcap`;
    const truth = await generateTrace(path, { flows: 300, udpShare: 0.4, icmpShare: 0.2, seed: 4 });
    await using plain = await openPcapFile(path, { batchCapacity: 100 });
    await using filtered = filterSource(await openPcapFile(path, { batchCapacity: 100 }), "udp");
    const decoder = new PacketDecoder({ checksums: false });
    const d = new DecodedPacket();
    let udp = 0;
    let udpBytes = 0;
    for (let b = await plain.next(); b !== null; b = await plain.next()) {
      for (let i = 0; i < b.count; i++) {
        if (decoder.decode(b, i, d) === OUTCOME_IP && d.proto === 17) {
          udp++;
          udpBytes += b.wireLen[i]!;
        }
      }
    }
    let kept = 0;
    for (let b = await filtered.next(); b !== null; b = await filtered.next()) {
      assert.ok(b.count > 0);
      for (let i = 0; i < b.count; i++) {
        assert.equal(decoder.decode(b, i, d), OUTCOME_IP);
        assert.equal(d.proto, 17);
        kept++;
      }
    }
    assert.ok(udp > 0 && udp < truth.packets);
    assert.equal(kept, udp);
    const stats = filtered.stats();
    assert.equal(stats.received, udp);
    assert.equal(stats.link, udp);
    assert.equal(stats.bytes, udpBytes);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
