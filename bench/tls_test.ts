import assert from "node:assert/strict";
import { formatTlsBench, measureTlsThroughput } from "./tls.ts";

Deno.test("P1-tls runs tcpdump, conn only and the SSL analyzer over one TLS-heavy trace", async () => {
  const r = await measureTlsThroughput({ packets: 3000, rounds: 1 });
  assert.ok(r.packets >= 500 && r.flows >= 2, `${r.packets} packets, ${r.flows} flows`);
  assert.equal(Object.values(r.handshakes).reduce((a, b) => a + b, 0), r.flows);
  for (const run of [r.connOnly, r.ssl]) {
    assert.equal(run.packets, r.packets, "weir read every packet of the trace");
    assert.ok(run.seconds > 0 && run.pps > 0 && run.bytesPerSecond > 0);
  }
  assert.deepEqual(r.connOnly.logs, ["conn"]);
  assert.equal(r.connOnly.sslRows, 0);
  assert.deepEqual(r.ssl.logs.filter((l) => l !== "x509"), ["conn", "ssl"]);
  assert.equal(r.ssl.sslRows, r.flows, "one ssl.log row per flow");
  assert.equal(r.ssl.sslResumed, r.handshakes["resumed-id"] + r.handshakes["resumed-ticket"]);
  assert.equal(r.ratio, r.ssl.seconds / r.connOnly.seconds);

  const rows = formatTlsBench(r);
  assert.equal(rows.length, 5);
  const [trace, tcpdump, conn, ssl, ratio] = rows as [string, string, string, string, string];
  assert.match(trace, /^P1-tls trace: [\d,]+ packets, [\d,]+ MB, [\d,]+ TLS flows .*best of 1$/);
  assert.match(tcpdump, /^P1-tls reference (tcpdump -r F -w \/dev\/null: [\d.]+ s|: tcpdump not)/);
  assert.match(
    conn,
    /^P1-tls weir -r, analyzers none \(conn only\): [\d.]+ s = [\d,]+ pps, [\d,]+ MB\/s.*; logs conn$/,
  );
  assert.match(
    ssl,
    /^P1-tls weir -r, analyzers SSL: .*; logs conn, ssl.*; ssl\.log [\d,]+ rows .* resumed .*x509\.log [\d,]+ rows$/,
  );
  assert.match(
    ratio,
    /^P1-tls SSL \/ conn only: [\d.]+ × the time \(target ≤ 1.5: (met|missed)\)$/,
  );
});
