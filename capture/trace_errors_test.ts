import assert from "node:assert/strict";
import { TraceFormatError, TraceOpenError } from "./trace_errors.ts";

Deno.test("TraceOpenError.from names the reason and the way out", () => {
  const cases: Array<[unknown, string]> = [
    [new Deno.errors.NotFound("x"), 'Cannot open trace "t.pcap": no such file; check the path'],
    [
      new Deno.errors.PermissionDenied("x"),
      'Cannot open trace "t.pcap": permission denied; make the file readable by this user',
    ],
    [
      new Deno.errors.NotCapable("x"),
      'Cannot open trace "t.pcap": Deno was not granted read access; run with --allow-read',
    ],
    [
      new Deno.errors.IsADirectory("x"),
      'Cannot open trace "t.pcap": it is a directory; name a .pcap or .pcapng file',
    ],
    [
      new Error("disk on fire"),
      'Cannot open trace "t.pcap": disk on fire; check the file and the disk',
    ],
  ];
  for (const [cause, message] of cases) {
    const err = TraceOpenError.from("t.pcap", cause);
    assert.equal(err.message, message);
    assert.equal(err.name, "TraceOpenError");
    assert.equal(err.path, "t.pcap");
    assert.equal(err.cause, cause);
  }
});

Deno.test("TraceFormatError carries the offset", () => {
  const err = new TraceFormatError("t.pcap", 24, "a bad record", "the file is corrupt");
  assert.equal(err.message, 'Cannot read trace "t.pcap": a bad record; the file is corrupt');
  assert.equal(err.offset, 24);
  assert.ok(err instanceof Error);
});
