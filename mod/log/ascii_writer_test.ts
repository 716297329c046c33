import assert from "node:assert/strict";
import { T, type ZeekType, type ZeekValue } from "../../zeek/types.ts";
import type { LogColumn } from "./stream.ts";
import { AsciiWriter } from "./ascii_writer.ts";
import { formatZeekDouble, RowBuffer } from "./ascii_values.ts";

const DECODER = new TextDecoder();

function render(
  fields: readonly LogColumn[],
  rows: readonly (readonly ZeekValue[])[],
  options = {},
): string {
  const w = new AsciiWriter(fields, options);
  const buf = new RowBuffer(64);
  for (const r of rows) w.appendRow(buf, r);
  return DECODER.decode(buf.view());
}

function col(name: string, type: ZeekType, optional = true): LogColumn {
  return { name, type, optional };
}

/** Bytes of a Zeek string literal written with \xNN escapes, as a Uint8Array. */
function bytes(latin1: string): Uint8Array {
  return Uint8Array.from(latin1, (c) => c.charCodeAt(0));
}

// ---- Zeek's conn.log baselines from ../shared/conformance ----

const CONFORMANCE = new URL("../../../shared/conformance/zeek-conn/", import.meta.url);

function conformanceLogs(): string[] {
  const out: string[] = [];
  try {
    for (const c of Deno.readDirSync(CONFORMANCE)) {
      if (!c.isDirectory) continue;
      for (const t of Deno.readDirSync(new URL(`${c.name}/`, CONFORMANCE))) {
        if (!t.isDirectory) continue;
        for (const f of Deno.readDirSync(new URL(`${c.name}/${t.name}/`, CONFORMANCE))) {
          const path = new URL(`${c.name}/${t.name}/${f.name}`, CONFORMANCE);
          if (f.isFile && Deno.readTextFileSync(path).includes("\n#fields\t")) {
            out.push(path.pathname);
          }
        }
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  return out.sort();
}

const BASELINES = conformanceLogs();
if (BASELINES.length === 0) {
  console.log(
    `ascii_writer_test: no conformance baselines under ${CONFORMANCE.pathname}; golden conn.log tests skipped`,
  );
}

function typeFromName(name: string): ZeekType {
  const m = /^(set|vector)\[(.+)\]$/.exec(name);
  if (m) return m[1] === "set" ? T.set(typeFromName(m[2]!)) : T.vector(typeFromName(m[2]!));
  if (name === "enum") return T.enum("");
  const t = (T as unknown as Record<string, ZeekType>)[name];
  if (t === undefined || typeof t !== "object") throw new Error(`unknown type ${name}`);
  return t;
}

/** The test's own reading of a TSV field, to obtain typed values to render again. */
function parseField(text: string, type: ZeekType): ZeekValue {
  if (text === "-") return undefined;
  switch (type.kind) {
    case "set":
    case "vector":
      return text === "(empty)" ? [] : text.split(",").map((e) => parseField(e, type.of));
    case "bool":
      return text === "T";
    case "count":
    case "int":
    case "time":
    case "interval":
    case "double":
      return Number(text);
    case "port":
      return Number(text);
    case "string":
    case "enum":
      return text === "(empty)"
        ? ""
        : text.replace(/\\x([0-9a-f]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)));
    default:
      return text;
  }
}

for (const path of BASELINES) {
  const name = path.split("/zeek-conn/")[1];
  Deno.test(`golden: Zeek's header and rows of ${name} render byte for byte (ts masked)`, () => {
    const lines = Deno.readTextFileSync(path).split("\n");
    assert.match(lines[0]!, /^### BTest baseline data/);
    const fieldsLine = lines.find((l) => l.startsWith("#fields\t"))!;
    const typesLine = lines.find((l) => l.startsWith("#types\t"))!;
    const names = fieldsLine.split("\t").slice(1);
    const types = typesLine.split("\t").slice(1).map(typeFromName);
    const fields = names.map((n, i) => col(n, types[i]!));
    const w = new AsciiWriter(fields, { utc: true });
    const header = w.header("conn", 1755770400).split("\n");
    const expectedHeader = lines.slice(1, 9);
    for (let i = 0; i < 8; i++) {
      if (expectedHeader[i]!.startsWith("#open ")) {
        assert.match(header[i]!, /^#open\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d$/);
      } else {
        assert.equal(header[i], expectedHeader[i], `header line ${i + 1}`);
      }
    }
    const rows = lines.filter((l) => l !== "" && !l.startsWith("#"));
    assert.ok(rows.length > 0);
    const tsCol = names.indexOf("ts");
    const buf = new RowBuffer();
    for (const line of rows) {
      const texts = line.split("\t");
      const values = texts.map((t, i) =>
        i === tsCol ? 1300475167.096535 : parseField(t, types[i]!)
      );
      buf.clear();
      w.appendRow(buf, values);
      const out = DECODER.decode(buf.view());
      assert.equal(out.endsWith("\n"), true);
      const got = out.slice(0, -1).split("\t");
      assert.equal(got[tsCol], "1300475167.096535");
      got[tsCol] = texts[tsCol]!;
      assert.equal(got.join("\t"), line);
    }
    const close = lines.find((l) => l.startsWith("#close"));
    if (close !== undefined) {
      assert.match(w.footer(1755774000), /^#close\t\d{4}-\d\d-\d\d-\d\d-\d\d-\d\d\n$/);
    }
  });
}

// ---- every column type, from Zeek's scripts.base.frameworks.logging.types baseline ----

const ALL_TYPES: LogColumn[] = [
  col("b", T.bool),
  col("i", T.int),
  col("e", T.enum("Log::ID")),
  col("c", T.count),
  col("p", T.port),
  col("sn", T.subnet),
  col("a", T.addr),
  col("d", T.double),
  col("t", T.time),
  col("iv", T.interval),
  col("s", T.string),
  col("sc", T.set(T.count)),
  col("ss", T.set(T.string)),
  col("se", T.set(T.string)),
  col("vc", T.vector(T.count)),
  col("ve", T.vector(T.string)),
];
const ALL_VALUES: ZeekValue[] = [
  true,
  -42,
  "SSH::LOG",
  21,
  "123/tcp",
  "10.0.0.0/24",
  "1.2.3.4",
  3.14,
  1396394119.939089,
  100,
  "hurz",
  [2, 4, 1, 3],
  ["CC", "AA", "BB"],
  [],
  [10, 20, 30],
  [],
];

Deno.test("golden: a record with every column type renders as Zeek's ASCII writer does", () => {
  const w = new AsciiWriter(ALL_TYPES, { emptyField: "EMPTY", utc: true });
  const header = w.header("ssh", Date.UTC(2014, 3, 1, 23, 15, 19) / 1000);
  assert.equal(
    header,
    "#separator \\x09\n#set_separator\t,\n#empty_field\tEMPTY\n#unset_field\t-\n#path\tssh\n" +
      "#open\t2014-04-01-23-15-19\n" +
      "#fields\tb\ti\te\tc\tp\tsn\ta\td\tt\tiv\ts\tsc\tss\tse\tvc\tve\n" +
      "#types\tbool\tint\tenum\tcount\tport\tsubnet\taddr\tdouble\ttime\tinterval\tstring\tset[count]\t" +
      "set[string]\tset[string]\tvector[count]\tvector[string]\n",
  );
  const buf = new RowBuffer();
  w.appendRow(buf, ALL_VALUES);
  assert.equal(
    DECODER.decode(buf.view()),
    "T\t-42\tSSH::LOG\t21\t123\t10.0.0.0/24\t1.2.3.4\t3.14\t1396394119.939089\t100.000000\thurz\t" +
      "2,4,1,3\tCC,AA,BB\tEMPTY\t10,20,30\tEMPTY\n",
  );
  assert.equal(w.footer(Date.UTC(2014, 3, 1, 23, 15, 19) / 1000), "#close\t2014-04-01-23-15-19\n");
});

Deno.test("unset values, bigints, numeric ports and vector holes", () => {
  assert.equal(
    render(ALL_TYPES, [ALL_TYPES.map(() => undefined)]),
    `${ALL_TYPES.map(() => "-").join("\t")}\n`,
  );
  assert.equal(
    render([col("c", T.count), col("i", T.int), col("p", T.port), col("v", T.vector(T.int))], [[
      2n ** 64n - 1n,
      -(2n ** 63n),
      8080,
      [1, undefined, -3],
    ]]),
    "18446744073709551615\t-9223372036854775808\t8080\t1,-,-3\n",
  );
});

// ---- doubles, times, intervals: Zeek's ascii-double and ascii-timestamps baselines ----

Deno.test("golden: doubles as in Zeek's ascii-double baseline", () => {
  const dmax = 1.79e308;
  const inputs = [
    2153226000.0,
    2153226000.1,
    2153226000.123456789,
    1.0,
    1.1,
    1.123456789,
    -1.123456789,
    1.1234,
    .1234,
    5e4,
    -5e4,
    3.14e15,
    -3.14e15,
    dmax,
    -dmax,
    1.23456789e-5,
    2.23e-308,
    -2.23e-308,
    Infinity,
    -Infinity,
    -0.0,
    NaN,
  ];
  const huge =
    "178999999999999996376899522972626047077637637819240219954027593177370961667659291027329061638406" +
    "108931437333529420935752785895444161234074984843178962619172326295244262722141766382622299223626438470" +
    "088150218987997954747866198184686628013966119769261150988554952970462018533787926725176560021258785656" +
    "871583744.0";
  assert.deepEqual(inputs.map(formatZeekDouble), [
    "2153226000.0",
    "2153226000.1",
    "2153226000.123457",
    "1.0",
    "1.1",
    "1.123457",
    "-1.123457",
    "1.1234",
    "0.1234",
    "50000.0",
    "-50000.0",
    "3140000000000000.0",
    "-3140000000000000.0",
    huge,
    `-${huge}`,
    "0.000012",
    "0.0",
    "-0.0",
    "inf",
    "-inf",
    "0.0",
    "nan",
  ]);
  assert.equal(render([col("d", T.double)], [[0.5], [0.1 + 0.2]]), "0.5\n0.3\n");
});

Deno.test("golden: times as in Zeek's ascii-timestamps baseline, intervals with six digits", () => {
  const times = [
    1234567890,
    1234567890.0,
    1234567890.01,
    1234567890.001,
    1234567890.0001,
    1234567890.00001,
    1234567890.000001,
    1234567890.0000001,
  ];
  assert.equal(
    render([col("data", T.time)], times.map((t) => [t])),
    "1234567890.000000\n1234567890.000000\n1234567890.010000\n1234567890.001000\n" +
      "1234567890.000100\n1234567890.000010\n1234567890.000001\n1234567890.000000\n",
  );
  assert.equal(
    render([col("iv", T.interval)], [[0.00001], [300], [-0.5], [3.157831], [0]]),
    "0.000010\n300.000000\n-0.500000\n3.157831\n0.000000\n",
  );
  // modp_dtoa switches to %.16e at 2^31-1; Zeek prints such times like this.
  assert.equal(render([col("t", T.time)], [[2385642157], [Infinity]]), "2.385642157e+09\ninf\n");
});

// ---- escaping ----

Deno.test("escapes: separator, backslash, reserved strings, leading '#', set separator in elements", () => {
  const f = [col("s", T.string), col("ss", T.set(T.string))];
  assert.equal(render(f, [["a\tb", ["x"]]]), "a\\x09b\tx\n");
  assert.equal(render(f, [["a\\b", ["x\\y"]]]), "a\\\\b\tx\\\\y\n");
  assert.equal(render(f, [["-", ["-"]]]), "\\x2d\t\\x2d\n");
  assert.equal(render(f, [["(empty)", ["(empty)", ""]]]), "\\x28empty)\t\\x28empty),(empty)\n");
  assert.equal(render(f, [["", []]]), "(empty)\t(empty)\n");
  assert.equal(render(f, [["a,b", ["a,b", "c"]]]), "a,b\ta\\x2cb,c\n");
  assert.equal(render(f, [["#not a header", ["x"]]]), "\\x23not a header\tx\n");
  assert.equal(render(f, [["-x", ["--"]]]), "-x\t--\n");
  assert.equal(
    render([col("ss", T.set(T.string)), col("s", T.string)], [[["#a"], "b"]]),
    "\\x23a\tb\n",
  );
});

Deno.test("golden: non-printable bytes with enable_utf_8=F, as in Zeek's ascii-escape-binary baseline", () => {
  const inputs = [
    bytes("AB\0CD\0"),
    bytes("AB\xffCD\0"),
    "AB\\xffCD\0",
    " ",
    "abc\\x00def",
    " ",
    "abc\0def",
    " ",
    bytes("foo \xc2\xae bar \\xc2\\xae baz"),
    "foo\x00bar\\0baz",
    "foo \x0e bar ^N baz",
  ];
  assert.equal(
    render([col("s", T.string)], inputs.map((s) => [s]), { utf8: false }),
    "AB\\x00CD\\x00\nAB\\xffCD\\x00\nAB\\\\xffCD\\x00\n \nabc\\\\x00def\n \nabc\\x00def\n \n" +
      "foo \\xc2\\xae bar \\\\xc2\\\\xae baz\nfoo\\x00bar\\\\0baz\nfoo \\x0e bar ^N baz\n",
  );
});

Deno.test("golden: UTF-8 passes through with enable_utf_8=T, controls are escaped", () => {
  assert.equal(
    render([col("s", T.string)], [
      [bytes("foo \xc2\xae bar")],
      ["दुनिया को नमस्ते"],
      ["hello 𠜎"],
      ["foo \n\t\0 bar"],
    ]),
    "foo ® bar\nदुनिया को नमस्ते\nhello 𠜎\nfoo \\x0a\\x09\\x00 bar\n",
  );
});

Deno.test("utf8: a stretch with a refused byte is escaped whole, up to the next escape", () => {
  const f = [col("s", T.string)];
  // NUL forces escaping of the whole stretch, ® included; after the backslash a new stretch starts.
  assert.equal(render(f, [["®\0x\\®"]]), "\\xc2\\xae\\x00x\\\\®\n");
  assert.equal(render(f, [[bytes("\xc3\x28")]]), "\\xc3(\n");
  assert.equal(render(f, [[bytes("ok\xe2\x82\xa1")]]), "ok₡\n");
  assert.equal(
    render(f, [["\u0085"], ["\ue000"], ["\ufff0"], ["\ud800x"]]),
    "\\xc2\\x85\n\\xee\\x80\\x80\n" +
      "\\xef\\xbf\\xb0\n\\xef\\xbf\\xbdx\n",
  );
  assert.equal(render(f, [["tab\tand ünïcode"]]), "tab\\x09and ünïcode\n");
  assert.equal(render(f, [["\x7f"]]), "\\x7f\n");
});

Deno.test("custom separators and markers follow the options; bad separators are refused", () => {
  const f = [col("s", T.string), col("v", T.vector(T.string))];
  assert.equal(
    render(f, [["a|b", ["x;y", "z"]], [undefined, []]], {
      separator: "|",
      setSeparator: ";",
      unsetField: "NA",
      emptyField: "E",
    }),
    "a\\x7cb|x\\x3by;z\nNA|E\n",
  );
  assert.equal(
    render(f, [["NA", ["E"]]], { separator: "|", unsetField: "NA", emptyField: "E" }),
    "\\x4eA|\\x45\n",
  );
  assert.throws(() => new AsciiWriter(f, { separator: "||" }), /one ASCII character/);
  const w = new AsciiWriter(f, { separator: "|", utc: true });
  // As in Zeek's ascii-escape baseline (`#separator ||`): printable separators appear as they are.
  assert.match(w.header("p", 0), /^#separator \|\n#set_separator\|,\n/);
});

Deno.test("writes only the filter's columns through indices", () => {
  const w = new AsciiWriter([col("b", T.string), col("a", T.count)]);
  const buf = new RowBuffer(16);
  w.appendRow(buf, [1, "x", "y"], Int32Array.from([2, 0]));
  assert.equal(DECODER.decode(buf.view()), "y\t1\n");
});

Deno.test("the row buffer grows for long values and detaches its bytes", () => {
  const long = "x".repeat(100_000);
  const buf = new RowBuffer(16);
  new AsciiWriter([col("s", T.string)]).appendRow(buf, [long]);
  assert.equal(buf.length, 100_001);
  const chunk = buf.detach();
  assert.equal(chunk.length, 100_001);
  assert.equal(buf.length, 0);
  assert.equal(chunk[100_000], 0x0a);
});
