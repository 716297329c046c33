import assert from "node:assert/strict";
import {
  acceptKey,
  checkUpgrade,
  httpErrorResponse,
  isRefusal,
  MAX_REQUEST_HEAD_BYTES,
  parseRequestHead,
  readRequestHead,
  type UpgradeRequest,
} from "./handshake.ts";

const head = (text: string) => new TextEncoder().encode(text);
const UPGRADE = "GET /v1/messages/json?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: WebSocket\r\n" +
  "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
  "Sec-WebSocket-Version: 13\r\nX-Application-Name: zeekctl\r\n\r\n";

Deno.test("acceptKey matches RFC 6455's example", async () => {
  assert.equal(await acceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

Deno.test("parseRequestHead reads target, path and case-insensitive headers", () => {
  const request = parseRequestHead(head(UPGRADE)) as UpgradeRequest;
  assert.equal(request.target, "/v1/messages/json?x=1");
  assert.equal(request.path, "/v1/messages/json");
  assert.equal(request.headers.get("x-application-name"), "zeekctl");
  assert.equal(checkUpgrade(request), undefined);
});

Deno.test("checkUpgrade refuses what is not a version-13 WebSocket upgrade", () => {
  const variants: [string, number][] = [
    [UPGRADE.replace("GET", "POST"), 405],
    [UPGRADE.replace("Upgrade: WebSocket\r\n", ""), 426],
    [UPGRADE.replace("Version: 13", "Version: 8"), 426],
    [UPGRADE.replace("dGhlIHNhbXBsZSBub25jZQ==", "short"), 400],
  ];
  for (const [text, status] of variants) {
    const request = parseRequestHead(head(text));
    assert.ok(!isRefusal(request));
    assert.equal(checkUpgrade(request)?.status, status, text);
  }
  assert.equal((parseRequestHead(head("garbage\r\n\r\n")) as { status: number }).status, 400);
});

Deno.test("readRequestHead keeps the bytes behind the head and refuses an endless head", async () => {
  const chunks = [head(UPGRADE.slice(0, 10)), head(UPGRADE.slice(10) + "tail")];
  const source = {
    read(buffer: Uint8Array): Promise<number | null> {
      const chunk = chunks.shift();
      if (chunk === undefined) return Promise.resolve(null);
      buffer.set(chunk);
      return Promise.resolve(chunk.length);
    },
  };
  const got = await readRequestHead(source);
  assert.ok(got !== undefined && !isRefusal(got.request));
  assert.equal(new TextDecoder().decode(got.rest), "tail");
  const endless = { read: (b: Uint8Array) => Promise.resolve(b.fill(65).length) };
  const refused = await readRequestHead(endless);
  assert.equal((refused?.request as { status: number }).status, 431);
  assert.equal(MAX_REQUEST_HEAD_BYTES, 16384);
});

Deno.test("httpErrorResponse is a complete response with its extra headers", () => {
  const text = new TextDecoder().decode(
    httpErrorResponse({
      status: 401,
      message: "token please",
      headers: { "WWW-Authenticate": "Bearer" },
    }),
  );
  assert.match(text, /^HTTP\/1\.1 401 Unauthorized\r\n/);
  assert.match(text, /\r\nWWW-Authenticate: Bearer\r\n/);
  assert.match(text, /Content-Length: 13\r\n[\s\S]*\r\n\r\ntoken please\n$/);
});
