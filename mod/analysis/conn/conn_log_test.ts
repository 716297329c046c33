import assert from "node:assert/strict";
import { typeName } from "../../../zeek/types.ts";
import { defineConnStream } from "./conn_log.ts";

const ZEEK_FIELDS =
  "ts uid id.orig_h id.orig_p id.resp_h id.resp_p proto service duration orig_bytes resp_bytes conn_state local_orig local_resp missed_bytes history orig_pkts orig_ip_bytes resp_pkts resp_ip_bytes tunnel_parents ip_proto";
const ZEEK_TYPES =
  "time string addr port addr port enum string interval count count string bool bool count string count count count count set[string] count";

Deno.test("Conn::LOG has Zeek's 22 columns and types in Zeek's order", () => {
  const s = defineConnStream();
  assert.equal(s.id, "Conn::LOG");
  assert.equal(s.path, "conn");
  assert.equal(s.columns.map((c) => c.name).join(" "), ZEEK_FIELDS);
  assert.equal(s.columns.map((c) => typeName(c.type)).join(" "), ZEEK_TYPES);
});

Deno.test("policy columns go where the policy scripts put them", () => {
  const s = defineConnStream({ vlanContext: true, macAddresses: true });
  const names = s.columns.map((c) => c.name);
  assert.deepEqual(names.slice(2, 8), [
    "id.orig_h",
    "id.orig_p",
    "id.resp_h",
    "id.resp_p",
    "id.ctx.vlan",
    "id.ctx.inner_vlan",
  ]);
  assert.deepEqual(names.slice(-2), ["orig_l2_addr", "resp_l2_addr"]);
  assert.equal(typeName(s.columns[6]!.type), "int");
});
