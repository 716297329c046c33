import assert from "node:assert/strict";
import { formatHttpBench, measureHttpThroughput } from "./http.ts";

Deno.test("P1-http runs tcpdump, conn only and the HTTP analyzer over one HTTP-heavy trace", async () => {
  const r = await measureHttpThroughput({ packets: 300, rounds: 1 });
  assert.ok(r.packets >= 50 && r.requests >= r.flows, `${r.packets} packets, ${r.requests}`);
  for (const run of [r.connOnly, r.http]) {
    assert.equal(run.packets, r.packets, "weir read every packet of the trace");
    assert.ok(run.seconds > 0 && run.pps > 0 && run.bytesPerSecond > 0);
  }
  assert.deepEqual(r.connOnly.logs, ["conn"]);
  assert.equal(r.connOnly.httpRows, 0);
  assert.deepEqual(r.http.logs.filter((l) => l !== "files"), ["conn", "http"]);
  assert.ok(r.http.httpRows > 0, "the HTTP analyzer wrote http.log rows");
  assert.equal(r.http.httpRows, r.requests, "one http.log row per request");
  assert.equal(r.ratio, r.http.seconds / r.connOnly.seconds);

  const rows = formatHttpBench(r);
  assert.equal(rows.length, 5);
  const [trace, tcpdump, conn, http, ratio] = rows as [string, string, string, string, string];
  assert.match(trace, /^P1-http trace: [\d,]+ packets, [\d,]+ MB, [\d,]+ HTTP flows .*best of 1$/);
  assert.match(tcpdump, /^P1-http reference (tcpdump -r F -w \/dev\/null: [\d.]+ s|: tcpdump not)/);
  assert.match(
    conn,
    /^P1-http weir -r, analyzers none \(conn only\): [\d.]+ s = [\d,]+ pps, [\d,]+ MB\/s.*; logs conn$/,
  );
  assert.match(
    http,
    /^P1-http weir -r, analyzers HTTP: .*; logs conn, .*http; http\.log [\d,]+ rows/,
  );
  assert.match(
    ratio,
    /^P1-http HTTP \/ conn only: [\d.]+ × the time \(target ≤ 2: (met|missed)\)$/,
  );
});
