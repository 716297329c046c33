import assert from "node:assert/strict";
import {
  isSupportedLinkType,
  LINKTYPE_ETHERNET,
  LINKTYPE_FDDI,
  LINKTYPE_LINUX_SLL2,
  linkTypeName,
} from "./link_type.ts";

Deno.test("names and support of link types", () => {
  assert.equal(linkTypeName(LINKTYPE_ETHERNET), "ETHERNET (1)");
  assert.equal(linkTypeName(LINKTYPE_LINUX_SLL2), "LINUX_SLL2 (276)");
  assert.equal(linkTypeName(147), "LINKTYPE 147");
  for (const t of [0, 1, 10, 12, 14, 101, 108, 113, 228, 229, 276]) {
    assert.ok(isSupportedLinkType(t), `${t}`);
  }
  assert.ok(isSupportedLinkType(LINKTYPE_FDDI));
  assert.ok(!isSupportedLinkType(105));
});
