/**
 * ICMP's stand-ins for ports (Z: src/packet_analysis/protocol/icmp/ICMP.cc
 * `ICMP4_counterpart`, `ICMP6_counterpart`): the originator "port" is the
 * message type; the responder's is the counterpart type for
 * request/reply pairs, which makes both directions one connection, and
 * the code for everything else, which Zeek keys one way only.
 *
 * @module
 */

/**
 * The responder port for an ICMP message, or -1 - code when the message
 * is one-way (the responder port is then the code).
 */
export function icmpCounterpart(icmpv6: boolean, type: number, code: number): number {
  if (!icmpv6) {
    switch (type) {
      case 8:
        return 0;
      case 0:
        return 8;
      case 13:
        return 14;
      case 14:
        return 13;
      case 15:
        return 16;
      case 16:
        return 15;
      case 10:
        return 9;
      case 9:
        return 10;
      case 17:
        return 18;
      case 18:
        return 17;
      default:
        return -1 - code;
    }
  }
  switch (type) {
    case 128:
      return 129;
    case 129:
      return 128;
    case 133:
      return 134;
    case 134:
      return 133;
    case 135:
      return 136;
    case 136:
      return 135;
    case 130:
      return 131;
    case 131:
      return 130;
    case 139:
      return 140;
    case 140:
      return 139;
    case 144:
      return 145;
    case 145:
      return 144;
    default:
      return -1 - code;
  }
}
