import assert from "node:assert/strict";
import { formatStarted, formatStatusTable } from "./status_table.ts";

Deno.test("formatStatusTable prints zeekctl's columns aligned", () => {
  const started = new Date(2026, 10, 25, 9, 5, 7);
  const text = formatStatusTable([
    {
      name: "manager",
      type: "manager",
      host: "localhost",
      status: "running",
      pid: 100,
      startedAt: started,
      restarts: 0,
      lastExit: undefined,
    },
    {
      name: "worker-1",
      type: "worker",
      host: "localhost",
      status: "crashed",
      pid: undefined,
      startedAt: started,
      restarts: 0,
      lastExit: "exit code 1",
    },
  ]);
  assert.equal(
    text,
    [
      "Name     Type    Host      Status  Pid Started",
      "manager  manager localhost running 100 25 Nov 09:05:07",
      "worker-1 worker  localhost crashed",
    ].join("\n"),
  );
  assert.equal(formatStarted(started), "25 Nov 09:05:07");
});

Deno.test("formatStatusTable adds a Restarts column once a node was restarted", () => {
  const text = formatStatusTable([
    {
      name: "worker-1",
      type: "worker",
      host: "localhost",
      status: "running",
      pid: 7,
      startedAt: new Date(),
      restarts: 2,
      lastExit: "killed by SIGKILL",
    },
  ]);
  assert.match(text.split("\n")[0]!, /Restarts$/);
  assert.match(text.split("\n")[1]!, / 2$/);
});
