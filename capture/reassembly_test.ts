import assert from "node:assert/strict";
import { bytes, concat, fragmentV4, fragmentV6, ipv4, ipv6, udp } from "../testing/frames.ts";
import { internetChecksum } from "./checksum.ts";
import {
  FRAG_COMPLETE,
  FRAG_DROPPED,
  FRAG_HELD,
  FragmentReassembler,
  type ReassemblerOptions,
} from "./reassembly.ts";

const payload = (n: number, salt = 0) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 13 + salt) & 0xff);

/** An unfragmented IPv4 UDP datagram and its fragments of `chunk` bytes. */
function datagramV4(
  size: number,
  chunk: number,
  id = 7,
  src = "10.1.1.1",
): [Uint8Array, Uint8Array[]] {
  const whole = ipv4(17, udp(1234, 53, payload(size - 28)), { frag: 0, id, src });
  return [whole, fragmentV4(whole, chunk)];
}

function addV4(r: FragmentReassembler, packet: Uint8Array, now = 0): number {
  return r.addV4(now, packet, 0, packet.length);
}

function output(r: FragmentReassembler): Uint8Array {
  return r.output.slice(0, r.outputLength);
}

function make(options: ReassemblerOptions = {}): FragmentReassembler {
  return new FragmentReassembler(options);
}

Deno.test("IPv4 fragments in order rebuild the original datagram", () => {
  const r = make();
  const [whole, frags] = datagramV4(3000, 1480);
  assert.equal(frags.length, 3);
  assert.equal(addV4(r, frags[0]!), FRAG_HELD);
  assert.equal(addV4(r, frags[1]!), FRAG_HELD);
  assert.equal(r.stats().inFlight, 1);
  assert.equal(addV4(r, frags[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), whole);
  assert.equal(internetChecksum(r.output, 0, 20), 0, "rebuilt header checksum is valid");
  const s = r.stats();
  assert.equal(s.inFlight, 0);
  assert.equal(s.bytesHeld, 0);
  assert.equal(s.reassembled, 1);
  assert.equal(s.fragments, 3);
  assert.equal(r.weirds.total(), 0);
});

Deno.test("IPv4 fragments out of order", () => {
  const r = make();
  const [whole, frags] = datagramV4(4000, 1000);
  const order = [3, 1, 0, 2];
  const results = order.map((i) => addV4(r, frags[i]!));
  assert.deepEqual(results, [FRAG_HELD, FRAG_HELD, FRAG_HELD, FRAG_COMPLETE]);
  assert.deepEqual(output(r), whole);
});

Deno.test("interleaved datagrams are kept apart by source and id", () => {
  const r = make();
  const [a, fa] = datagramV4(2000, 800, 1, "10.0.0.1");
  const [b, fb] = datagramV4(2000, 800, 1, "10.0.0.2");
  const [c, fc] = datagramV4(2000, 800, 2, "10.0.0.1");
  for (let i = 0; i < 2; i++) {
    assert.equal(addV4(r, fa[i]!), FRAG_HELD);
    assert.equal(addV4(r, fb[i]!), FRAG_HELD);
    assert.equal(addV4(r, fc[i]!), FRAG_HELD);
  }
  assert.equal(r.stats().inFlight, 3);
  assert.equal(addV4(r, fb[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), b);
  assert.equal(addV4(r, fc[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), c);
  assert.equal(addV4(r, fa[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), a);
});

Deno.test("a duplicate fragment is an overlap and changes nothing", () => {
  const r = make();
  const [whole, frags] = datagramV4(3000, 1480);
  addV4(r, frags[0]!);
  addV4(r, frags[0]!);
  assert.equal(r.weirds.get("fragment_overlap"), 1);
  addV4(r, frags[1]!);
  assert.equal(addV4(r, frags[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), whole);
});

Deno.test("overlapping fragments with different bytes: the bytes held first win", () => {
  const r = make();
  const header = (offset: number, more: boolean, len: number) => {
    const h = ipv4(17, new Uint8Array(0), { frag: (more ? 0x2000 : 0) | (offset >>> 3), id: 99 })
      .slice(0, 20);
    const total = 20 + len;
    h[2] = total >>> 8;
    h[3] = total & 0xff;
    return h;
  };
  const first = concat(header(0, true, 16), new Uint8Array(16).fill(0xaa));
  const overlapping = concat(header(8, true, 16), new Uint8Array(16).fill(0xbb));
  const last = concat(header(24, false, 8), new Uint8Array(8).fill(0xcc));
  assert.equal(addV4(r, first), FRAG_HELD);
  assert.equal(addV4(r, overlapping), FRAG_HELD);
  assert.equal(r.weirds.get("fragment_inconsistency"), 1);
  assert.equal(addV4(r, last), FRAG_COMPLETE);
  const out = output(r);
  assert.equal(out.length, 20 + 32);
  assert.deepEqual(
    out.subarray(20),
    concat(
      new Uint8Array(16).fill(0xaa),
      new Uint8Array(8).fill(0xbb),
      new Uint8Array(8).fill(0xcc),
    ),
  );
  assert.equal((out[2]! << 8) | out[3]!, 52);
  assert.equal(out[6]! & 0x3f, 0);
});

Deno.test("fragments older than the timeout are dropped by packet time", () => {
  const r = make({ timeout: 300 });
  const [whole, frags] = datagramV4(3000, 1480);
  addV4(r, frags[0]!, 1000);
  addV4(r, frags[1]!, 1200);
  assert.equal(
    addV4(r, frags[2]!, 1300),
    FRAG_HELD,
    "the datagram timed out at 1300 and restarted",
  );
  assert.equal(r.stats().timedOut, 1);
  assert.equal(r.stats().inFlight, 1);
  addV4(r, frags[0]!, 1301);
  assert.equal(addV4(r, frags[1]!, 1302), FRAG_COMPLETE);
  assert.deepEqual(output(r), whole);
  addV4(r, frags[0]!, 2000);
  r.expire(2299);
  assert.equal(r.stats().inFlight, 1);
  r.expire(2300);
  assert.equal(r.stats().inFlight, 0);
  assert.equal(r.stats().timedOut, 2);
});

Deno.test("the datagram bound evicts the oldest", () => {
  const r = make({ maxDatagrams: 2 });
  const parts = [1, 2, 3].map((id) => datagramV4(2000, 1000, id)[1]);
  addV4(r, parts[0]![0]!);
  addV4(r, parts[1]![0]!);
  addV4(r, parts[2]![0]!);
  assert.equal(r.stats().inFlight, 2);
  assert.equal(r.stats().evicted, 1);
  assert.equal(addV4(r, parts[0]![1]!), FRAG_HELD, "the first datagram was evicted");
  assert.equal(addV4(r, parts[2]![1]!), FRAG_COMPLETE);
});

Deno.test("the byte bound evicts the oldest and never overflows", () => {
  const r = make({ maxBytes: 20000 });
  for (let id = 0; id < 50; id++) {
    const frags = datagramV4(3000, 1480, id)[1];
    addV4(r, frags[0]!);
    addV4(r, frags[1]!);
    assert.ok(r.stats().bytesHeld <= 20000, `held ${r.stats().bytesHeld}`);
  }
  assert.ok(r.stats().evicted >= 40);
  assert.ok(r.stats().inFlight <= 5);
  const huge = make({ maxBytes: 1000 });
  assert.equal(addV4(huge, datagramV4(3000, 1480)[1][0]!), FRAG_DROPPED);
  assert.equal(huge.stats().dropped, 1);
  assert.equal(huge.stats().inFlight, 0);
  assert.equal(huge.stats().bytesHeld, 0);
  r.clear();
  assert.equal(r.stats().bytesHeld, 0);
});

Deno.test("inconsistent sizes are weirds; the larger size wins", () => {
  const r = make();
  const [, frags] = datagramV4(3000, 1480);
  addV4(r, frags[2]!);
  const lying = frags[2]!.slice(0, frags[2]!.length - 8);
  lying[3] = lying[3]! - 8;
  addV4(r, lying);
  assert.equal(r.weirds.get("fragment_size_inconsistency"), 1);
});

Deno.test("IPv6 fragments rebuild the datagram without the fragment header", () => {
  const r = make();
  const whole = ipv6(17, udp(5, 6, payload(2500, 3)));
  const frags = fragmentV6(whole, 1232);
  assert.equal(frags.length, 3);
  const at = (f: Uint8Array) => r.addV6(0, f, 0, 40, 6, f.length);
  assert.equal(at(frags[1]!), FRAG_HELD);
  assert.equal(at(frags[0]!), FRAG_HELD);
  assert.equal(at(frags[2]!), FRAG_COMPLETE);
  assert.deepEqual(output(r), whole);
});

Deno.test("IPv6 fragments after a hop-by-hop header patch that header's next-header byte", () => {
  const r = make();
  const inner = udp(5, 6, payload(300));
  const whole = ipv6(17, inner, { extensions: [{ type: 0, body: bytes(1, 4, 0, 0, 0, 0) }] });
  const unfragmentable = whole.slice(0, 48);
  const rest = whole.subarray(48);
  const frag = (off: number, more: boolean, part: Uint8Array) => {
    const h = unfragmentable.slice();
    h[40] = 44;
    const plen = 8 + 8 + part.length;
    h[4] = plen >>> 8;
    h[5] = plen & 0xff;
    return concat(h, bytes(17, 0, off >>> 8, (off & 0xf8) | (more ? 1 : 0), 0, 0, 0, 5), part);
  };
  const a = frag(0, true, rest.subarray(0, 160));
  const b = frag(160, false, rest.subarray(160));
  assert.equal(r.addV6(0, a, 0, 48, 40, a.length), FRAG_HELD);
  assert.equal(r.addV6(0, b, 0, 48, 40, b.length), FRAG_COMPLETE);
  assert.deepEqual(output(r), whole);
});

Deno.test("rejects impossible bounds", () => {
  assert.throws(() => make({ timeout: 0 }), /timeout 0/);
  assert.throws(() => make({ maxBytes: -1 }), /maxBytes -1/);
  assert.throws(() => make({ maxDatagrams: 1.5 }), /maxDatagrams 1.5/);
});

Deno.test("completing a datagram leaves the previous output intact (tunnels nest)", () => {
  const r = make();
  const [a, fa] = datagramV4(2000, 1000, 1);
  const [b, fb] = datagramV4(1500, 1000, 2);
  addV4(r, fa[0]!);
  addV4(r, fb[0]!);
  assert.equal(addV4(r, fa[1]!), FRAG_COMPLETE);
  const first = r.output;
  assert.equal(addV4(r, fb[1]!), FRAG_COMPLETE);
  assert.notEqual(r.output, first);
  assert.deepEqual(first.subarray(0, a.length), a);
  assert.deepEqual(output(r), b);
});
