import assert from "node:assert/strict";
import { decodeAgentMessage, decodeManagerMessage, encodeMessage } from "./protocol.ts";

Deno.test("agent channel messages survive encoding, and junk decodes to nothing", () => {
  const status = {
    t: "status",
    host: "sensor-1",
    version: "1.0.0",
    configHash: "abc",
    nodes: [{
      name: "worker-1",
      type: "worker",
      host: "sensor-1",
      status: "running",
      pid: 12,
      startedAt: "2026-12-06T00:00:00.000Z",
      restarts: 0,
      lastExit: undefined,
    }],
  } as const;
  assert.deepEqual(decodeAgentMessage(encodeMessage(status)), JSON.parse(JSON.stringify(status)));
  const command = { t: "command", id: 3, verb: "restart", nodes: ["worker-1"] } as const;
  assert.deepEqual(decodeManagerMessage(encodeMessage(command)), command);
  const encoder = new TextEncoder();
  for (
    const junk of [
      "",
      "null",
      "[]",
      '{"t":"status"}',
      '{"t":"enroll","host":"","token":"x","version":"1"}',
      '{"t":"command","id":1,"verb":"rm -rf","nodes":[]}',
      '{"t":"command","id":"1","verb":"stop","nodes":[]}',
      '{"t":"config","id":0,"hash":"h","run":true,"files":{"node.cfg":1},"site":{},"keys":{}}',
      "\u0000\u00ff{",
    ]
  ) {
    assert.equal(decodeAgentMessage(encoder.encode(junk)), undefined, junk);
    assert.equal(decodeManagerMessage(encoder.encode(junk)), undefined, junk);
  }
});

Deno.test("fuzz: random and cut messages never throw", () => {
  let state = 7;
  const random = () => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const valid = encodeMessage({ t: "command", id: 1, verb: "stop", nodes: ["a"] });
  for (let i = 0; i < 5000; i++) {
    const bytes = i % 2 === 0
      ? valid.slice(0, Math.floor(random() * valid.length))
      : Uint8Array.from({ length: Math.floor(random() * 64) }, () => Math.floor(random() * 256));
    if (i % 3 === 0 && bytes.length > 0) bytes[Math.floor(random() * bytes.length)]! ^= 0x20;
    decodeAgentMessage(bytes);
    decodeManagerMessage(bytes);
  }
});
