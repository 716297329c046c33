/**
 * Prometheus metrics and service discovery. Every node serves `GET /metrics`
 * with `node="<name>"` on every series: process metrics, `weir_version_info`,
 * and whatever its `MetricSource`s report at scrape time (Zeek's names where
 * the meaning is Zeek's). The manager also serves `GET /services.json`, the
 * Prometheus HTTP SD list of every node, kept current as nodes come and go.
 *
 * @example
 * ```ts
 * const discovery = createServiceDiscovery(layout);
 * const server = openMetricsServer({
 *   node: "manager",
 *   host: layout.settings.metricsAddress,
 *   port: layout.manager.metricsPort!,
 *   serviceDiscovery: discovery,
 *   sources: [
 *     () => busSamples(bus.counters),
 *     () => eventSamples(events.invocations),
 *     () => logWriteSamples(logs.counters()),
 *   ],
 * });
 * discovery.addTarget({ name: "sensor-1", address: "10.0.0.7", metricsPort: 9995 });
 * await server.close();
 * ```
 *
 * @module
 */

export {
  createMetricsApp,
  METRICS_CONTENT_TYPE,
  METRICS_PATH,
  type MetricsApp,
  type MetricsAppOptions,
  SERVICES_PATH,
} from "./app.ts";
export { type FormatOptions, formatSamples, formatValue, MetricFormatError } from "./exposition.ts";
export { authSamples } from "./auth_metrics.ts";
export { busSamples, type ClusterCounters, clusterSamples } from "./bus_metrics.ts";
export { eventSamples } from "./event_metrics.ts";
export { logReceiverSamples, logShipperSamples, logWriteSamples } from "./log_metrics.ts";
export { type PacketCounters, packetSamples } from "./packet_metrics.ts";
export { type ReassemblyCounters, reassemblySamples } from "./reassembly_metrics.ts";
export { createProcessRegistry, PROCESS_METRIC_NAMES } from "./process_metrics.ts";
export type { MetricSample, MetricSource, MetricType } from "./sample.ts";
export {
  DEFAULT_METRICS_HOST,
  DEFAULT_METRICS_PORT,
  MetricsListenError,
  type MetricsServer,
  type MetricsServerOptions,
  openMetricsServer,
} from "./server.ts";
export {
  createServiceDiscovery,
  formatTarget,
  type MetricsTarget,
  MetricsTargetError,
  type ServiceDiscovery,
  type ServiceDiscoveryOptions,
  type TargetGroup,
} from "./service_discovery.ts";
export {
  type SessionCounters,
  sessionSamples,
  type SessionsByProtocol,
} from "./session_metrics.ts";
export { versionSamples } from "./version_metrics.ts";
export { webSocketSamples } from "./websocket_metrics.ts";
