/**
 * `deno task bench`: every benchmark, each printing its figures next to a
 * reference measured in the same run.
 */

import { benchBus } from "./bench_bus.ts";

for (const row of await benchBus()) console.log(row);
