import assert from "node:assert/strict";
import { validateRow } from "../mod/log/stream.ts";
import { defineConnStream } from "../mod/analysis/conn/conn_log.ts";
import { benchAsciiWriter, connLikeRows } from "./log_writer.ts";

Deno.test("the bench rows fit Zeek's conn.log schema", () => {
  const stream = defineConnStream();
  assert.equal(stream.columns.length, 22);
  assert.equal(
    stream.columns.map((c) => c.name).join(" "),
    [
      "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes",
      "conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts",
      "resp_ip_bytes tunnel_parents ip_proto",
    ].join(" "),
  );
  for (const row of connLikeRows(500)) validateRow(stream, row);
});

Deno.test("benchAsciiWriter reports a rate and cleans up after itself", async () => {
  const before = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
    e.name.startsWith("weir-log-bench-")
  );
  const r = await benchAsciiWriter(20_000);
  assert.equal(r.rows, 20_000);
  assert.ok(r.seconds > 0);
  assert.ok(r.rowsPerSec > 0);
  const after = [...Deno.readDirSync(Deno.env.get("TMPDIR") ?? "/tmp")].filter((e) =>
    e.name.startsWith("weir-log-bench-")
  );
  assert.equal(after.length, before.length);
});
