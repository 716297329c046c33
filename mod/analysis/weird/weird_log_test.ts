import assert from "node:assert/strict";
import { LogRegistry } from "../../log/mod.ts";
import type { ZeekValue } from "../../../zeek/mod.ts";
import { typeName } from "../../../zeek/types.ts";
import {
  ConnWeirdState,
  type WeirdConnection,
  type WeirdConnId,
  WeirdLog,
  type WeirdLogOptions,
  type WeirdNotice,
} from "./mod.ts";

const T0 = 1_700_000_000;

function setup(options: Omit<WeirdLogOptions, "logs"> = {}) {
  const rows: ZeekValue[][] = [];
  const logs = new LogRegistry({ validate: true });
  logs.setSink({ write: (_s, _f, values) => void rows.push([...values]) });
  const weirds = new WeirdLog({ logs, ...options });
  return { rows, weirds, logs };
}

function conn(uid: string, origH: string, origP: number): WeirdConnection {
  const id: WeirdConnId = { origH, origP, respH: "10.7.0.53", respP: 53, proto: "udp" };
  return { uid, id, weirdState: new ConnWeirdState() };
}

/** The columns C9 cuts: id.orig_h id.orig_p name addl notice peer source. */
function cut(row: readonly ZeekValue[]): string {
  return [row[2], row[3], row[6], row[7] ?? "-", row[8] ? "T" : "F", row[9], row[10] ?? "-"]
    .join(" ");
}

Deno.test("Weird::LOG has Zeek's columns and types in Zeek's order, path weird", () => {
  const { weirds } = setup();
  assert.equal(weirds.stream.id, "Weird::LOG");
  assert.equal(weirds.stream.path, "weird");
  assert.equal(
    weirds.stream.columns.map((c) => c.name).join(" "),
    "ts uid id.orig_h id.orig_p id.resp_h id.resp_p name addl notice peer source",
  );
  assert.equal(
    weirds.stream.columns.map((c) => typeName(c.type)).join(" "),
    "time string addr port addr port string string bool string string",
  );
});

Deno.test("a conn weird logs uid, the 4-tuple, addl and source; empty addl and source are unset", () => {
  const { rows, weirds } = setup();
  const c = conn("CHhAvVGS1DHFjwGM9", "1.2.3.4", 12345);
  assert.equal(weirds.connWeird(T0, c, "DNS_Conn_count_too_large", "10 > 3", "DNS"), "logged");
  assert.deepEqual(rows[0], [
    T0,
    "CHhAvVGS1DHFjwGM9",
    "1.2.3.4",
    12345,
    "10.7.0.53",
    53,
    "DNS_Conn_count_too_large",
    "10 > 3",
    false,
    "zeek",
    "DNS",
  ]);
  weirds.connWeird(T0, c, "SYN_inside_connection");
  assert.equal(rows[1]![7], undefined);
  assert.equal(rows[1]![10], undefined);
});

Deno.test("peer is the node's name when one is given", () => {
  const { rows, weirds } = setup({ peer: "worker-1" });
  weirds.netWeird(T0, "truncated_IP");
  assert.equal(rows[0]![9], "worker-1");
});

Deno.test("ACTION_LOG logs once per (name, 4-tuple) per 10 minutes, across uids", () => {
  const { rows, weirds } = setup();
  const first = conn("C1", "10.7.0.1", 49001);
  assert.equal(weirds.connWeird(T0, first, "DNS_RR_unknown_type", "52", "DNS"), "logged");
  assert.equal(weirds.connWeird(T0 + 1, first, "DNS_RR_unknown_type", "52", "DNS"), "repeat");
  // A later connection on the same 4-tuple (new uid) is still a repeat…
  const again = conn("C2", "10.7.0.1", 49001);
  assert.equal(weirds.connWeird(T0 + 300, again, "DNS_RR_unknown_type", "52", "DNS"), "repeat");
  // …a different 4-tuple or a different name is not…
  assert.equal(
    weirds.connWeird(T0 + 300, conn("C3", "10.7.0.1", 49002), "DNS_RR_unknown_type", "52", "DNS"),
    "logged",
  );
  assert.equal(weirds.connWeird(T0 + 300, again, "DNS_RR_length_mismatch", "", "DNS"), "logged");
  // …and once weird_ignore's entry expired (created + 600 < now), the same pair logs again.
  assert.equal(weirds.connWeird(T0 + 600, again, "DNS_RR_unknown_type", "52", "DNS"), "repeat");
  assert.equal(weirds.connWeird(T0 + 601, again, "DNS_RR_unknown_type", "52", "DNS"), "logged");
  assert.equal(rows.length, 4);
  assert.equal(rows[3]![1], "C2");
});

Deno.test("C9: de-duplication, sampling and LOG_PER_ORIG as Zeek logged them", () => {
  const { rows, weirds } = setup();
  // 49001: two occurrences, then a later connection on the same 4-tuple.
  const c1 = conn("C1", "10.7.0.1", 49001);
  weirds.connWeird(T0, c1, "DNS_RR_unknown_type", "52", "DNS");
  weirds.connWeird(T0, c1, "DNS_RR_unknown_type", "52", "DNS");
  weirds.connWeird(T0 + 20, conn("C1b", "10.7.0.1", 49001), "DNS_RR_unknown_type", "52", "DNS");
  weirds.connWeird(T0 + 21, conn("C2", "10.7.0.1", 49002), "DNS_RR_unknown_type", "52", "DNS");
  // 49003 and 49004: one originator, DNS_label_too_long is ACTION_LOG_PER_ORIG.
  weirds.connWeird(T0 + 22, conn("C3", "10.7.0.1", 49003), "DNS_label_too_long", "", "DNS");
  assert.equal(
    weirds.connWeird(T0 + 23, conn("C4", "10.7.0.1", 49004), "DNS_label_too_long", "", "DNS"),
    "limited",
  );
  weirds.connWeird(T0 + 24, conn("C5", "10.7.0.2", 49005), "DNS_label_too_long", "", "DNS");
  // 49006: 30 occurrences in one connection.
  const c6 = conn("C6", "10.7.0.1", 49006);
  const outcomes = [];
  for (let i = 0; i < 30; i++) {
    outcomes.push(weirds.connWeird(T0 + 25, c6, "DNS_RR_unknown_type", "52", "DNS"));
  }
  assert.deepEqual(rows.map(cut), [
    "10.7.0.1 49001 DNS_RR_unknown_type 52 F zeek DNS",
    "10.7.0.1 49002 DNS_RR_unknown_type 52 F zeek DNS",
    "10.7.0.1 49003 DNS_label_too_long - F zeek DNS",
    "10.7.0.2 49005 DNS_label_too_long - F zeek DNS",
    "10.7.0.1 49006 DNS_RR_unknown_type 52 F zeek DNS",
  ]);
  // 30 occurrences → 25 reach the script (1 logged, 24 repeats), 5 are sampled away.
  assert.equal(outcomes.filter((o) => o === "sampled").length, 5);
  assert.equal(outcomes.filter((o) => o !== "sampled").length, 25);
});

Deno.test("ACTION_IGNORE and ignore_hosts drop the weird", () => {
  const { rows, weirds } = setup({ ignoreHosts: [["10.7.0.53", "DNS_RR_bad_length"]] });
  const c = conn("C1", "10.7.0.1", 49001);
  for (const name of ["FIN_after_reset", "spontaneous_FIN", "spontaneous_RST"]) {
    assert.equal(weirds.connWeird(T0, c, name), "ignored");
  }
  assert.equal(weirds.connWeird(T0, c, "unsolicited_SYN_response"), "ignored");
  assert.equal(weirds.connWeird(T0, c, "DNS_RR_bad_length"), "ignored");
  assert.equal(rows.length, 0);
});

Deno.test("LOG_PER_CONN keys on the 4-tuple, LOG_ONCE on nothing, for a day", () => {
  const { rows, weirds } = setup({
    actions: [["my_once", "ACTION_LOG_ONCE"]],
  });
  const a = conn("C1", "10.7.0.1", 49001);
  const b = conn("C2", "10.7.0.2", 49002);
  assert.equal(weirds.action("simultaneous_open"), "ACTION_LOG_PER_CONN");
  assert.equal(weirds.connWeird(T0, a, "simultaneous_open"), "logged");
  assert.equal(weirds.connWeird(T0, b, "simultaneous_open"), "logged");
  // Past weird_ignore's 10 minutes, did_log (1 day) still holds the 4-tuple.
  assert.equal(weirds.connWeird(T0 + 700, a, "simultaneous_open"), "limited");
  assert.equal(weirds.connWeird(T0, a, "my_once"), "logged");
  assert.equal(weirds.connWeird(T0 + 1, b, "my_once"), "limited");
  assert.equal(weirds.netWeird(T0 + 2, "my_once"), "limited");
  assert.equal(weirds.connWeird(T0 + 86_401, b, "my_once"), "logged");
  assert.equal(rows.length, 4);
});

Deno.test("notice actions log notice=T and raise Weird::Activity, once per originator", () => {
  const notices: WeirdNotice[] = [];
  const { rows, weirds } = setup({ onNotice: (n) => notices.push(n) });
  assert.equal(weirds.action("SYN_after_partial"), "ACTION_NOTICE_PER_ORIG");
  weirds.connWeird(T0, conn("C1", "10.7.0.1", 49001), "SYN_after_partial", "", "TCP");
  weirds.connWeird(T0, conn("C2", "10.7.0.1", 49002), "SYN_after_partial", "", "TCP");
  assert.equal(rows.length, 1);
  assert.equal(rows[0]![8], true);
  assert.equal(notices.length, 1);
  assert.equal(notices[0]!.note, "Weird::Activity");
  assert.equal(notices[0]!.msg, "SYN_after_partial");
  assert.equal(notices[0]!.uid, "C1");
});

Deno.test("ACTION_NOTICE notices every time but repeats stay suppressed", () => {
  const notices: WeirdNotice[] = [];
  const { rows, weirds } = setup({
    actions: [["loud", "ACTION_NOTICE"]],
    onNotice: (n) => notices.push(n),
  });
  weirds.connWeird(T0, conn("C1", "10.7.0.1", 49001), "loud", "x");
  weirds.connWeird(T0, conn("C2", "10.7.0.1", 49002), "loud", "x");
  weirds.connWeird(T0, conn("C2", "10.7.0.1", 49002), "loud", "x");
  assert.equal(rows.length, 2);
  assert.equal(notices.length, 2);
  assert.equal(notices[0]!.sub, "x");
});

Deno.test("bad checksums never enter weird_ignore: LOG_PER_ORIG alone limits them", () => {
  const { rows, weirds } = setup();
  const c = conn("C1", "10.7.0.1", 49001);
  assert.equal(weirds.connWeird(T0, c, "bad_UDP_checksum"), "logged");
  // Not a repeat (no weird_ignore entry) but limited by did_log for the originator.
  assert.equal(weirds.connWeird(T0, c, "bad_UDP_checksum"), "limited");
  assert.equal(weirds.connWeird(T0, conn("C2", "10.7.0.9", 1), "bad_UDP_checksum"), "logged");
  // With ACTION_LOG they would log every time.
  const plain = setup({ actions: [["bad_TCP_checksum", "ACTION_LOG"]] });
  plain.weirds.connWeird(T0, c, "bad_TCP_checksum");
  plain.weirds.connWeird(T0, c, "bad_TCP_checksum");
  assert.equal(plain.rows.length, 2);
  assert.equal(rows.length, 2);
});

Deno.test("flow weirds log src/dst with ports 0 and no uid; identifier is src -> dst", () => {
  const { rows, weirds } = setup();
  assert.equal(
    weirds.flowWeird(T0, "10.0.0.1", "10.0.0.2", "fragment_with_DF", "", "IP"),
    "logged",
  );
  assert.deepEqual(rows[0], [
    T0,
    undefined,
    "10.0.0.1",
    0,
    "10.0.0.2",
    0,
    "fragment_with_DF",
    undefined,
    false,
    "zeek",
    "IP",
  ]);
  assert.equal(weirds.flowWeird(T0, "10.0.0.1", "10.0.0.2", "fragment_with_DF"), "repeat");
  assert.equal(weirds.flowWeird(T0, "10.0.0.2", "10.0.0.1", "fragment_with_DF"), "logged");
  // fragment_overlap is LOG_PER_ORIG: the flow's source is the originator.
  weirds.flowWeird(T0, "10.0.0.1", "10.0.0.2", "fragment_overlap");
  assert.equal(weirds.flowWeird(T0, "10.0.0.1", "10.0.0.3", "fragment_overlap"), "limited");
});

Deno.test("net weirds have no uid or id and are de-duplicated by name", () => {
  const { rows, weirds } = setup();
  weirds.netWeird(T0, "truncated_IP", "20", "IP");
  assert.deepEqual(rows[0]!.slice(1, 6), [undefined, undefined, undefined, undefined, undefined]);
  assert.equal(weirds.netWeird(T0 + 1, "truncated_IP"), "repeat");
  assert.equal(weirds.netWeird(T0 + 601, "truncated_IP"), "logged");
});

Deno.test("expired-conn weirds carry the uid given and the 4-tuple", () => {
  const { rows, weirds } = setup();
  const id: WeirdConnId = {
    origH: "10.0.0.1",
    origP: 5,
    respH: "10.0.0.2",
    respP: 80,
    proto: "tcp",
  };
  weirds.expiredConnWeird(T0, "Cx", id, "pending_data_when_closed", "", "TCP");
  assert.deepEqual(rows[0]!.slice(1, 7), [
    "Cx",
    "10.0.0.1",
    5,
    "10.0.0.2",
    80,
    "pending_data_when_closed",
  ]);
});

Deno.test("the tables stay within their cap and expire on network time", () => {
  const { weirds } = setup({ maxEntries: 100 });
  for (let i = 0; i < 1000; i++) {
    weirds.connWeird(T0, conn(`C${i}`, `10.1.${i >> 8}.${i & 255}`, 1000), "SYN_seq_jump");
  }
  // weird_ignore and the sampler each hold at most 100.
  assert.ok(weirds.size <= 200, `size ${weirds.size}`);
  weirds.expire(T0 + 86_401);
  assert.equal(weirds.size, 0);
  assert.deepEqual(weirds.stats(), { reported: 1000, logged: 1000 });
});

Deno.test("rows fit the stream (validated writes) and the registry reuses a stream", () => {
  const { weirds, logs } = setup();
  weirds.flowWeird(T0, "2001:db8::1", "2001:db8::2", "fragment_overlap");
  const second = new WeirdLog({ logs });
  assert.equal(second.stream, weirds.stream);
});
