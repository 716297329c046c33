/**
 * Samples from `MetricSource`s in the Prometheus text exposition format
 * (version 0.0.4): one `# HELP` and `# TYPE` per family, then its series.
 *
 * @module
 */

import type { MetricSample, MetricType } from "./sample.ts";

/** A sample Prometheus would reject or a promtool lint would flag: a bug in a source. */
export class MetricFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MetricFormatError";
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

interface Family {
  readonly help: string;
  readonly type: MetricType;
  readonly lines: string[];
  readonly seen: Set<string>;
}

function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

function escapeLabelValue(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** Prometheus spells the special values its own way; `String()` would say `Infinity`. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelSet(
  sample: MetricSample,
  defaults: Readonly<Record<string, string>>,
): string {
  const own = sample.labels ?? {};
  const parts: string[] = [];
  for (const [name, value] of Object.entries(own)) {
    if (!LABEL_NAME.test(name) || name.startsWith("__")) {
      throw new MetricFormatError(
        `Cannot expose metric ${sample.name}: label name "${name}" is not valid; use [a-zA-Z_][a-zA-Z0-9_]* without a leading "__"`,
      );
    }
    parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  for (const [name, value] of Object.entries(defaults)) {
    if (!(name in own)) parts.push(`${name}="${escapeLabelValue(value)}"`);
  }
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

export interface FormatOptions {
  /** Added to every series that does not set them itself (the `node` label). */
  readonly labels?: Readonly<Record<string, string>>;
  /** Family names already exposed by other means (prom-client's process metrics). */
  readonly reserved?: ReadonlySet<string>;
}

/**
 * Formats samples as families in the order their names first appear.
 * Throws `MetricFormatError` for invalid names, a counter without `_total`,
 * a family whose samples disagree on type, a reserved name, or a series
 * given twice: Prometheus would reject the whole scrape for any of them.
 */
export function formatSamples(
  samples: Iterable<MetricSample>,
  options: FormatOptions = {},
): string {
  const defaults = options.labels ?? {};
  const families = new Map<string, Family>();
  for (const sample of samples) {
    let family = families.get(sample.name);
    if (family === undefined) {
      if (options.reserved?.has(sample.name)) {
        throw new MetricFormatError(
          `Cannot expose metric ${sample.name} from a source: the process metrics already use that name; rename the source's metric`,
        );
      }
      if (!METRIC_NAME.test(sample.name)) {
        throw new MetricFormatError(
          `Cannot expose metric "${sample.name}": the name is not valid; use [a-zA-Z_:][a-zA-Z0-9_:]*`,
        );
      }
      if (sample.type === "counter" && !sample.name.endsWith("_total")) {
        throw new MetricFormatError(
          `Cannot expose counter ${sample.name}: counters are named with a "_total" suffix; rename it to ${sample.name}_total`,
        );
      }
      family = { help: sample.help, type: sample.type, lines: [], seen: new Set() };
      families.set(sample.name, family);
    } else if (family.type !== sample.type) {
      throw new MetricFormatError(
        `Cannot expose metric ${sample.name} as a ${sample.type}: an earlier sample made it a ${family.type}; give one of them another name`,
      );
    }
    const labels = labelSet(sample, defaults);
    if (family.seen.has(labels)) {
      throw new MetricFormatError(
        `Cannot expose metric ${sample.name}${labels} twice: two samples have the same labels; sum them in the source or label them apart`,
      );
    }
    family.seen.add(labels);
    family.lines.push(`${sample.name}${labels} ${formatValue(sample.value)}`);
  }
  let text = "";
  for (const [name, family] of families) {
    text += `# HELP ${name} ${escapeHelp(family.help)}\n# TYPE ${name} ${family.type}\n`;
    text += family.lines.join("\n") + "\n";
  }
  return text;
}
