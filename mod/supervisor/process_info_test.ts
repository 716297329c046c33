import assert from "node:assert/strict";
import { residentKiB } from "./process_info.ts";

Deno.test("residentKiB reads this process's RSS and says undefined for a pid that is gone", () => {
  const kib = residentKiB(Deno.pid);
  assert.ok(kib !== undefined && kib > 1024, `RSS of a Deno process: ${kib} KiB`);
  assert.equal(residentKiB(2 ** 22 + 7), undefined);
});
