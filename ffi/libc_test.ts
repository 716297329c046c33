import assert from "node:assert/strict";
import {
  addressOf,
  copyFromAddress,
  FdWaiter,
  IFF_UP,
  interfaceIndex,
  OwnedSocket,
  POLL_EVENTS,
  socketErrorHint,
  SOL_SOCKET,
  SystemCallError,
} from "./libc.ts";

const AF_INET = 2;
const SOCK_DGRAM = 2;
const SO_RCVBUF = 8;

Deno.test("OwnedSocket: options round-trip, interface flags, idempotent close", () => {
  const socket = OwnedSocket.open(AF_INET, SOCK_DGRAM, 0, "Cannot open a test socket");
  assert.ok(socket.fd >= 0);
  socket.setIntOption(SOL_SOCKET, SO_RCVBUF, 65536, "Cannot size", "SO_RCVBUF");
  const value = new Int32Array(1);
  assert.equal(socket.getOption(SOL_SOCKET, SO_RCVBUF, value, "Cannot read", "SO_RCVBUF"), 4);
  // The kernel doubles the request for its bookkeeping.
  assert.equal(value[0], 131072);
  assert.ok((socket.interfaceFlags("lo", "Cannot check lo") & IFF_UP) !== 0);
  assert.equal(socket.takeError(), 0);
  socket.close();
  socket.close();
  assert.equal(socket.fd, -1);
  assert.throws(
    () => socket.setIntOption(SOL_SOCKET, SO_RCVBUF, 1, "Cannot size", "SO_RCVBUF"),
    /Cannot size: the socket is already closed/,
  );
});

Deno.test("OwnedSocket errors name the action, the call, the errno and the way out", () => {
  using socket = OwnedSocket.open(AF_INET, SOCK_DGRAM, 0, "Cannot open a test socket");
  assert.throws(() => socket.interfaceFlags("weirnosuch0", "Cannot check weirnosuch0"), (e) => {
    assert.ok(e instanceof SystemCallError);
    assert.equal(e.code, "ENODEV");
    assert.match(
      e.message,
      /^Cannot check weirnosuch0: ioctl\(SIOCGIFFLAGS "weirnosuch0"\) failed: no such device \(ENODEV\); no such network interface: list them with `ip link`$/,
    );
    return true;
  });
  assert.throws(() => OwnedSocket.open(12345, SOCK_DGRAM, 0, "Cannot open"), (e) => {
    assert.ok(e instanceof SystemCallError);
    assert.equal(e.code, "EAFNOSUPPORT");
    assert.match(e.message, /^Cannot open: socket\(12345, 2, 0\) failed: /);
    return true;
  });
});

Deno.test("socketErrorHint: EPERM names CAP_NET_RAW and setcap", () => {
  assert.match(socketErrorHint(1), /CAP_NET_RAW.*setcap cap_net_raw,cap_net_admin\+eip/);
  assert.match(socketErrorHint(100), /ip link set <device> up/);
  assert.equal(socketErrorHint(22), "");
});

Deno.test("interfaceIndex: lo has one, a missing interface has 0", () => {
  assert.ok(interfaceIndex("lo") > 0);
  assert.equal(interfaceIndex("weirnosuch0"), 0);
});

Deno.test("copyFromAddress copies between native addresses", () => {
  const from = new Uint8Array(new ArrayBuffer(4096));
  const to = new Uint8Array(new ArrayBuffer(4096));
  from.set([1, 2, 3, 4, 5], 10);
  copyFromAddress(addressOf(to) + 100, addressOf(from) + 10, 5);
  assert.deepEqual([...to.subarray(100, 105)], [1, 2, 3, 4, 5]);
  assert.equal(to[99], 0);
  assert.equal(to[105], 0);
});

Deno.test("FdWaiter reports events, times out, and wakes at once", async () => {
  using socket = OwnedSocket.open(AF_INET, SOCK_DGRAM, 0, "Cannot open a test socket");
  using writable = new FdWaiter([socket.fd], POLL_EVENTS.OUT);
  assert.equal((await writable.wait(1000)) & POLL_EVENTS.OUT, POLL_EVENTS.OUT);
  using readable = new FdWaiter([socket.fd]);
  const started = performance.now();
  assert.equal(await readable.wait(50), 0);
  assert.ok(performance.now() - started >= 40);
  const pending = readable.wait(5000);
  readable.wake();
  const woken = performance.now();
  assert.equal(await pending, 0);
  assert.ok(performance.now() - woken < 1000, "wake ends the wait");
  readable.close();
  assert.equal(await readable.wait(5000), 0);
});
