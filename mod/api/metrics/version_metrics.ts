/**
 * The build-info gauge. Zeek's `zeek_version_info` names the Zeek release a
 * node runs; weir is not one, so its gauge is `weir_version_info` with the
 * same idea: value 1, the facts in labels.
 *
 * @module
 */

import type { MetricSample } from "./sample.ts";

/** The samples of `weir_version_info{version,major,minor,patch,runtime,runtime_version}`. */
export function versionSamples(
  version: string,
  runtimeVersion: string = Deno.version.deno,
): MetricSample[] {
  const [major = "", minor = "", patch = ""] = version.split(/[.+-]/);
  return [{
    name: "weir_version_info",
    help: "The weir release this node runs (value is always 1).",
    type: "gauge",
    labels: {
      version,
      major,
      minor,
      patch,
      runtime: "deno",
      runtime_version: runtimeVersion,
    },
    value: 1,
  }];
}
