import assert from "node:assert/strict";
import { FilterSyntaxError } from "./bpf.ts";
import { InterfaceNotFoundError } from "./capture_errors.ts";
import { generateTrace } from "../testing/generate.ts";
import {
  InterfaceSyntaxError,
  openInterface,
  openTrace,
  parseInterfaceSpec,
} from "./open_source.ts";
import { PcapFileSource } from "./pcap_file.ts";

Deno.test("parseInterfaceSpec reads Zeek's interface strings", () => {
  assert.deepEqual(parseInterfaceSpec("eth1"), { method: "af_packet", device: "eth1" });
  assert.deepEqual(parseInterfaceSpec("af_packet::eth1"), { method: "af_packet", device: "eth1" });
  assert.deepEqual(parseInterfaceSpec("AF_PACKET::eth1"), { method: "af_packet", device: "eth1" });
  assert.deepEqual(parseInterfaceSpec("pcap::eth1"), { method: "pcap", device: "eth1" });
  assert.deepEqual(parseInterfaceSpec("eth1.42"), { method: "af_packet", device: "eth1.42" });
});

Deno.test("parseInterfaceSpec refuses what no source can open", () => {
  const cases: [string, RegExp][] = [
    ["netmap::eth1", /weir has no "netmap" packet source/],
    ["af_packet::", /name one network device/],
    ["eth1 eth2", /name one network device/],
    ["a-very-long-interface-name", /at most 15 characters/],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseInterfaceSpec(text), (e: unknown) => {
      assert.ok(e instanceof InterfaceSyntaxError);
      assert.match(e.message, new RegExp(`^Cannot capture on "${text}": `));
      assert.match(e.message, message);
      return true;
    });
  }
});

Deno.test("openInterface rejects (never throws) and picks the source by prefix", async () => {
  await assert.rejects(openInterface("netmap::eth1"), InterfaceSyntaxError);
  if (Deno.uid() === 0) {
    await assert.rejects(openInterface("weirnosuch0"), InterfaceNotFoundError);
    await assert.rejects(openInterface("pcap::weirnosuch0"), InterfaceNotFoundError);
    await using lo = await openInterface("pcap::lo", { filter: "udp port 9" });
    assert.equal(lo.name, "pcap::lo");
  }
});

Deno.test("openTrace: the file as it is, or through a filter checked before opening", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/t.pcap`;
    const truth = await generateTrace(path, { flows: 50, seed: 8 });
    await using all = await openTrace(path);
    assert.ok(all instanceof PcapFileSource);
    await using tcp = await openTrace(path, { filter: "tcp" });
    let n = 0;
    for (let b = await tcp.next(); b !== null; b = await tcp.next()) n += b.count;
    const tcpPackets = truth.flows.filter((f) => f.proto === "tcp").reduce(
      (s, f) => s + f.packets,
      0,
    );
    assert.equal(n, tcpPackets);
    await assert.rejects(openTrace("/nonexistent.pcap", { filter: "tcp prot" }), FilterSyntaxError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
