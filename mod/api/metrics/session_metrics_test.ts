import assert from "node:assert/strict";
import { sessionSamples } from "./session_metrics.ts";

Deno.test("sessions by protocol use Zeek's names: active gauge, total counter, ended by reason", () => {
  const samples = sessionSamples({
    active: { tcp: 3, udp: 2, icmp: 1 },
    total: { tcp: 30, udp: 20, icmp: 10 },
    ended: { inactivity: 4 },
  });
  assert.deepEqual(samples.map((s) => [s.name, s.type, s.labels, s.value]), [
    ["zeek_active_sessions", "gauge", { protocol: "tcp" }, 3],
    ["zeek_active_sessions", "gauge", { protocol: "udp" }, 2],
    ["zeek_active_sessions", "gauge", { protocol: "icmp" }, 1],
    ["zeek_total_sessions_total", "counter", { protocol: "tcp" }, 30],
    ["zeek_total_sessions_total", "counter", { protocol: "udp" }, 20],
    ["zeek_total_sessions_total", "counter", { protocol: "icmp" }, 10],
    ["zeek_ended_sessions_total", "counter", { reason: "inactivity" }, 4],
  ]);
  const none = sessionSamples({
    active: { tcp: 0, udp: 0, icmp: 0 },
    total: { tcp: 0, udp: 0, icmp: 0 },
  });
  assert.equal(none.length, 6);
});
