/**
 * `weir -r FILE` as an operator runs it: a real process, a generated trace,
 * conn.log in the working directory; the same rows with one worker or
 * three, a BPF filter and -C.
 */

import assert from "node:assert/strict";
import { generateTrace } from "../testing/generate.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;

async function weir(cwd: string, ...args: string[]): Promise<{ stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", MAIN, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, `weir ${args.join(" ")} failed: ${stderr}`);
  return { stderr };
}

/** conn.log rows without the uid column (uids differ between runs), sorted. */
async function rows(dir: string): Promise<string[]> {
  const text = await Deno.readTextFile(`${dir}/conn.log`);
  assert.match(text, /^#separator \\x09\n/);
  assert.match(text, /\n#close\t/);
  return text.split("\n").filter((l) => l && !l.startsWith("#"))
    .map((l) => l.split("\t").toSpliced(1, 1).join("\t")).sort();
}

Deno.test("weir -r writes conn.log in the current directory; 3 workers give the same rows as 1", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-cli-" });
  try {
    const truth = await generateTrace(`${dir}/t.pcap`, {
      flows: 300,
      udpShare: 0.3,
      icmpShare: 0.1,
    });
    for (const sub of ["one", "three", "udp", "nocheck"]) await Deno.mkdir(`${dir}/${sub}`);
    const one = await weir(`${dir}/one`, "-r", "../t.pcap");
    assert.match(one.stderr, /\d+ packets, 300 connections/);
    await weir(`${dir}/three`, "-r", "../t.pcap", "--workers", "3");
    const a = await rows(`${dir}/one`);
    assert.equal(a.length, truth.flows.length);
    assert.deepEqual(await rows(`${dir}/three`), a, "every connection is seen whole by one worker");
    await weir(`${dir}/udp`, "-r", "../t.pcap", "-f", "udp");
    const udp = await rows(`${dir}/udp`);
    assert.ok(
      udp.length > 0 && udp.every((r) => r.split("\t")[5] === "udp"),
      "the filter keeps UDP only",
    );
    await weir(`${dir}/nocheck`, "-r", "../t.pcap", "-C");
    assert.equal((await rows(`${dir}/nocheck`)).length, a.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weir -r on a file that is not a trace says so and exits non-zero", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-cli-" });
  try {
    await Deno.writeTextFile(`${dir}/junk.pcap`, "this is not a capture\n");
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--quiet", MAIN, "-r", "junk.pcap"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.success, false);
    assert.match(new TextDecoder().decode(out.stderr), /not a pcap or pcapng file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("weir -r on a trace cut inside a packet record warns, with 1 worker and with 2, and keeps the packets before", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-cli-" });
  try {
    await generateTrace(`${dir}/t.pcap`, { flows: 50 });
    const whole = await Deno.readFile(`${dir}/t.pcap`);
    await Deno.writeFile(`${dir}/cut.pcap`, whole.subarray(0, whole.length - 7));
    for (const sub of ["one", "two"]) await Deno.mkdir(`${dir}/${sub}`);
    const one = await weir(`${dir}/one`, "-r", "../cut.pcap");
    assert.match(
      one.stderr,
      /^weir: warning: trace "[^"]*cut.pcap" is truncated: the last record/m,
    );
    const two = await weir(`${dir}/two`, "-r", "../cut.pcap", "--workers", "2");
    assert.equal(two.stderr.match(/warning: trace/g)?.length, 1);
    assert.ok((await rows(`${dir}/one`)).length > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
