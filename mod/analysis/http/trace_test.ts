/**
 * HTTP through the whole trace job, as `weir -r` runs it: a generated trace
 * of keep-alive HTTP/1.1 flows goes through the real pipeline (capture
 * decode, connection tracking, reassembly, DPD, the HTTP analyzer, file
 * analysis); http.log has one row per exchange, files.log one row per body
 * whose fuid http.log names, conn.log's `service` is `http`, and the events
 * site scripts handle arrive.
 */

import assert from "node:assert/strict";
import { EventRegistry } from "../../bus/mod.ts";
import { analyzeTrace } from "../../trace/mod.ts";
import { generateTrace } from "../../../testing/mod.ts";

function rows(text: string): Record<string, string>[] {
  const lines = text.split("\n");
  const fields = lines.find((l) => l.startsWith("#fields\t"))!.split("\t").slice(1);
  return lines.filter((l) => l !== "" && !l.startsWith("#")).map((l) => {
    const v = l.split("\t");
    return Object.fromEntries(fields.map((f, i) => [f, v[i]!]));
  });
}

Deno.test("weir -r on HTTP flows: http.log, files.log, service, and the events site scripts see", async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-trace-http-" });
  try {
    const truth = await generateTrace(`${dir}/http.pcap`, {
      flows: 40,
      seed: 7,
      applications: { http: 1 },
      packetsPerFlow: 12,
    });
    const exchanges = truth.flows.reduce((n, f) => n + f.serverMessages, 0);
    const events = new EventRegistry((name, error) => {
      throw new Error(`${name}: ${error}`);
    });
    const count = new Map<string, number>();
    const bump = (name: string) => () => void count.set(name, (count.get(name) ?? 0) + 1);
    for (
      const name of [
        "http_request",
        "http_reply",
        "http_header",
        "file_new",
        "file_state_remove",
        "HTTP::log_http",
        "Files::log_files",
      ]
    ) events.on(name, bump(name));
    await analyzeTrace({ path: `${dir}/http.pcap`, logDir: `${dir}/out`, events });

    const http = rows(await Deno.readTextFile(`${dir}/out/http.log`));
    assert.equal(http.length, exchanges, "one http.log row per exchange");
    assert.ok(http.every((r) => r.method === "GET" && r.status_code !== "-"));
    const files = rows(await Deno.readTextFile(`${dir}/out/files.log`));
    const fuids = new Set(
      http.flatMap((r) => r.resp_fuids === "-" ? [] : r.resp_fuids!.split(",")),
    );
    assert.ok(files.length > 0);
    assert.deepEqual(
      new Set(files.map((f) => f.fuid)),
      fuids,
      "files.log and http.log name the same files",
    );
    assert.ok(files.every((f) => f.source === "HTTP" && /^F[0-9A-Za-z]{14,21}$/.test(f.fuid!)));
    for (const f of files) {
      const row = http.find((r) => r.resp_fuids?.split(",").includes(f.fuid!))!;
      assert.equal(f.seen_bytes, row.response_body_len, "the body went to the file whole");
    }
    const conns = rows(await Deno.readTextFile(`${dir}/out/conn.log`));
    assert.ok(conns.filter((c) => c.proto === "tcp").every((c) => c.service === "http"));

    assert.equal(count.get("http_request"), exchanges);
    assert.equal(count.get("http_reply"), exchanges);
    assert.ok((count.get("http_header") ?? 0) > 4 * exchanges);
    assert.equal(count.get("HTTP::log_http"), exchanges);
    assert.equal(count.get("file_new"), files.length);
    assert.equal(count.get("file_state_remove"), files.length);
    assert.equal(count.get("Files::log_files"), files.length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
