import assert from "node:assert/strict";
import { quoteUntrusted, ReportLimiter } from "./untrusted.ts";
import type { Reporter } from "./reporter.ts";

Deno.test("quoteUntrusted: controls, separators and bidi overrides escaped; quotes escaped; cut with the length", () => {
  assert.equal(quoteUntrusted("plain"), '"plain"');
  assert.equal(quoteUntrusted('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(quoteUntrusted("x\n\x1b[2J\r\x00\x7f\x85"), '"x\\x0a\\x1b[2J\\x0d\\x00\\x7f\\x85"');
  assert.equal(quoteUntrusted("a\u2028b\u202ec\u2066"), '"a\\u2028b\\u202ec\\u2066"');
  assert.equal(quoteUntrusted("é漢字🙂"), '"é漢字🙂"');
  assert.equal(quoteUntrusted("y".repeat(500), 10), `"${"y".repeat(10)}…" (500 chars)`);
});

Deno.test("ReportLimiter: a burst per kind, then only counted; the count is reported in the next interval", () => {
  const lines: string[] = [];
  const reporter: Reporter = {
    info: () => {},
    debug: () => {},
    error: () => {},
    warning: (m) => lines.push(m),
  };
  let now = 0;
  const limiter = new ReportLimiter(reporter, { burst: 3, intervalMs: 1000, now: () => now });
  let built = 0;
  for (let i = 0; i < 100; i++) {
    limiter.warning("bad things", () => {
      built++;
      return `bad ${i}`;
    });
  }
  limiter.warning("other things", () => "other 0");
  assert.deepEqual(lines, [
    "bad 0",
    "bad 1",
    "bad 2 (further bad things are counted, not reported, for 1 s)",
    "other 0",
  ]);
  assert.equal(built, 3, "suppressed messages are never built");
  now = 1500;
  limiter.warning("bad things", () => "bad again");
  assert.deepEqual(lines.slice(4), [
    "97 more bad things not reported in the last 2 s",
    "bad again",
  ]);
});
