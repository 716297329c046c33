import assert from "node:assert/strict";
import {
  CapturePermissionError,
  CaptureSetupError,
  InterfaceDownError,
  InterfaceNotFoundError,
} from "./capture_errors.ts";

Deno.test("capture errors name the interface and the way out", () => {
  const perm = new CapturePermissionError("eth1", "socket failed (EPERM)");
  assert.equal(perm.name, "CapturePermissionError");
  assert.equal(perm.device, "eth1");
  assert.match(perm.message, /^Cannot capture on interface "eth1": permission denied/);
  assert.match(perm.message, /CAP_NET_RAW.*setcap cap_net_raw,cap_net_admin\+eip/);
  const missing = new InterfaceNotFoundError("eth9");
  assert.match(missing.message, /"eth9": no such interface; list the interfaces with `ip link`/);
  const down = new InterfaceDownError("eth2");
  assert.match(
    down.message,
    /"eth2": the interface is down; bring it up with `ip link set eth2 up`/,
  );
  const setup = new CaptureSetupError("eth3", "Cannot capture: mmap failed");
  assert.equal(setup.message, "Cannot capture: mmap failed");
  assert.equal(setup.device, "eth3");
});
