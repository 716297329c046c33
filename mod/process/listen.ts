/**
 * Listening sockets that cannot open: a taken port or an address this host
 * does not have is the operator's to fix, so it becomes one line saying
 * what wanted to listen where and which setting moves it.
 *
 * @module
 */

/** A listener could not open; the message names it, the address and the setting to change. */
export class ListenError extends Error {
  override readonly name: string = "ListenError";
}

/** Runs `open`, turning AddrInUse and AddrNotAvailable into a `ListenError` about `what`. */
export function listenOrExplain<T>(
  what: string,
  host: string,
  port: number,
  settings: string,
  open: () => T,
): T {
  try {
    return open();
  } catch (error) {
    const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    if (error instanceof Deno.errors.AddrInUse) {
      throw new ListenError(
        `Cannot listen for ${what} on ${where}: the port is taken (another weir cluster, or another program); change ${settings}`,
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.AddrNotAvailable) {
      throw new ListenError(
        `Cannot listen for ${what} on ${where}: this host has no address ${host}; change ${settings}, or run this node on the host that has it`,
        { cause: error },
      );
    }
    throw error;
  }
}
