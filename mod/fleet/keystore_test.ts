import assert from "node:assert/strict";
import { join } from "node:path";
import { KeyStore } from "./keystore.ts";
import { readCredentials } from "./credentials.ts";

async function withStore(test: (store: KeyStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "weir-keys-" });
  try {
    await test(await KeyStore.open(join(dir, "keys")), join(dir, "keys"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("the key store issues one key per node, secrets readable by the owner only", async () => {
  await withStore(async (store, dir) => {
    assert.deepEqual(await store.issue(["manager", "worker-1"]), ["manager", "worker-1"]);
    assert.deepEqual(await store.issue(["manager", "worker-1", "worker-2"]), ["worker-2"]);
    const keys = store.nodeKeys("worker-1")!;
    assert.equal(store.nodeOf(keys.publicKey), "worker-1");
    assert.equal(store.directory().nodes["worker-2"], store.nodeKeys("worker-2")!.publicKey);
    assert.equal((await Deno.stat(join(dir, "forwarder.key"))).mode! & 0o777, 0o600);
    assert.equal((await Deno.stat(join(dir, "nodes", "worker-1.key"))).mode! & 0o777, 0o600);
    const credentials = await readCredentials(store.nodesDir, "worker-1");
    assert.deepEqual(credentials.keys, keys);
    assert.equal(credentials.directory.forwarder, store.forwarder.publicKey);
    // A second store on the same files (a restarted manager) knows every key it issued.
    const again = await KeyStore.open(dir);
    assert.equal(again.forwarder.publicKey, store.forwarder.publicKey);
    assert.equal(again.nodeOf(keys.publicKey), "worker-1");
  });
});

Deno.test("a revoked node key is refused and replaced; a revoked host loses its agent too", async () => {
  await withStore(async (store, dir) => {
    await store.issue(["worker-1", "worker-2"]);
    const old = store.nodeKeys("worker-1")!;
    assert.deepEqual(await store.revoke(["worker-1"]), ["worker-1"]);
    assert.equal(store.nodeOf(old.publicKey), undefined);
    assert.ok(store.isRevoked(old.publicKey));
    const fresh = store.nodeKeys("worker-1")!;
    assert.notEqual(fresh.publicKey, old.publicKey);
    assert.equal(store.nodeOf(fresh.publicKey), "worker-1");
    assert.ok(!Object.values(store.directory().nodes).includes(old.publicKey));

    const token = await store.createToken("sensor-2");
    assert.ok(await store.redeemToken("sensor-2", token.token, "A".repeat(40)));
    assert.equal(store.agentHostOf("A".repeat(40)), "sensor-2");
    const w2 = store.nodeKeys("worker-2")!;
    await store.revoke(["worker-2"], "sensor-2");
    assert.equal(store.agentHostOf("A".repeat(40)), undefined);
    assert.equal(store.nodeKeys("worker-2"), undefined, "a revoked host's nodes get no new key");
    assert.equal(store.nodeOf(w2.publicKey), undefined);
    // Revocations survive a restart of the manager.
    const again = await KeyStore.open(dir);
    assert.ok(again.isRevoked(old.publicKey) && again.isRevoked("A".repeat(40)));
  });
});

Deno.test("an enrolment token is good once, for its host, until it expires", async () => {
  await withStore(async (store, dir) => {
    const token = await store.createToken("sensor-1");
    assert.equal(token.serverKey, store.forwarder.publicKey);
    const file = join(dir, "tokens", "sensor-1");
    assert.equal((await Deno.stat(file)).mode! & 0o777, 0o600);
    assert.ok(!(await Deno.readTextFile(file)).includes(token.token));
    assert.equal(await store.redeemToken("sensor-1", "0".repeat(64), "B".repeat(40)), false);
    assert.equal(await store.redeemToken("sensor-9", token.token, "B".repeat(40)), false);
    assert.equal(await store.redeemToken("sensor-1", token.token, "B".repeat(40)), true);
    assert.equal(await store.redeemToken("sensor-1", token.token, "C".repeat(40)), false, "spent");
    assert.deepEqual(store.enrolledHosts(), ["sensor-1"]);
    const expired = await store.createToken("sensor-3", -1);
    assert.equal(await store.redeemToken("sensor-3", expired.token, "D".repeat(40)), false);
  });
});

Deno.test("weir enroll beside a manager that redeems: no token is lost", async () => {
  // The manager redeems one host's token while `weir enroll` (another
  // process, another KeyStore) writes the next host's: neither may undo
  // the other (a shared tokens file read and rewritten by both lost tokens).
  await withStore(async (manager, dir) => {
    const enroll = await KeyStore.open(dir);
    const first = await enroll.createToken("sensor-0");
    const hosts = Array.from({ length: 20 }, (_, i) => `sensor-${i + 1}`);
    const [redeemed, ...tokens] = await Promise.all([
      manager.redeemToken("sensor-0", first.token, "A".repeat(40)),
      ...hosts.map((h) => enroll.createToken(h)),
    ]);
    assert.equal(redeemed, true);
    for (const token of tokens as Awaited<ReturnType<KeyStore["createToken"]>>[]) {
      assert.ok(
        await manager.redeemToken(token.host, token.token, token.host.padEnd(40, "K")),
        `${token.host}'s token was lost`,
      );
    }
    assert.equal(manager.enrolledHosts().length, 21);
  });
});
