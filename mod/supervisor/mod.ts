/**
 * Child processes of the manager: start in zeekctl's order, wait for each
 * one's readiness line, restart crashed ones with bounded backoff, stop in
 * reverse order; zeekctl's status table.
 *
 * ```ts
 * import { Supervisor } from "./mod.ts";
 *
 * const supervisor = new Supervisor({ nodes, launch, reporter, stopTimeoutMs: 5000 });
 * await supervisor.startAll();
 * console.log(supervisor.states());
 * await supervisor.close();
 * ```
 *
 * @module
 */

export {
  type ChildState,
  type ChildStatus,
  DEFAULT_READY_TIMEOUT_MS,
  DEFAULT_RESTART_BACKOFF_MIN_MS,
  DEFAULT_STABLE_RUN_MS,
  type LaunchSpec,
  Supervisor,
  type SupervisorOptions,
} from "./supervisor.ts";
export { formatStarted, formatStatusTable } from "./status_table.ts";
export { residentKiB } from "./process_info.ts";
