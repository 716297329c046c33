/**
 * The STARTTLS analyzers in Zeek's load order: `base/init-default.zeek`
 * loads `base/protocols/<dir>` alphabetically (dce-rpc, dhcp, dnp3, dns,
 * finger, ftp, http, imap, irc, krb, ldap, modbus, mqtt, mysql, ntlm,
 * ntp, pop3, postgresql, quic, radius, rdp, redis, rfb, sip, snmp, smb,
 * smtp, socks, ssh, ssl, syslog, websocket, tunnels, xmpp), and the order
 * decides which of two analyzers registered for one port comes first.
 *
 * @module
 */

import type { AnalyzerSpec } from "../framework/mod.ts";
import { FTP_ANALYZER } from "./ftp.ts";
import { IMAP_ANALYZER } from "./imap.ts";
import { IRC_ANALYZER } from "./irc.ts";
import { MYSQL_ANALYZER } from "./mysql.ts";
import { POP3_ANALYZER } from "./pop3.ts";
import { RDP_ANALYZER } from "./rdp.ts";
import { SMTP_ANALYZER } from "./smtp.ts";
import { XMPP_ANALYZER } from "./xmpp.ts";

/** FTP, IMAP, IRC, MySQL, POP3, RDP, SMTP, XMPP: Zeek's load order. */
export const STARTTLS_ANALYZERS: readonly AnalyzerSpec[] = Object.freeze([
  FTP_ANALYZER,
  IMAP_ANALYZER,
  IRC_ANALYZER,
  MYSQL_ANALYZER,
  POP3_ANALYZER,
  RDP_ANALYZER,
  SMTP_ANALYZER,
  XMPP_ANALYZER,
]);
