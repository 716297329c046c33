import assert from "node:assert/strict";
import { benchWebSocket } from "./websocket.ts";

Deno.test("benchWebSocket runs both directions end to end and reports rates and RSS", async () => {
  const rows = await benchWebSocket(2000);
  assert.equal(rows.length, 4);
  assert.match(rows[1]!, /bus peer → client: [\d,]+ events\/s/);
  assert.match(rows[2]!, /client → bus peer: [\d,]+ events\/s/);
  assert.match(
    rows[3]!,
    /server RSS: \d+ MB idle, peak \d+ MB.*slow-client disconnects 0; messages in 2,000, out 2,000/,
  );
});
