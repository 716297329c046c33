/**
 * The bus: one node's connection to the central XSUB⇄XPUB forwarder (the
 * transport knows no codec), Zeek's topic scheme, node ids in Zeek's
 * ZeroMQ form, and the typed event registry the codecs and handlers share.
 *
 * ```ts
 * import { Bus, createNodeId, nodeTopic } from "./mod.ts";
 *
 * const bus = Bus.open(zmq, { nodeId: createNodeId("worker-1", "host", 1), connectXpub, connectXsub }, onFatal);
 * bus.subscribe(nodeTopic("worker-1"));
 * ```
 *
 * @module
 */

export {
  Bus,
  type BusCounters,
  type BusMessage,
  type BusOptions,
  DEFAULT_LINGER_MS,
  DEFAULT_ONLOOP_QUEUE_HWM,
  DEFAULT_XPUB_SNDHWM,
  DEFAULT_XSUB_RCVHWM,
  FORMAT_BROKER_BIN,
  ForwarderTimeoutError,
  type Heartbeat,
  setHeartbeat,
} from "./bus.ts";
export {
  type Authorize,
  HandshakeMonitor,
  type ZapCounters,
  ZapHandler,
  type ZapRequest,
  type ZapVerdict,
} from "./zap.ts";
export {
  type EventDeclaration,
  type EventHandler,
  EventRedeclaredError,
  EventRegistry,
} from "./events.ts";
export { createNodeId, uniqueId } from "./node_id.ts";
export {
  internalReadyTopic,
  nodeIdFromTopic,
  nodeIdTopic,
  nodeTopic,
  nodeTypeTopic,
  POOL_TOPICS,
  TOPIC_SEPARATOR,
} from "./topics.ts";
