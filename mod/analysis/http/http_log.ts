/**
 * The `HTTP::LOG` stream: Zeek's `HTTP::Info` columns and types in Zeek's
 * order, with the file columns `base/protocols/http/entities.zeek` adds
 * (Z: scripts/base/protocols/http/main.zeek; conformance FIELDS.md).
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogRegistry, type LogStream } from "../../log/mod.ts";
import { connIdType } from "../conn/mod.ts";

/** The stream id, as Zeek's `HTTP::LOG`. */
export const HTTP_LOG_ID = "HTTP::LOG";

/** The `HTTP::Info` record type (the logged fields). */
export function httpInfoType(): ZeekType {
  const strings = T.vector(T.string);
  return T.record("HTTP::Info", [
    ["ts", T.time],
    ["uid", T.string],
    ["id", connIdType()],
    ["trans_depth", T.count],
    ["method", T.string, "optional"],
    ["host", T.string, "optional"],
    ["uri", T.string, "optional"],
    ["referrer", T.string, "optional"],
    ["version", T.string, "optional"],
    ["user_agent", T.string, "optional"],
    ["origin", T.string, "optional"],
    ["request_body_len", T.count],
    ["response_body_len", T.count],
    ["status_code", T.count, "optional"],
    ["status_msg", T.string, "optional"],
    ["info_code", T.count, "optional"],
    ["info_msg", T.string, "optional"],
    ["tags", T.set(T.enum("HTTP::Tags"))],
    ["username", T.string, "optional"],
    ["password", T.string, "optional"],
    ["proxied", T.set(T.string), "optional"],
    ["orig_fuids", strings, "optional"],
    ["orig_filenames", strings, "optional"],
    ["orig_mime_types", strings, "optional"],
    ["resp_fuids", strings, "optional"],
    ["resp_filenames", strings, "optional"],
    ["resp_mime_types", strings, "optional"],
  ]);
}

/** Declares `HTTP::LOG` (path `http`), raising `HTTP::log_http` per row. */
export function defineHttpStream(): LogStream {
  return defineStream({
    id: HTTP_LOG_ID,
    path: "http",
    columns: httpInfoType(),
    event: "HTTP::log_http",
  });
}

/** The registry's `HTTP::LOG`, declared there on first use. */
export function httpStreamOf(logs: LogRegistry): LogStream {
  return logs.stream(HTTP_LOG_ID) ?? logs.add(defineHttpStream());
}
