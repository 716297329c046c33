import assert from "node:assert/strict";
import { ConfigError, didYouMean, formatProblem, Problems } from "./errors.ts";

Deno.test("formatProblem writes file:line: message, or file: message without a line", () => {
  assert.equal(formatProblem({ file: "node.cfg", line: 7, message: "bad" }), "node.cfg:7: bad");
  assert.equal(formatProblem({ file: "node.cfg", message: "bad" }), "node.cfg: bad");
});

Deno.test("Problems throws nothing when empty and everything at once otherwise", () => {
  const problems = new Problems();
  problems.throwIfAny();
  problems.add("weir.cfg", 9, "late");
  problems.add("node.cfg", 3, "third line");
  problems.add("weir.cfg", 2, "early");
  problems.add("node.cfg", undefined, "whole file");
  problems.add("node.cfg", 1, "first line");
  assert.equal(problems.count, 5);
  assert.throws(() => problems.throwIfAny(), (error) => {
    assert.ok(error instanceof ConfigError);
    // Files in the order first mentioned; within a file, file-wide problems first, then by line.
    assert.equal(
      error.message,
      [
        "weir.cfg:2: early",
        "weir.cfg:9: late",
        "node.cfg: whole file",
        "node.cfg:1: first line",
        "node.cfg:3: third line",
      ].join("\n"),
    );
    assert.equal(error.problems.length, 5);
    assert.ok(Object.isFrozen(error.problems));
    assert.equal(error.name, "ConfigError");
    return true;
  });
});

Deno.test("didYouMean suggests a close key and stays quiet otherwise", () => {
  const keys = ["interface", "lb_procs", "MetricsPort"];
  assert.equal(didYouMean("intreface", keys), ' (did you mean "interface"?)');
  assert.equal(didYouMean("metricsprt", keys), ' (did you mean "MetricsPort"?)');
  assert.equal(didYouMean("lb_proc", keys), ' (did you mean "lb_procs"?)');
  assert.equal(didYouMean("colour", keys), "");
  assert.equal(didYouMean("x", keys), "");
});
