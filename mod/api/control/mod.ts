/**
 * The control API between the verbs (`weir status`, `stop`, `deploy`, …)
 * and the running manager: the server the manager binds on ZeekPort+2, the
 * token file that guards it, and the client side every verb runs.
 *
 * ```ts
 * import { runVerb } from "./mod.ts";
 *
 * const code = await runVerb("status", [], { layout, launchManager, out: console.log, err: console.error });
 * ```
 *
 * @module
 */

export { type ControlHandlers, ControlRequestError, startControlServer } from "./control_server.ts";
export { ControlTokenError, ensureControlToken } from "./token.ts";
export { runVerb, type Verb, VERBS } from "./verbs.ts";
