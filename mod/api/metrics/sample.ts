/**
 * The collector interface between a node's parts and its `/metrics`: a
 * source is asked for its samples at scrape time, so the hot paths only bump
 * plain numbers and never call into a metrics library.
 *
 * @module
 */

/** How Prometheus should treat a series. */
export type MetricType = "counter" | "gauge";

/** One series' value at scrape time. Samples of one name form a family. */
export interface MetricSample {
  /** `<prefix>_<subsystem>_<what>_<unit>`; counters end in `_total`. */
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  /** Beyond the registry's default labels (`node`). */
  readonly labels?: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Called on every scrape; reads counters and returns their samples. */
export type MetricSource = () => Iterable<MetricSample>;
