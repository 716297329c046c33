import assert from "node:assert/strict";
import { type ControlHandlers, openControlServer } from "./control_server.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";

function recordingHandlers(calls: string[]): ControlHandlers {
  const answer = (verb: string) => (arg?: unknown) => {
    calls.push(arg === undefined ? verb : `${verb} ${JSON.stringify(arg)}`);
    return Promise.resolve({ verb });
  };
  return {
    status: answer("status"),
    start: answer("start"),
    stop: answer("stop"),
    restart: answer("restart"),
    deploy: answer("deploy"),
    cron: answer("cron"),
    netstats: answer("netstats"),
    print: answer("print"),
    revoke: answer("revoke"),
    shutdown: answer("shutdown"),
  };
}

Deno.test("the control server routes the API's verbs and refuses the rest", async () => {
  const calls: string[] = [];
  await using server = openControlServer({
    host: "127.0.0.1",
    port: 0,
    token: TOKEN,
    handlers: recordingHandlers(calls),
  });
  const send = async (verb: string, body?: unknown, token = TOKEN) => {
    const response = await fetch(`http://127.0.0.1:${server.port}/${verb}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${token}` },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: await response.json() };
  };

  assert.deepEqual(await send("status"), { status: 200, body: { verb: "status" } });
  assert.deepEqual(await send("stop", { nodes: ["worker-1"] }), {
    status: 200,
    body: { verb: "stop" },
  });
  assert.deepEqual(await send("print", { nodes: ["Site::local_nets"] }), {
    status: 200,
    body: { verb: "print" },
  });
  assert.deepEqual(await send("shutdown", {}), { status: 200, body: { verb: "shutdown" } });
  assert.deepEqual(await send("nodes"), { status: 404, body: { error: "no such verb: nodes" } });
  assert.deepEqual(await send("toString"), {
    status: 404,
    body: { error: "no such verb: toString" },
  });
  assert.equal((await send("status", undefined, "wrong")).status, 401);
  assert.deepEqual(calls, [
    "status",
    'stop ["worker-1"]',
    'print "Site::local_nets"',
    "shutdown",
  ]);
});
