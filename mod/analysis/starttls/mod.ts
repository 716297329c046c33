/**
 * Zeek's STARTTLS hand-offs: the SMTP, IMAP, POP3, IRC, XMPP, FTP, MySQL
 * and RDP analyzers reduced to what decides them — confirmation when
 * Zeek's analyzer confirms (conn.log `service` becomes `smtp,ssl`, …;
 * RDP in TLS mode never confirms), the violations Zeek's would raise
 * before the switch, and the point where the connection turns to TLS and
 * every later byte of both directions goes to the SSL analyzer, attached
 * as a child (`../shared/research/http-files-ssl-x509.md` §5). Their
 * logs (smtp.log, ftp.log, …) are not written.
 *
 * ```ts
 * import { STARTTLS_ANALYZERS, SMTP_ANALYZER } from "./mod.ts";
 *
 * SMTP_ANALYZER.ports; // ["25/tcp", "587/tcp"]
 * STARTTLS_ANALYZERS.map((a) => a.name); // FTP, IMAP, IRC, MySQL, POP3, RDP, SMTP, XMPP
 * ```
 *
 * @module
 */

export { STARTTLS_ANALYZERS } from "./analyzers.ts";
export { FTP_ANALYZER, FTP_PORTS, FTP_SIGNATURES } from "./ftp.ts";
export { IMAP_ANALYZER, IMAP_PORTS } from "./imap.ts";
export { IRC_ANALYZER, IRC_PORTS, IRC_SIGNATURES } from "./irc.ts";
export { MYSQL_ANALYZER, MYSQL_PORTS } from "./mysql.ts";
export { POP3_ANALYZER, POP3_SIGNATURES } from "./pop3.ts";
export { RDP_ANALYZER, RDP_PORTS, RDP_SIGNATURES } from "./rdp.ts";
export { SMTP_ANALYZER, SMTP_PORTS, SMTP_SIGNATURES } from "./smtp.ts";
export { XMPP_ANALYZER, XMPP_PORTS, XMPP_SIGNATURES } from "./xmpp.ts";
export { TLS_ANALYZER } from "./handoff.ts";
