import assert from "node:assert/strict";
import { versionSamples } from "./version_metrics.ts";

Deno.test("weir_version_info splits the version into labels and is 1", () => {
  assert.deepEqual(versionSamples("1.22.3-rc1", "2.9.0"), [{
    name: "weir_version_info",
    help: "The weir release this node runs (value is always 1).",
    type: "gauge",
    labels: {
      version: "1.22.3-rc1",
      major: "1",
      minor: "22",
      patch: "3",
      runtime: "deno",
      runtime_version: "2.9.0",
    },
    value: 1,
  }]);
  assert.equal(versionSamples("0.1.0")[0]?.labels?.runtime_version, Deno.version.deno);
});
