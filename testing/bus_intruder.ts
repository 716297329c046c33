/**
 * A peer that tries to get into a closed bus, for the multi-host tests: run
 * on a host of the lab, it connects to the manager's forwarder and a
 * logger's PULL the way an attacker on the network could, and prints one
 * JSON line with what it got.
 *
 *     deno run -A testing/bus_intruder.ts MODE MANAGER-ADDR ZEEK-PORT LOGGER-ENDPOINT [KEY-FILE SERVER-KEY]
 *
 * MODE: `plain` (no keys at all: subscribe to everything, publish a forged
 * `Cluster::hello`, push a forged log batch) or `keyed` (the same with the
 * keypair of KEY-FILE, e.g. a stolen or revoked one, and SERVER-KEY).
 *
 * @module
 */

import { type CurveKeyPair, curveKeyPair, tcpEndpoint, ZmqContext } from "../ffi/mod.ts";
import { ByteWriter, encodeEvent } from "../mod/codec/mod.ts";
import { T } from "../zeek/mod.ts";

const [mode, address, zeekPortText, loggerEndpoint, keyFile, serverKey] = Deno.args;
const zeekPort = Number(zeekPortText);
const keys: CurveKeyPair | undefined = mode === "keyed"
  ? keyFile === undefined || keyFile === "-" ? curveKeyPair() : (() => {
    const k = JSON.parse(Deno.readTextFileSync(keyFile));
    return { publicKey: k.public, secretKey: k.secret };
  })()
  : undefined;

const ctx = new ZmqContext();
const sub = ctx.openSocket("xsub");
const pub = ctx.openSocket("xpub");
const push = ctx.openSocket("push");
for (const s of [sub, pub, push]) {
  if (keys !== undefined) s.setCurveClient(keys, serverKey!);
}
sub.connect(tcpEndpoint(address!, zeekPort));
pub.connect(tcpEndpoint(address!, zeekPort + 1));
push.connect(loggerEndpoint!);
// Subscribe to every topic, as a snooping peer would.
sub.send([new Uint8Array([1])]);

const writer = new ByteWriter();
// A hello in the name of worker-b, the fleet test's second sensor's node.
encodeEvent(writer, "Cluster::hello", ["worker-b", "zeromq_worker-b_forged_1_x"], [
  T.string,
  T.string,
]);
const hello = writer.bytes().slice();
const text = new TextEncoder();
let received = 0;
let subscriptionsSeen = 0;
const deadline = Date.now() + 4000;
while (Date.now() < deadline) {
  // Sent with worker-b's id as its sender, as a node holding another node's key would.
  pub.send([
    text.encode("zeek.cluster.node.manager."),
    text.encode("zeromq_worker-b_forged_1_x"),
    text.encode("broker-bin-v1"),
    hello,
  ]);
  push.send([
    text.encode("zeek.logging.write"),
    text.encode("forged"),
    text.encode("zeek-bin-serializer"),
    new Uint8Array(16),
  ]);
  for (;;) {
    const m = sub.receive();
    if (m === null) break;
    received++;
  }
  for (;;) {
    const m = pub.receive();
    if (m === null) break;
    subscriptionsSeen++;
  }
  await new Promise((r) => setTimeout(r, 200));
}
console.log(JSON.stringify({ mode, received, subscriptionsSeen }));
await ctx.close(200);
Deno.exit(0);
