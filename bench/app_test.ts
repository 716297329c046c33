import assert from "node:assert/strict";
import { benchApp } from "./app.ts";

Deno.test("P1-app runs tcpdump and weir with analyzers off and on over one trace", async () => {
  const rows = await benchApp(2_000, 1);
  assert.equal(rows.length, 5);
  const [trace, tcpdump, off, on, ratio] = rows as [string, string, string, string, string];
  const packets = Number(trace.match(/^P1-app trace: ([\d,]+) packets/)?.[1]?.replaceAll(",", ""));
  assert.ok(packets >= 1_800 && packets <= 2_400, trace);
  for (const app of ["dns/udp", "dns/tcp", "http/tcp", "tls/tcp"]) assert.ok(trace.includes(app));
  assert.match(tcpdump, /^P1-app reference (tcpdump -r F -w \/dev\/null: [\d.]+ s|: tcpdump not)/);
  assert.match(off, /^P1-app weir -r, analyzers off: [\d.]+ s = [\d,]+ pps.*; logs conn$/);
  assert.match(
    on,
    /^P1-app weir -r, analyzers on \(default\): [\d.]+ s = [\d,]+ pps.*; logs .*conn/,
  );
  assert.match(ratio, /^P1-app analyzers on \/ off: [\d.]+ × the time \(target ≤ 1.5\)$/);
});
