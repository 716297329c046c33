import assert from "node:assert/strict";
import { benchLiveCapture } from "./live.ts";
import { labUnavailable } from "../testing/live_lab.ts";

Deno.test({
  name: "benchLiveCapture prints one row per block size with every reader's figures",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const rows = await benchLiveCapture({
      flows: 300,
      packetsPerFlow: 10,
      loops: 1,
      blockSizes: [1 << 20],
    });
    if ((await labUnavailable()) !== undefined) {
      assert.match(rows[0]!, /^P2 live capture: skipped \(/);
      return;
    }
    assert.equal(rows.length, 1);
    assert.match(rows[0]!, /^P2 live capture, 2 workers, 1 MiB blocks/);
    assert.match(rows[0]!, /sent 3000 at/);
    assert.match(rows[0]!, /worker-1 \d+ pkts, .* drops 0 \| worker-2 \d+ pkts/);
    assert.match(rows[0]!, /tcpdump -w \/dev\/null: 3000 pkts/);
  },
});
