import assert from "node:assert/strict";
import dgram from "node:dgram";
import { FilterSyntaxError } from "./bpf.ts";
import { CapturePermissionError, InterfaceNotFoundError } from "./capture_errors.ts";
import { openPcapLive, type PcapLiveSource } from "./pcap_live_source.ts";

const root = Deno.uid() === 0;
if (!root) console.log("%cSKIPPED libpcap capture on lo: needs root", "color: yellow");

Deno.test("a missing interface is named before libpcap is asked", () => {
  assert.throws(() => openPcapLive("weirnosuch0"), (e: unknown) => {
    assert.ok(e instanceof InterfaceNotFoundError, String(e));
    return true;
  });
  assert.throws(() => openPcapLive("lo", { snaplen: 10 }), /snaplen 10: use 64/);
});

Deno.test({
  name: "reads datagrams sent over lo through libpcap, filtered by pcap_setfilter",
  ignore: !root,
  async fn() {
    assert.throws(
      () => openPcapLive("lo", { filter: "udp prot 1" }),
      (e: unknown) => e instanceof FilterSyntaxError && /udp prot 1/.test(e.message),
    );
    const port = 20000 + Math.floor(Math.random() * 30000);
    let source: PcapLiveSource;
    try {
      source = openPcapLive("lo", { filter: `udp dst port ${port}`, batchCapacity: 3 });
    } catch (e) {
      if (e instanceof CapturePermissionError) return;
      throw e;
    }
    using _ = source;
    assert.equal(source.name, "pcap::lo");
    assert.equal(source.linkType, 1);
    const sender = dgram.createSocket("udp4");
    try {
      for (let i = 0; i < 10; i++) {
        await new Promise((resolve) =>
          sender.send(new Uint8Array(20 + i), port, "127.0.0.1", resolve)
        );
      }
    } finally {
      sender.close();
    }
    // libpcap drops the outgoing copy on lo, so each datagram comes once.
    const lengths: number[] = [];
    while (lengths.length < 10) {
      const batch = await source.next();
      assert.ok(batch !== null);
      assert.ok(batch.count <= 3);
      for (let i = 0; i < batch.count; i++) {
        const frame = batch.bytes(i);
        assert.equal((frame[36]! << 8) | frame[37]!, port);
        lengths.push(batch.caplen[i]! - 42);
      }
    }
    assert.deepEqual(lengths.sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => 20 + i));
    const stats = source.stats();
    assert.equal(stats.received, 10);
    assert.equal(stats.dropped, 0);
    const pending = source.next();
    source.close();
    assert.equal(await pending, null);
  },
});
