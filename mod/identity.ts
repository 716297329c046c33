/**
 * Who this process is: the one global of weir, set once by `main.ts` before
 * any role runs. Everything else arrives in a context object.
 *
 * @module
 */

import type { NodeType } from "../config/mod.ts";

export interface Identity {
  /** The node name from the layout (`worker-1`); `CLUSTER_NODE` in Zeek. */
  readonly node: string;
  /** The node id on the bus, in Zeek's ZeroMQ form. */
  readonly nodeId: string;
  readonly role: NodeType;
}

let current: Identity | undefined;

/** Sets the identity; a second call is a programming error. */
export function setIdentity(identity: Identity): void {
  if (current !== undefined) {
    throw new Error(`The identity is already set (node "${current.node}")`);
  }
  current = Object.freeze({ ...identity });
}

/** The identity set by `main.ts`. */
export function identity(): Identity {
  if (current === undefined) {
    throw new Error("The identity is not set yet: main.ts sets it before a role runs");
  }
  return current;
}
