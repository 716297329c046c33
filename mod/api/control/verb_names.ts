/**
 * The verb names, once: those the manager's control API serves (each is the
 * path `/<verb>`), and those `weir <verb>` runs, derived from them.
 *
 * @module
 */

/** The verbs the control API serves. */
export const CONTROL_VERBS = Object.freeze(
  [
    "status",
    "start",
    "stop",
    "restart",
    "deploy",
    "cron",
    "netstats",
    "print",
    "revoke",
    "shutdown",
  ] as const,
);
export type ControlVerb = (typeof CONTROL_VERBS)[number];

/** `weir stop` sends it; an operator never types it. */
type ApiOnlyVerb = "shutdown";
/** Answered from the layout alone, so it works with no manager running. */
type CliOnlyVerb = "nodes" | "enroll";

/** The verbs `weir <verb>` runs. */
export type Verb = Exclude<ControlVerb, ApiOnlyVerb> | CliOnlyVerb;

export const VERBS: readonly Verb[] = Object.freeze([
  ...CONTROL_VERBS.filter((v): v is Exclude<ControlVerb, ApiOnlyVerb> => v !== "shutdown"),
  "nodes" satisfies CliOnlyVerb,
  "enroll" satisfies CliOnlyVerb,
]);
