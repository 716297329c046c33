import assert from "node:assert/strict";
import { formatSamples, formatValue, MetricFormatError } from "./exposition.ts";
import type { MetricSample } from "./sample.ts";

const counter = (name: string, value: number, labels?: Record<string, string>): MetricSample => ({
  name,
  help: `help of ${name}`,
  type: "counter",
  value,
  ...(labels === undefined ? {} : { labels }),
});

Deno.test("families are grouped in first-seen order with one HELP and TYPE each", () => {
  const text = formatSamples([
    counter("a_total", 1, { k: "x" }),
    { name: "b", help: "gauge b", type: "gauge", value: 2.5 },
    counter("a_total", 3, { k: "y" }),
  ], { labels: { node: "worker-1" } });
  assert.equal(
    text,
    "# HELP a_total help of a_total\n# TYPE a_total counter\n" +
      'a_total{k="x",node="worker-1"} 1\na_total{k="y",node="worker-1"} 3\n' +
      '# HELP b gauge b\n# TYPE b gauge\nb{node="worker-1"} 2.5\n',
  );
});

Deno.test("label values and help text are escaped; a sample's own label beats the default", () => {
  const text = formatSamples([{
    name: "x_total",
    help: "back\\slash\nnewline",
    type: "counter",
    labels: { path: 'a"b\\c\nd', node: "own" },
    value: 7,
  }], { labels: { node: "worker-1" } });
  assert.equal(
    text,
    "# HELP x_total back\\\\slash\\nnewline\n# TYPE x_total counter\n" +
      'x_total{path="a\\"b\\\\c\\nd",node="own"} 7\n',
  );
});

Deno.test("no samples and no labels format as expected", () => {
  assert.equal(formatSamples([]), "");
  assert.equal(
    formatSamples([{ name: "g", help: "h", type: "gauge", value: 0 }]),
    "# HELP g h\n# TYPE g gauge\ng 0\n",
  );
});

Deno.test("special values use Prometheus's spelling", () => {
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(2 ** 53), "9007199254740992");
  assert.equal(formatValue(1e-7), "1e-7");
});

Deno.test("samples Prometheus would reject are refused with the way out", () => {
  assert.throws(
    () => formatSamples([counter("events", 1)]),
    (e) => e instanceof MetricFormatError && /rename it to events_total/.test(e.message),
  );
  assert.throws(
    () => formatSamples([counter("bad-name_total", 1)]),
    (e) =>
      e instanceof MetricFormatError && /"bad-name_total": the name is not valid/.test(e.message),
  );
  assert.throws(
    () => formatSamples([counter("a_total", 1, { "bad-label": "x" })]),
    (e) => e instanceof MetricFormatError && /label name "bad-label"/.test(e.message),
  );
  assert.throws(
    () => formatSamples([counter("a_total", 1, { __name__: "x" })]),
    MetricFormatError,
  );
  assert.throws(
    () => formatSamples([counter("a_total", 1), { ...counter("a_total", 1), type: "gauge" }]),
    (e) =>
      e instanceof MetricFormatError &&
      /as a gauge: an earlier sample made it a counter/.test(e.message),
  );
  assert.throws(
    () => formatSamples([counter("a_total", 1, { k: "x" }), counter("a_total", 2, { k: "x" })]),
    (e) => e instanceof MetricFormatError && /a_total\{k="x"\} twice/.test(e.message),
  );
  assert.throws(
    () =>
      formatSamples([{ name: "process_open_fds", help: "h", type: "gauge", value: 1 }], {
        reserved: new Set(["process_open_fds"]),
      }),
    (e) => e instanceof MetricFormatError && /process metrics already use/.test(e.message),
  );
});
