import assert from "node:assert/strict";
import { openPcapFile } from "../capture/mod.ts";

const SCRIPT = new URL("./gen_pcap.ts", import.meta.url).pathname;

async function run(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const cwd = await Deno.makeTempDir();
  let out;
  try {
    out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", SCRIPT, ...args],
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      assert.deepEqual([...Deno.readDirSync(cwd)], [], "a refused run writes nothing");
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

Deno.test("gen_pcap writes the trace and its ground truth", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(
      "--flows",
      "30",
      "--packets-per-flow",
      "7",
      "--out",
      `${dir}/x.pcap`,
      "--format",
      "pcap-ns",
      "--ipv6-share",
      "0.5",
      "--vlan-share",
      "0.2",
      "--fragments-share",
      "0.1",
      "--seed",
      "3",
      "--truth",
      `${dir}/t.json`,
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /^wrote .*x\.pcap \(pcap-ns\): \d+ packets, \d+ bytes, \d+ datagrams, 30 flows/,
    );
    const truth = JSON.parse(await Deno.readTextFile(`${dir}/t.json`));
    await using source = await openPcapFile(`${dir}/x.pcap`);
    assert.equal(source.format, "pcap-ns");
    let packets = 0;
    for (let b = await source.next(); b !== null; b = await source.next()) packets += b.count;
    assert.equal(packets, truth.packets);
    assert.equal(truth.flows.length, 30);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("gen_pcap refuses bad flags with usage and exit code 2", async () => {
  for (
    const args of [
      ["--flows", "3"],
      ["--out", "x", "--flows", "many"],
      ["--out", "x", "--format", "erf"],
      ["--out", "x", "--vlan-share", "3"],
      ["--nope"],
    ]
  ) {
    const r = await run(...args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^gen_pcap: .+\nusage: gen_pcap.ts --out FILE/);
  }
});
