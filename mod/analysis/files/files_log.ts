/**
 * The `Files::LOG` stream: Zeek's `Files::Info` columns in Zeek's order
 * with what the default scripts append (`base/files/hash`: md5, sha1,
 * sha256; `base/files/extract`: extracted, extracted_cutoff,
 * extracted_size) (Z: scripts/base/frameworks/files/main.zeek).
 *
 * @module
 */

import { T, type ZeekType } from "../../../zeek/mod.ts";
import { defineStream, type LogRegistry, type LogStream } from "../../log/mod.ts";
import { connIdType } from "../conn/mod.ts";

/** The stream id, as Zeek's `Files::LOG`. */
export const FILES_LOG_ID = "Files::LOG";

/** The `Files::Info` record type with the default scripts' fields. */
export function filesInfoType(): ZeekType {
  return T.record("Files::Info", [
    ["ts", T.time],
    ["fuid", T.string],
    ["uid", T.string, "optional"],
    ["id", connIdType(), "optional"],
    ["source", T.string, "optional"],
    ["depth", T.count],
    ["analyzers", T.set(T.string)],
    ["mime_type", T.string, "optional"],
    ["filename", T.string, "optional"],
    ["duration", T.interval],
    ["local_orig", T.bool, "optional"],
    ["is_orig", T.bool, "optional"],
    ["seen_bytes", T.count],
    ["total_bytes", T.count, "optional"],
    ["missing_bytes", T.count],
    ["overflow_bytes", T.count],
    ["timedout", T.bool],
    ["parent_fuid", T.string, "optional"],
    ["md5", T.string, "optional"],
    ["sha1", T.string, "optional"],
    ["sha256", T.string, "optional"],
    ["extracted", T.string, "optional"],
    ["extracted_cutoff", T.bool, "optional"],
    ["extracted_size", T.count, "optional"],
  ]);
}

/** Declares `Files::LOG` (path `files`), raising `Files::log_files` per row. */
export function defineFilesStream(): LogStream {
  return defineStream({
    id: FILES_LOG_ID,
    path: "files",
    columns: filesInfoType(),
    event: "Files::log_files",
  });
}

/** The registry's `Files::LOG`, declared there on first use. */
export function filesStreamOf(logs: LogRegistry): LogStream {
  return logs.stream(FILES_LOG_ID) ?? logs.add(defineFilesStream());
}
