import assert from "node:assert/strict";
import { ConfigError, Problems } from "./errors.ts";
import {
  BOOLEAN,
  contentLines,
  duration,
  EntryReader,
  ENV_VARS,
  integer,
  normaliseKey,
  oneOf,
  parseIni,
  parseKeyValues,
  splitList,
} from "./ini.ts";

function messages(problems: Problems): string[] {
  try {
    problems.throwIfAny();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split("\n");
    throw error;
  }
}

Deno.test("normaliseKey lowers case and turns plugin dots into underscores", () => {
  assert.equal(normaliseKey(" AF_Packet.Fanout_ID "), "af_packet_fanout_id");
  assert.equal(normaliseKey("Env_Vars"), "env_vars");
});

Deno.test("contentLines skips blanks and comments and keeps line numbers (CRLF too)", () => {
  assert.deepEqual(contentLines("# a\r\n\r\n  x = 1  \r\n; b\r\ny", ["#", ";"]), [
    { line: 3, text: "x = 1" },
    { line: 5, text: "y" },
  ]);
});

Deno.test("parseIni reads sections, = and : delimiters, and keeps :: inside values", () => {
  const problems = new Problems();
  const sections = parseIni(
    "; zeekctl node.cfg\n[worker-1]\nType = worker\nhost: localhost\ninterface=af_packet::eth0\nlb.procs=\n",
    "node.cfg",
    problems,
  );
  assert.deepEqual(messages(problems), []);
  assert.deepEqual(sections, [{
    name: "worker-1",
    line: 2,
    entries: [
      { key: "type", name: "Type", value: "worker", line: 3 },
      { key: "host", name: "host", value: "localhost", line: 4 },
      { key: "interface", name: "interface", value: "af_packet::eth0", line: 5 },
      { key: "lb_procs", name: "lb.procs", value: "", line: 6 },
    ],
  }]);
});

Deno.test("parseIni reports malformed lines with their numbers and keeps going", () => {
  const problems = new Problems();
  const sections = parseIni(
    "type=worker\n[ok]\n[broken\njust words\n=nokey\n[also] trailing\nhost=x\n",
    "node.cfg",
    problems,
  );
  assert.deepEqual(messages(problems), [
    'node.cfg:1: "type=worker" comes before any [section]: put it under the [name] of the node it belongs to',
    'node.cfg:3: a section header must be "[name]" alone on its line: current value is "[broken"',
    'node.cfg:4: expected "key=value", "[section]" or a # comment: current value is "just words"',
    'node.cfg:5: expected "key=value", "[section]" or a # comment: current value is "=nokey"',
    'node.cfg:6: a section header must be "[name]" alone on its line: current value is "[also] trailing"',
  ]);
  assert.deepEqual(sections.map((s) => [s.name, s.entries.length]), [["ok", 1]]);
});

Deno.test("parseKeyValues reads zeekctl.cfg lines and splits at the first =", () => {
  const problems = new Problems();
  const entries = parseKeyValues(
    "# c\nEnv_Vars = A=1, B=2\nno equals here\n",
    "weir.cfg",
    problems,
  );
  assert.deepEqual(entries, [{ key: "env_vars", name: "Env_Vars", value: "A=1, B=2", line: 2 }]);
  assert.deepEqual(messages(problems), [
    'weir.cfg:3: expected "Key = value" or a # comment: current value is "no equals here"',
  ]);
});

Deno.test("EntryReader reads by key, treats empty values as unset, reports duplicates and bad values", () => {
  const problems = new Problems();
  const [section] = parseIni(
    "[w]\nlb_procs=two\nhost=\nLB_PROCS=3\nextra=1\n",
    "node.cfg",
    problems,
  );
  const reader = new EntryReader(section!.entries, "node.cfg", problems, " in [w]");
  assert.equal(reader.entry("host"), undefined);
  assert.equal(reader.read("lb_procs", integer(1, 9, "a positive integer")), undefined);
  assert.deepEqual(reader.unknown(["lb_procs", "host"]).map((e) => e.name), ["extra"]);
  reader.report(reader.entry("extra")!, "is odd", "remove it");
  assert.deepEqual(messages(problems), [
    'node.cfg:2: lb_procs must be a positive integer: current value is "two"',
    "node.cfg:4: LB_PROCS is set twice in [w] (first at line 2): keep one",
    'node.cfg:5: extra is odd: current value is "1"; remove it',
  ]);
});

Deno.test("BOOLEAN accepts zeekctl's, Zeek's and plain-English spellings", () => {
  for (const yes of ["1", "true", "TRUE", "yes", "T"]) assert.equal(BOOLEAN.parse(yes), true, yes);
  for (const no of ["0", "false", "No", "F"]) assert.equal(BOOLEAN.parse(no), false, no);
  for (const bad of ["2", "maybe", "on?", ""]) assert.equal(BOOLEAN.parse(bad), undefined, bad);
});

Deno.test("integer checks the range and, when asked, multiplies Zeek's a*b*c", () => {
  const port = integer(1, 65535, "a port");
  assert.equal(port.parse("27760"), 27760);
  for (const bad of ["0", "65536", "-1", "1.5", "0x10", " 1", "1e3"]) {
    assert.equal(port.parse(bad), undefined, bad);
  }
  const bytes = integer(1, Number.MAX_SAFE_INTEGER, "bytes", true);
  assert.equal(bytes.parse("128*1024*1024"), 134217728);
  assert.equal(bytes.parse("64 * 1024"), 65536);
  assert.equal(bytes.parse("2*"), undefined);
  assert.equal(port.parse("2*3"), undefined);
});

Deno.test("duration reads bare numbers in the default unit and zeekctl's units", () => {
  const days = duration("day", ["min", "hr", "day"]);
  assert.equal(days.parse("0"), 0);
  assert.equal(days.parse("30"), 30 * 86400);
  assert.equal(days.parse("12hr"), 12 * 3600);
  assert.equal(days.parse("12 hrs"), 12 * 3600);
  assert.equal(days.parse("30day"), 30 * 86400);
  assert.equal(days.parse("90mins"), 90 * 60);
  for (const bad of ["30sec", "30s", "soon", "-1", "1 week", "hr"]) {
    assert.equal(days.parse(bad), undefined, bad);
  }
  const ms = duration("msec", ["usec", "msec", "sec"]);
  assert.equal(ms.parse("10"), 0.01);
  assert.equal(ms.parse("10msec"), 0.01);
  assert.equal(ms.parse("0.5 sec"), 0.5);
  assert.equal(
    days.expects,
    "a number of days, or a number and a unit (min, hr, day)",
  );
});

Deno.test("oneOf matches case-insensitively, with an optional Zeek namespace prefix", () => {
  const modes = oneOf(["FANOUT_HASH", "FANOUT_QM"] as const, "af_packet::");
  assert.equal(modes.parse("fanout_qm"), "FANOUT_QM");
  assert.equal(modes.parse("AF_Packet::FANOUT_HASH"), "FANOUT_HASH");
  assert.equal(modes.parse("FANOUT_X"), undefined);
  assert.equal(modes.expects, "one of FANOUT_HASH|FANOUT_QM");
});

Deno.test("ENV_VARS reads A=1,B=2 and refuses pairs without a name", () => {
  assert.deepEqual(ENV_VARS.parse("A=1, B = two words ,C="), { A: "1", B: "two words", C: "" });
  assert.deepEqual(ENV_VARS.parse("URL=http://x/?a=b"), { URL: "http://x/?a=b" });
  for (const bad of ["A", "=1", "A=1,,B=2", "1A=2", "A B=1"]) {
    assert.equal(ENV_VARS.parse(bad), undefined, bad);
  }
});

Deno.test("splitList splits on spaces and commas", () => {
  assert.deepEqual(splitList(" a.ts  b.ts,c.ts "), ["a.ts", "b.ts", "c.ts"]);
  assert.deepEqual(splitList(""), []);
});
