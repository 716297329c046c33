import assert from "node:assert/strict";
import { T } from "../../zeek/types.ts";
import { LogRegistry, LogValueError } from "../log/stream.ts";
import type { Cluster } from "./cluster.ts";
import { createSiteApi } from "./site_api.ts";

// The log half of the site API touches only the registry; a node's identity is all it reads.
const NODE = { self: { name: "worker-1", type: "worker" }, nodeId: "zeromq_worker-1_h_1_N1" };

Deno.test("site API: a script's row that does not fit its stream is refused, named by column", () => {
  const logs = new LogRegistry();
  assert.equal(logs.validating, false, "weir's own streams are not checked per row");
  const rows: unknown[][] = [];
  logs.setSink({ write: (_s, _f, values) => void rows.push([...values]) });
  const api = createSiteApi(NODE as unknown as Cluster, logs);
  api.log.createStream({
    id: "Site::LOG",
    path: "site",
    columns: [
      { name: "ts", type: T.time, optional: false },
      { name: "n", type: T.count, optional: false },
    ],
  });
  api.log.write("Site::LOG", [1.5, 7]);
  api.log.write("Site::LOG", { ts: 2.5, n: 8 });
  assert.throws(
    () => api.log.write("Site::LOG", [3.5, "eight"]),
    (e: unknown) => e instanceof LogValueError && /\bn\b/.test(e.message),
  );
  assert.throws(() => api.log.write("Site::LOG", { ts: 4.5, n: -1 }), LogValueError);
  assert.deepEqual(rows, [[1.5, 7], [2.5, 8]]);
});
