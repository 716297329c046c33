/**
 * The control API: the manager serves JSON over HTTP on the layout's control
 * port (loopback by default), guarded by a token file of mode 0600; the
 * operator's verbs (`weir status`, `stop`, `deploy`, `cron` …) are its
 * clients. The verb names live once, in `verb_names.ts`.
 *
 * @example
 * ```ts
 * import { ensureControlToken, runVerb, openControlServer } from "./mod/api/control/mod.ts";
 *
 * // The manager's side.
 * const token = await ensureControlToken(layout.settings.controlTokenFile);
 * const { address: host, port } = layout.control;
 * await using server = openControlServer({ host, port, token, handlers });
 *
 * // The operator's side: `weir status`.
 * const code = await runVerb("status", [], { layout, launchManager, out: console.log, err: console.error });
 * ```
 *
 * @module
 */

export { type ControlReply, controlRequest } from "./control_client.ts";
export {
  type ControlHandlers,
  ControlRequestError,
  type ControlServer,
  type ControlServerOptions,
  openControlServer,
} from "./control_server.ts";
export { ControlTokenError, ensureControlToken, readControlToken } from "./token.ts";
export { CONTROL_VERBS, type ControlVerb, type Verb, VERBS } from "./verb_names.ts";
export { runVerb, type VerbContext } from "./verbs.ts";
