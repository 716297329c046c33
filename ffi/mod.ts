/**
 * The native libraries weir uses, through `Deno.dlopen`: typed, owned
 * wrappers of libc (sockets, mmap, poll), libzmq and libpcap. Raw symbols
 * never leave this folder; library names and the install hint live in
 * `libraries.ts`.
 *
 * ```ts
 * import { LibraryMissingError, zmqVersion } from "./mod.ts";
 *
 * try {
 *   console.log(zmqVersion());
 * } catch (error) {
 *   if (error instanceof LibraryMissingError) console.error(error.message);
 * }
 * ```
 *
 * @module
 */

export { LIBC, LIBPCAP, LibraryMissingError, type LibrarySpec, LIBZMQ } from "./libraries.ts";
export { tcpEndpoint, ZmqContext, ZmqError, ZmqForwarder, zmqVersion } from "./libzmq.ts";
export { pcapVersion } from "./libpcap.ts";
