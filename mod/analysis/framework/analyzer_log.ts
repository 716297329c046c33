/**
 * analyzer.log (Zeek 8+, `base/frameworks/analyzer/logging.zeek`): one row
 * for the first removal-causing violation of a protocol analyzer that had
 * confirmed on the connection.
 *
 * @module
 */

import type { StreamSpec } from "../../log/mod.ts";
import { T } from "../../../zeek/mod.ts";
import { connIdType } from "../conn/mod.ts";

/** `Analyzer::Logging::LOG` with `Analyzer::Logging::Info`'s columns. */
export const ANALYZER_LOG: StreamSpec = Object.freeze({
  id: "Analyzer::Logging::LOG",
  path: "analyzer",
  event: "Analyzer::Logging::log_analyzer",
  columns: T.record("Analyzer::Logging::Info", [
    ["ts", T.time],
    ["analyzer_kind", T.string],
    ["analyzer_name", T.string],
    ["uid", T.string, "optional"],
    ["fuid", T.string, "optional"],
    ["id", connIdType(false), "optional"],
    ["proto", T.enum("transport_proto"), "optional"],
    ["failure_reason", T.string],
    ["failure_data", T.string, "optional"],
  ]),
});

/** `Analyzer::Logging::failure_data_max_size`. */
export const FAILURE_DATA_MAX_SIZE = 40;
