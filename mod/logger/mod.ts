/**
 * The logger role: the receiving and writing half of logging. `runLogger`
 * runs a logger node; `openLogWriting` is the logging a log writer opens
 * (a logger, or the manager of a layout without loggers, which `main.ts`
 * hands it).
 *
 * ```ts
 * import { runLogger } from "./mod.ts";
 *
 * await runLogger(start); // until start.shutdown aborts
 * ```
 *
 * @module
 */

export { runLogger } from "./run_logger.ts";
export { openLogWriting } from "./log_writing.ts";
export { DEFAULT_LOG_RCVHWM, LogReceiver, type LogReceiverOptions } from "./log_receiver.ts";
export { LogWriterPool, type LogWriterPoolOptions } from "./log_writer_pool.ts";
export { type Admission, type BatchMark, LEDGER_FILE, LogLedger } from "./log_ledger.ts";
export { JetStreamSource, type JetStreamSourceOptions } from "./jetstream_source.ts";
