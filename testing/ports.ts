/**
 * Ports for servers a test starts on 127.0.0.1, chosen at run time.
 *
 * @module
 */

/**
 * A base port with `count` consecutive free TCP ports on 127.0.0.1, below
 * the kernel's ephemeral range: a port in that range can be taken between
 * this probe and the server's bind by any outgoing connection (or by a
 * reconnecting socket connecting to itself).
 */
export function findFreePortRange(count: number): number {
  const highest = ephemeralLow() - count;
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 10000 + Math.floor(Math.random() * (highest - 10000));
    const listeners: Deno.Listener[] = [];
    try {
      for (let p = base; p < base + count; p++) {
        listeners.push(Deno.listen({ hostname: "127.0.0.1", port: p }));
      }
      return base;
    } catch {
      // taken: try another range
    } finally {
      for (const l of listeners) l.close();
    }
  }
  throw new Error(`Cannot find ${count} consecutive free ports`);
}

/** The first port of the kernel's ephemeral range (32768 when unreadable, or too low to leave room below it). */
function ephemeralLow(): number {
  try {
    const low = Number(
      Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range").trim().split(/\s+/)[0],
    );
    return low > 12000 ? low : 32768;
  } catch {
    return 32768;
  }
}
