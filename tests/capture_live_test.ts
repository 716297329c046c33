/**
 * Live capture against real kernels: each test builds two network
 * namespaces joined by a veth pair, replays a generated trace into one end
 * with tcpreplay and captures on the other with capture probes running as
 * separate processes, then removes everything, also when an assertion
 * fails. Skipped, with the reason printed, when not root or a tool is missing.
 */

import assert from "node:assert/strict";
import { DecodedPacket, OUTCOME_IP } from "../capture/decoded_packet.ts";
import { PacketDecoder } from "../capture/decode.ts";
import { flowKeyInto } from "../capture/flow_hash.ts";
import { type GenerateOptions, generateTrace } from "../testing/generate.ts";
import { labUnavailable, type ProbeProcess, VethLab, waitForTotal } from "../testing/live_lab.ts";
import type { ProbeResult } from "../testing/capture_probe.ts";
import { openTrace } from "../capture/open_source.ts";

const unavailable = await labUnavailable();
if (unavailable !== undefined) {
  console.log(`%cSKIPPED live capture tests: ${unavailable}`, "color: yellow");
}
const ignore = unavailable !== undefined;

/**
 * A live-capture test: skipped when the lab is unavailable; `body` gets a
 * temporary directory that is removed afterwards, also when it fails.
 */
function liveTest(name: string, body: (dir: string) => Promise<void>): void {
  Deno.test({
    name,
    ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const dir = await Deno.makeTempDir({ prefix: "weir-live-" });
      try {
        await body(dir);
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}

interface Expected {
  readonly packets: number;
  readonly flows: Map<string, { packets: number; vlan: number }>;
}

/** Generates a trace and reads back, with weir's own decoder, what each flow holds. */
async function makeTrace(
  dir: string,
  options: GenerateOptions,
  filter?: string,
): Promise<Expected & { path: string }> {
  const path = `${dir}/trace.pcap`;
  await generateTrace(path, options);
  await using source = await openTrace(path, filter === undefined ? {} : { filter });
  const decoder = new PacketDecoder({ checksums: false });
  const d = new DecodedPacket();
  const key = new Uint32Array(11);
  const flows = new Map<string, { packets: number; vlan: number }>();
  let packets = 0;
  for (let batch = await source.next(); batch !== null; batch = await source.next()) {
    for (let i = 0; i < batch.count; i++) {
      packets++;
      if (decoder.decode(batch, i, d) !== OUTCOME_IP) continue;
      flowKeyInto(d, key);
      const k = key.join(",");
      const f = flows.get(k);
      if (f === undefined) flows.set(k, { packets: 1, vlan: d.vlan });
      else f.packets++;
    }
  }
  return { path, packets, flows };
}

/** Starts probes, waits for all to be ready, replays, waits for the packets, and stops them. */
async function capture(
  lab: VethLab,
  trace: string,
  sent: number,
  probeArgs: readonly (readonly string[])[],
  pps = 20_000,
  expectTotal = sent,
): Promise<{ results: ProbeResult[]; replayed: number }> {
  const probes: ProbeProcess[] = [];
  try {
    for (const args of probeArgs) probes.push(lab.startProbe(args));
    await Promise.all(probes.map((p) => p.ready()));
    const replay = await lab.replay(trace, { pps });
    assert.equal(replay.failed, 0, replay.output);
    assert.equal(replay.sent, sent, replay.output);
    await waitForTotal(probes, expectTotal, 10_000);
    const results = [];
    for (const p of probes) results.push(await p.finish());
    return { results, replayed: replay.sent };
  } finally {
    for (const p of probes) await p[Symbol.asyncDispose]();
  }
}

/** Every expected flow is on exactly one worker with all its packets, and nothing else is. */
function assertFlowsWhole(expected: Expected, results: readonly ProbeResult[]): void {
  const owner = new Map<string, number>();
  results.forEach((r, w) => {
    for (const [key, [packets, vlan]] of Object.entries(r.flows)) {
      const before = owner.get(key);
      assert.equal(before, undefined, `flow ${key} is on workers ${before} and ${w}`);
      owner.set(key, w);
      const truth = expected.flows.get(key);
      assert.ok(truth !== undefined, `worker ${w} saw flow ${key}, which is not in the trace`);
      assert.equal(packets, truth.packets, `flow ${key}: packets on worker ${w}`);
      assert.equal(vlan, truth.vlan, `flow ${key}: VLAN id on worker ${w}`);
    }
  });
  assert.equal(owner.size, expected.flows.size, "flows seen against flows in the trace");
}

liveTest(
  "af_packet: 3 worker processes in one hash fanout group keep every flow whole",
  async (dir) => {
    const trace = await makeTrace(dir, {
      flows: 10_000,
      packetsPerFlow: 6,
      vlanShare: 0.1,
      ipv6Share: 0.2,
      payloadMax: 200,
      seed: 7,
    });
    assert.ok(trace.flows.size >= 10_000, `${trace.flows.size} flows`);
    await using lab = await VethLab.create();
    const args = ["--interface", `af_packet::${lab.captureDevice}`, "--fanout-id", "4242"];
    const { results } = await capture(lab, trace.path, trace.packets, [args, args, args]);
    assertFlowsWhole(trace, results);
    const total = results.reduce((s, r) => s + r.received, 0);
    assert.equal(total, trace.packets, "per-worker totals add up to what was sent");
    for (const [w, r] of results.entries()) {
      assert.ok(r.received > trace.packets / 6, `worker ${w} got a fair share: ${r.received}`);
      assert.equal(r.stats.dropped, 0, `worker ${w} kernel drops`);
      assert.equal(r.stats.link, r.received, `worker ${w}: kernel count equals packets read`);
    }
  },
);

liveTest(
  "af_packet: FANOUT_QM on a 4-queue veth spreads by queue and keeps flows whole",
  async (dir) => {
    const trace = await makeTrace(dir, { flows: 2_000, packetsPerFlow: 6, seed: 11 });
    await using lab = await VethLab.create({ queues: 4 });
    const args = [
      "--interface",
      lab.captureDevice,
      "--fanout-mode",
      "qm",
      "--fanout-id",
      "4343",
    ];
    const { results } = await capture(lab, trace.path, trace.packets, [args, args]);
    assertFlowsWhole(trace, results);
    assert.equal(results[0]!.received + results[1]!.received, trace.packets);
    assert.ok(
      results.every((r) => r.received > 0),
      `both members get packets: ${results.map((r) => r.received)}`,
    );
  },
);

liveTest("pcap:: libpcap live source sees every packet, VLAN tags in the frame", async (dir) => {
  const trace = await makeTrace(dir, {
    flows: 1_000,
    packetsPerFlow: 6,
    vlanShare: 0.2,
    seed: 5,
  });
  await using lab = await VethLab.create();
  const { results } = await capture(lab, trace.path, trace.packets, [
    ["--interface", `pcap::${lab.captureDevice}`],
  ]);
  assertFlowsWhole(trace, results);
  assert.equal(results[0]!.received, trace.packets);
  assert.equal(results[0]!.stats.dropped, 0);
});

liveTest(
  "BPF filter: attached to AF_PACKET and set on libpcap, same packets as on the file",
  async (dir) => {
    // No VLANs: the kernel strips tags before an AF_PACKET filter runs but
    // not in the file, so "udp" would match differently on tagged frames.
    const options = { flows: 2_000, packetsPerFlow: 6, udpShare: 0.4, seed: 3 };
    const all = await makeTrace(dir, options);
    const filter = "udp or icmp";
    const udp = await makeTrace(dir, options, filter);
    assert.ok(udp.packets > 0 && udp.packets < all.packets, `${udp.packets} of ${all.packets}`);
    await using lab = await VethLab.create();
    const { results } = await capture(
      lab,
      all.path,
      all.packets,
      [
        ["--interface", lab.captureDevice, "--no-fanout", "--filter", filter],
        ["--interface", `pcap::${lab.captureDevice}`, "--filter", filter],
      ],
      20_000,
      2 * udp.packets,
    );
    for (const r of results) {
      assert.equal(r.received, udp.packets);
      assertFlowsWhole(udp, [r]);
    }
  },
);

liveTest("af_packet: kernel drops are counted when the ring overflows", async (dir) => {
  const trace = await makeTrace(dir, { flows: 2_000, packetsPerFlow: 6, seed: 9 });
  await using lab = await VethLab.create();
  // Two 4 KiB blocks and a reader that starts late: most packets must drop.
  const { results } = await capture(
    lab,
    trace.path,
    trace.packets,
    [[
      "--interface",
      lab.captureDevice,
      "--no-fanout",
      "--block-size",
      "4096",
      "--buffer-size",
      "8192",
      "--stall-ms",
      "3000",
    ]],
    50_000,
    1,
  );
  const r = results[0]!;
  assert.ok(r.stats.dropped > 0, `drops: ${r.stats.dropped}`);
  assert.equal(r.received + r.stats.dropped, trace.packets, "read + dropped = sent");
  assert.equal(r.stats.link, trace.packets);
});

liveTest(
  "live sources: clean errors for a missing interface, a down one and no CAP_NET_RAW",
  async () => {
    await using lab = await VethLab.create();
    const expectError = async (
      args: string[],
      name: string,
      text: RegExp,
      prefix: string[] = [],
    ) => {
      const probe = lab.startProbe(args, prefix);
      try {
        await assert.rejects(probe.ready(), (e: Error) => {
          assert.match(e.message, new RegExp(name));
          assert.match(e.message, text);
          return true;
        });
      } finally {
        await probe[Symbol.asyncDispose]();
      }
    };
    await expectError(
      ["--interface", "weirnosuch0"],
      "InterfaceNotFoundError",
      /no such interface; list the interfaces with `ip link`/,
    );
    await expectError(
      ["--interface", "pcap::weirnosuch0"],
      "InterfaceNotFoundError",
      /weirnosuch0/,
    );
    await lab.setCaptureLink(false);
    await expectError(
      ["--interface", lab.captureDevice],
      "InterfaceDownError",
      new RegExp(`ip link set ${lab.captureDevice} up`),
    );
    await lab.setCaptureLink(true);
    await expectError(
      ["--interface", lab.captureDevice],
      "CapturePermissionError",
      /CAP_NET_RAW.*setcap cap_net_raw,cap_net_admin\+eip/,
      ["setpriv", "--bounding-set", "-net_raw,-net_admin", "--inh-caps", "-all"],
    );
  },
);
