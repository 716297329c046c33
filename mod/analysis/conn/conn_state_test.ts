import assert from "node:assert/strict";
import {
  TCP_CLOSED,
  TCP_ESTABLISHED,
  TCP_INACTIVE,
  TCP_PARTIAL,
  TCP_RESET,
  TCP_SYN_ACK_SENT,
  TCP_SYN_SENT,
  tcpConnState,
  udpConnState,
} from "./conn_state.ts";

Deno.test("TCP states follow Zeek's decision order", () => {
  const cases: [number, number, number, number, string, string][] = [
    [TCP_SYN_SENT, TCP_INACTIVE, 0, 0, "S", "S0"],
    [TCP_ESTABLISHED, TCP_ESTABLISHED, 5, 5, "ShADad", "S1"],
    [TCP_CLOSED, TCP_CLOSED, 5, 5, "ShADadFf", "SF"],
    [TCP_PARTIAL, TCP_PARTIAL, 5, 5, "DdA", "OTH"],
    [TCP_SYN_SENT, TCP_RESET, 0, 0, "Sr", "REJ"],
    [TCP_RESET, TCP_RESET, 0, 0, "SrR", "REJ"],
    [TCP_CLOSED, TCP_ESTABLISHED, 5, 5, "ShADF", "S2"],
    [TCP_ESTABLISHED, TCP_CLOSED, 5, 5, "ShADadXf", "S3"],
    [TCP_RESET, TCP_ESTABLISHED, 0, 0, "ShR", "RSTO"],
    [TCP_CLOSED, TCP_RESET, 5, 5, "ShADadFr", "RSTR"],
    [TCP_RESET, TCP_INACTIVE, 0, 0, "SR", "RSTOS0"],
    [TCP_RESET, TCP_INACTIVE, 0, 0, "SaR", "RSTOS0"],
    [TCP_RESET, TCP_INACTIVE, 0, 0, "SaFR", "OTH"],
    [TCP_RESET, TCP_INACTIVE, 0, 0, "R", "OTH"],
    [TCP_PARTIAL, TCP_RESET, 109, 0, "Dr", "RSTRH"],
    [TCP_CLOSED, TCP_INACTIVE, 26, 0, "SADF", "SH"],
    [TCP_CLOSED, TCP_PARTIAL, 26, 0, "DAF", "SH"],
    [TCP_INACTIVE, TCP_CLOSED, 0, 600, "^hdaf", "SHR"],
    [TCP_SYN_ACK_SENT, TCP_INACTIVE, 0, 0, "H", "OTH"],
    [TCP_INACTIVE, TCP_INACTIVE, 0, 0, "C", "OTH"],
  ];
  for (const [o, r, os, rs, h, want] of cases) {
    assert.equal(tcpConnState(o, r, os, rs, h), want, `${h} ${o}/${r}`);
  }
});

Deno.test("UDP states name which sides spoke", () => {
  assert.equal(udpConnState(true, true), "SF");
  assert.equal(udpConnState(true, false), "S0");
  assert.equal(udpConnState(false, true), "SHR");
  assert.equal(udpConnState(false, false), "OTH");
});
