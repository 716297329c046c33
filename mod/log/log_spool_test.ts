import assert from "node:assert/strict";
import { decodeRecords, LogSpool, type ShippedBatch } from "./log_spool.ts";

function batch(seq: number, size = 100): ShippedBatch {
  return {
    incarnation: 1796530000000123,
    seq,
    records: seq * 10,
    path: seq % 2 ? "conn" : "dns.v2",
    payload: new Uint8Array(size).fill(seq & 0xff),
  };
}

Deno.test("spool: batches come back in order with their ids, across a reopen, and segments go once taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-spool-" });
  try {
    const spool = LogSpool.open(dir, 1 << 30);
    for (let i = 1; i <= 100; i++) assert.ok(spool.append(batch(i, 200_000)));
    assert.equal(spool.batches, 100);
    assert.ok([...Deno.readDirSync(dir)].length > 1, "several segments");
    for (let i = 1; i <= 30; i++) assert.deepEqual(spool.shift(), batch(i, 200_000));
    spool.close();
    // The next run of the node finds the rest, the partly taken segment rewritten.
    const again = LogSpool.open(dir, 1 << 30);
    assert.equal(again.batches, 70);
    assert.equal(again.peakBytes, again.bytes);
    for (let i = 31; i <= 100; i++) assert.deepEqual(again.shift(), batch(i, 200_000));
    assert.equal(again.shift(), undefined);
    assert.equal(again.bytes, 0);
    assert.deepEqual([...Deno.readDirSync(dir)], []);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: the bound refuses a batch that does not fit, and peek leaves it in", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-spool-" });
  try {
    const spool = LogSpool.open(dir, 1000);
    assert.ok(spool.append(batch(1, 500)));
    assert.equal(spool.append(batch(2, 500)), false);
    assert.deepEqual(spool.peek(), batch(1, 500));
    assert.equal(spool.batches, 1);
    assert.ok(spool.append(batch(3, 100)));
    assert.deepEqual(spool.shift(), batch(1, 500));
    assert.deepEqual(spool.shift(), batch(3, 100));
    spool.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: a record cut short by a kill ends its segment; the ones before it are kept", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-spool-" });
  try {
    const spool = LogSpool.open(dir, 1 << 20);
    spool.append(batch(1));
    spool.append(batch(2));
    spool.close();
    const [segment] = [...Deno.readDirSync(dir)].map((e) => `${dir}/${e.name}`);
    const bytes = Deno.readFileSync(segment!);
    Deno.writeFileSync(segment!, bytes.subarray(0, bytes.length - 7));
    const warnings: string[] = [];
    const again = LogSpool.open(dir, 1 << 20, {
      debug() {},
      info() {},
      warning: (m) => void warnings.push(m),
      error() {},
    });
    assert.deepEqual(again.shift(), batch(1));
    assert.equal(again.shift(), undefined);
    assert.match(warnings.join("\n"), /cut short/);
    again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("spool: 100,000 mutated segments decode without an exception or a record past the end", () => {
  const seed = Number(Deno.env.get("WEIR_FUZZ_SEED") ?? Date.now() % 1e9);
  console.log(`  seed ${seed} (WEIR_FUZZ_SEED reruns it)`);
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  // A valid segment of three records, then mutations of it.
  const dir = Deno.makeTempDirSync({ prefix: "weir-spool-" });
  let valid: Uint8Array;
  try {
    const spool = LogSpool.open(dir, 1 << 20);
    for (let i = 1; i <= 3; i++) spool.append(batch(i, 50));
    spool.close();
    valid = Deno.readFileSync(`${dir}/${[...Deno.readDirSync(dir)][0]!.name}`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
  for (let n = 0; n < 100_000; n++) {
    const bytes = valid.slice(0, Math.floor(random() * (valid.length + 1)));
    const flips = Math.floor(random() * 4);
    for (let f = 0; f < flips && bytes.length > 0; f++) {
      bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
    }
    const { batches, cut } = decodeRecords(bytes);
    assert.ok(cut >= 0 && cut <= bytes.length);
    // Every record lies inside the segment (paths may be mangled into other text).
    const headers = batches.reduce((sum, b) => sum + 26 + b.payload.length, 0);
    assert.ok(headers + cut <= bytes.length, `seed ${seed}, input ${n}`);
  }
});
