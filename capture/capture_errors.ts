/**
 * Why a live capture could not start, one class per condition an operator
 * fixes differently: the privilege is missing, the interface does not
 * exist, the interface is down, or the kernel or libpcap refused a step of
 * the setup (`CaptureSetupError`, with the failing call and errno or
 * libpcap status in its message).
 *
 * @module
 */

/** The process may not open a packet socket; the message says how to grant CAP_NET_RAW. */
export class CapturePermissionError extends Error {
  readonly device: string;
  constructor(device: string, detail: string, options?: ErrorOptions) {
    super(
      `Cannot capture on interface "${device}": permission denied (${detail}); needs ` +
        "CAP_NET_RAW (and CAP_NET_ADMIN for promiscuous mode): run as root or " +
        "`setcap cap_net_raw,cap_net_admin+eip` on the weir (or deno) binary",
      options,
    );
    this.name = "CapturePermissionError";
    this.device = device;
  }
}

/** There is no network interface of that name (in this network namespace). */
export class InterfaceNotFoundError extends Error {
  readonly device: string;
  constructor(device: string, options?: ErrorOptions) {
    super(
      `Cannot capture on interface "${device}": no such interface; list the interfaces with ` +
        "`ip link` and fix the interface setting (node.cfg `interface=` or `-i`)",
      options,
    );
    this.name = "InterfaceNotFoundError";
    this.device = device;
  }
}

/** The interface exists but is administratively down. */
export class InterfaceDownError extends Error {
  readonly device: string;
  constructor(device: string, options?: ErrorOptions) {
    super(
      `Cannot capture on interface "${device}": the interface is down; bring it up with ` +
        `\`ip link set ${device} up\``,
      options,
    );
    this.name = "InterfaceDownError";
    this.device = device;
  }
}

/** A setup step failed for another reason; the message names the call and the errno. */
export class CaptureSetupError extends Error {
  readonly device: string;
  constructor(device: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "CaptureSetupError";
    this.device = device;
  }
}
