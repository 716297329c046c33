import assert from "node:assert/strict";
import type { Bus } from "../../bus/bus.ts";
import {
  DEFAULT_PING_INTERVAL_MS,
  InsecureWebSocketError,
  isLoopbackHost,
  resolveWebSocketOptions,
  WebSocketOptionsError,
} from "./options.ts";

const bus = { nodeId: "zeromq_manager_h_1_N" } as Bus;
const base = { bus, events: () => undefined };

Deno.test("defaults are Zeek's and zeekctl's", () => {
  const o = resolveWebSocketOptions(base);
  assert.deepEqual(
    [o.host, o.port, o.maxConnections, o.pingIntervalMs, o.nodeId, o.forwardUndeclaredEvents],
    ["127.0.0.1", 27759, 100, DEFAULT_PING_INTERVAL_MS, "zeromq_manager_h_1_N", false],
  );
  assert.ok(Object.isFrozen(o));
});

Deno.test("isLoopbackHost knows 127/8, ::1 and localhost", () => {
  for (const host of ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) {
    assert.ok(isLoopbackHost(host), host);
  }
  for (const host of ["0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "example.org"]) {
    assert.ok(!isLoopbackHost(host), host);
  }
});

Deno.test("a non-loopback address needs a token file or TLS, or insecure", () => {
  assert.throws(
    () => resolveWebSocketOptions({ ...base, host: "0.0.0.0" }),
    InsecureWebSocketError,
  );
  assert.throws(
    () => resolveWebSocketOptions({ ...base, host: "0.0.0.0" }),
    /--insecure-websocket/,
  );
  assert.equal(
    resolveWebSocketOptions({ ...base, host: "0.0.0.0", insecure: true }).host,
    "0.0.0.0",
  );
  assert.equal(
    resolveWebSocketOptions({ ...base, host: "10.0.0.1", tokenFile: "/t" }).tokenFile,
    "/t",
  );
  assert.ok(
    resolveWebSocketOptions({ ...base, host: "10.0.0.1", tlsCertFile: "c", tlsKeyFile: "k" }).tls,
  );
});

Deno.test("every bad option is reported at once", () => {
  assert.throws(
    () =>
      resolveWebSocketOptions({
        ...base,
        port: 70000,
        tlsCertFile: "cert.pem",
        maxConnections: 0,
        maxQueuedMessages: 1.5,
      }),
    (error: unknown) => {
      assert.ok(error instanceof WebSocketOptionsError);
      assert.equal(error.problems.length, 4);
      assert.match(error.message, /only the certificate "cert.pem"/);
      return true;
    },
  );
});
