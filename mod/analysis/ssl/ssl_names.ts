/**
 * The names ssl.log prints for versions, cipher suites, curves and alerts,
 * with the fallbacks of Zeek's `&default` functions
 * (Z: scripts/base/protocols/ssl/consts.zeek; research note §3.3):
 * TLS 1.3 drafts as `TLSv13-draftNN`, everything unknown as
 * `unknown-<decimal>`.
 *
 * @module
 */

import { ALERT_NAMES, CIPHER_NAMES, CURVE_NAMES, VERSION_NAMES } from "./ssl_tables.ts";

/** `SSL::version_strings[v]`. */
export function versionName(v: number): string {
  const name = VERSION_NAMES.get(v);
  if (name !== undefined) return name;
  // `i / 0xFF == 0x7F` in Zeek's count arithmetic: 0x7E81..0x7F7F.
  if (Math.floor(v / 0xff) === 0x7f) return `TLSv13-draft${v % 0x7f}`;
  return `unknown-${v}`;
}

/** `SSL::cipher_desc[c]`. */
export function cipherName(c: number): string {
  return CIPHER_NAMES.get(c) ?? `unknown-${c}`;
}

/** `SSL::ec_curves[g]`. */
export function curveName(g: number): string {
  return CURVE_NAMES.get(g) ?? `unknown-${g}`;
}

/** `SSL::alert_descriptions[d]`. */
export function alertName(d: number): string {
  return ALERT_NAMES.get(d) ?? `unknown-${d}`;
}
