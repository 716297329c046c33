/**
 * The manager role: the central forwarder, the supervisor of this host's
 * nodes, the control API the verbs talk to, `/services.json` for
 * Prometheus, and Zeek's WebSocket API.
 *
 * ```ts
 * import { runManager } from "./mod.ts";
 *
 * await runManager({ ...start, openLogWriting, launch, printStatus, onChildOutput, onChildError, requestStop });
 * ```
 *
 * @module
 */

export { type Listener, listenersOf, probePorts } from "./check_ports.ts";
export { checkHost } from "./check_host.ts";
export { directoryProblem } from "./directories.ts";
export {
  hostAddresses,
  localNodes,
  type ManagerOptions,
  managerWebSocketPort,
  runManager,
} from "./run_manager.ts";
