/**
 * weird.log as Zeek writes it: the core's weird sampling (`WeirdSampler`,
 * a `ConnWeirdState` per connection), the actions and de-duplication of
 * `base/frameworks/notice/weird.zeek` (`Weird::actions`, `weird_ignore`,
 * `did_log`, `did_notice`), and the `Weird::LOG` stream (path `weird`).
 * The analyzer framework calls `WeirdLog` where Zeek's core calls
 * `Reporter::Weird`; all expiry runs on the network time it passes in.
 *
 * ```ts
 * import { ConnWeirdState, WeirdLog } from "./mod.ts";
 * import { LogRegistry } from "../../log/mod.ts";
 *
 * const weirds = new WeirdLog({ logs: new LogRegistry(), peer: "worker-1" });
 * const conn = {
 *   uid: "CHhAvVGS1DHFjwGM9",
 *   id: { origH: "10.7.0.1", origP: 49001, respH: "10.7.0.53", respP: 53, proto: "udp" as const },
 *   weirdState: new ConnWeirdState(),
 * };
 * weirds.connWeird(1700000000.5, conn, "DNS_RR_unknown_type", "52", "DNS"); // "logged"
 * weirds.flowWeird(1700000001, "10.0.0.1", "10.0.0.2", "fragment_overlap"); // "logged"
 * weirds.netWeird(1700000002, "truncated_IP"); // "logged"
 * ```
 *
 * @module
 */

export {
  DEFAULT_WEIRD_ACTION,
  DEFAULT_WEIRD_ACTIONS,
  LIMITING_ACTIONS,
  NOTICE_ACTIONS,
  WEIRD_DO_NOT_IGNORE_REPEATS,
  type WeirdAction,
} from "./weird_actions.ts";
export {
  ConnWeirdState,
  DEFAULT_WEIRD_SAMPLER_MAX_KEYS,
  DEFAULT_WEIRD_SAMPLING,
  WeirdSampler,
  type WeirdSamplingOptions,
} from "./weird_sampling.ts";
export {
  DEFAULT_WEIRD_PEER,
  DEFAULT_WEIRD_TABLE_MAX_ENTRIES,
  idString,
  WEIRD_DID_TIMEOUT_SEC,
  WEIRD_IGNORE_TIMEOUT_SEC,
  type WeirdConnection,
  type WeirdConnId,
  weirdInfoType,
  WeirdLog,
  type WeirdLogOptions,
  type WeirdLogStats,
  type WeirdNotice,
  type WeirdOutcome,
} from "./weird_log.ts";
export { ConnWeirds, type WeirdConnections } from "./conn_weirds.ts";
