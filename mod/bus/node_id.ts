/**
 * Node ids in Zeek's ZeroMQ form: `zeromq_<node>_<hostname>_<pid>_<unique id>`.
 *
 * @module
 */

const BASE62 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

/** Zeek's `unique_id(prefix)`: the prefix followed by base-62 digits of 96 random bits. */
export function uniqueId(prefix: string): string {
  const words = crypto.getRandomValues(new Uint32Array(3));
  let out = prefix;
  for (const word of words) {
    let w = word;
    do {
      out += BASE62[w % 62];
      w = Math.floor(w / 62);
    } while (w > 0);
  }
  return out;
}

/** A fresh node id for `node` on this host and process. */
export function createNodeId(node: string, hostname: string, pid: number): string {
  return `zeromq_${node}_${hostname}_${pid}_${uniqueId("N")}`;
}
