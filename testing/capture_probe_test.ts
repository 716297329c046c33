import assert from "node:assert/strict";
import { cpuTicksFromStat, parseProbeArgs } from "./capture_probe.ts";

Deno.test("parseProbeArgs turns flags into source options", () => {
  const o = parseProbeArgs([
    "--interface",
    "af_packet::veth1",
    "--out",
    "/tmp/x.json",
    "--fanout-mode",
    "qm",
    "--fanout-id",
    "99",
    "--block-size",
    "1048576",
    "--filter",
    "tcp",
    "--mode",
    "count",
  ]);
  assert.equal(o.interface, "af_packet::veth1");
  assert.equal(o.mode, "count");
  assert.equal(o.filter, "tcp");
  assert.equal(o.stallMs, 0);
  assert.deepEqual({ ...o.afPacket }, { fanoutMode: "qm", fanoutId: 99, blockSize: 1048576 });
  assert.deepEqual(
    { ...parseProbeArgs(["--interface", "x", "--out", "y", "--no-fanout"]).afPacket },
    { enableFanout: false },
  );
  assert.throws(() => parseProbeArgs(["--out", "y"]), /needs --interface and --out/);
  assert.throws(
    () => parseProbeArgs(["--interface", "x", "--out", "y", "--fanout-id=-1"]),
    /--fanout-id -1/,
  );
});

Deno.test("cpuTicksFromStat adds utime and stime, whatever the command name holds", () => {
  const stat = "4242 (deno (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 37 5 0 0 20 0 9 0 " +
    "123 456 789";
  assert.equal(cpuTicksFromStat(stat), 42);
  const own = cpuTicksFromStat(Deno.readTextFileSync("/proc/self/stat"));
  assert.ok(Number.isInteger(own) && own >= 0);
});
