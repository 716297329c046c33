import assert from "node:assert/strict";
import { type LineFlags, LineSplitter, type LineSplitterOptions } from "./line_splitter.ts";

const bytes = (s: string) => Uint8Array.from(s, (ch) => ch.charCodeAt(0));
const str = (b: Uint8Array) => String.fromCharCode(...b);

function splitter(options: Omit<LineSplitterOptions, "weird"> = {}) {
  const lines: string[] = [];
  const weirds: string[] = [];
  const flags: LineFlags = { singleCr: false, nul: false };
  const s = new LineSplitter(
    {
      line: (head, length) =>
        lines.push(head.length === length ? str(head) : `${str(head)}…${length}`),
      plain: (data) => lines.push(`plain ${str(data)}`),
    },
    flags,
    {
      ...options,
      weird: (name, addl) => weirds.push(addl === undefined ? name : `${name} ${addl}`),
    },
  );
  return { s, lines, weirds };
}

Deno.test("line splitter: ContentLine ends lines at CRLF, CR or LF, across deliveries too", () => {
  const { s, lines, weirds } = splitter();
  s.deliver(bytes("one\r\ntwo\nthree\r"));
  s.deliver(bytes("\nfour\rfive"));
  s.deliver(bytes("\r\n"));
  s.deliver(bytes("six"));
  s.endOfStream();
  assert.deepEqual(lines, ["one", "two", "three", "four", "five", "six"]);
  assert.deepEqual(weirds, ["line_terminated_with_single_CR"], "once per connection");
});

Deno.test("line splitter: NUL-sensitive drops and reports the first NUL only", () => {
  const { s, lines, weirds } = splitter({ nulSensitive: true });
  s.deliver(bytes("a\0b\r\nc\0d\r\n"));
  assert.deepEqual(lines, ["ab", "c\0d"]);
  assert.deepEqual(weirds, ["NUL_in_line"]);
});

Deno.test("line splitter: a line reaching the limit is cut as Zeek cuts it; only a head is kept", () => {
  const cut = splitter({ maxLineLength: 10 });
  cut.s.deliver(bytes("0123456789abc\r\n"));
  assert.deepEqual(cut.lines, ["012345678", "bc"], "the byte at the limit is lost");
  assert.deepEqual(cut.weirds, ["contentline_size_exceeded"]);

  const head = splitter({ keep: 4 });
  head.s.deliver(bytes(`${"x".repeat(5000)}\r\nok\r\n`));
  assert.deepEqual(head.lines, ["xxxx…5000", "ok"]);
});

Deno.test("line splitter: plain delivery hands bytes on, takeRest ends the splitter", () => {
  const { s, lines } = splitter();
  s.deliver(bytes("BDAT 3\r\n"));
  s.setPlainDelivery(3);
  s.deliver(bytes("a\r\nNEXT\r\n"));
  assert.deepEqual(lines, ["BDAT 3", "plain a\r\n", "NEXT"]);

  const rest: string[] = [];
  const t = new LineSplitter(
    {
      line: (head) => {
        if (str(head) === "GO") rest.push(str(t.takeRest()));
        else rest.push(str(head));
      },
    },
    { singleCr: false, nul: false },
    { weird: () => {} },
  );
  t.deliver(bytes("A\r\nGO\r\n\x16\x03\x01more\r\n"));
  t.deliver(bytes("B\r\n"));
  assert.deepEqual(rest, ["A", "\x16\x03\x01more\r\n"]);
});

Deno.test("line splitter: NVT ends lines at LF, keeps other CRs, removes telnet commands", () => {
  const { s, lines, weirds } = splitter({ nvt: true, nulSensitive: true });
  s.deliver(bytes("USER a\r\nPA\rSS\n"));
  s.deliver(bytes("\xff\xf4\xff\xf2AUTH TLS\r"));
  s.deliver(bytes("\n\xff\xfb\x01X\xff\xfa\x18\x01\xff\xf0Y\xff\xffZ\r\0\n"));
  // CR NUL LF: the NUL is dropped but is the last character, so the CR stays (as in Zeek).
  assert.deepEqual(lines, ["USER a", "PA\rSS", "AUTH TLS", "XY\xffZ\r"]);
  assert.deepEqual(weirds, ["line_terminated_with_single_CR"]);
});
