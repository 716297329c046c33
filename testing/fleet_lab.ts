/**
 * A small network of hosts for multi-host tests and benchmarks, made from
 * nothing on this machine: one network namespace per host, all joined to a
 * bridge that lives in a namespace of its own (`<prefix>-sw`), with
 * addresses `10.<net>.0.<n>/24` that exist only inside them. A host can also
 * get a capture link: a veth pair whose far end stays in the switch
 * namespace, where `tcpreplay` sends into it. Disposing deletes every
 * namespace (and with them every link), also after a failure half way.
 *
 * Needs root, `ip` and (for replays) `tcpreplay`.
 *
 * @module
 */

import { addNamespace, offloadsOff, run } from "./live_lab.ts";

/** One host of the lab. */
export interface LabHost {
  readonly name: string;
  /** Its namespace. */
  readonly ns: string;
  readonly address: string;
  /** Its interface on the bridge (set down to cut the host off). */
  readonly link: string;
  /** Its capture interface, when it has one (inside `ns`). */
  readonly capture: string | undefined;
}

/** The namespaces and the bridge; see the module doc. */
export class FleetLab implements AsyncDisposable {
  readonly hosts = new Map<string, LabHost>();
  readonly switchNs: string;
  readonly #prefix: string;
  readonly #net: number;
  #namespaces: string[] = [];
  #disposed = false;

  private constructor(prefix: string, net: number) {
    this.#prefix = prefix;
    this.#net = net;
    this.switchNs = `${prefix}-sw`;
  }

  /**
   * Creates the lab: `hosts` in order get addresses .1, .2, …; those in
   * `capture` also get a capture link.
   */
  static async create(
    hosts: readonly string[],
    capture: readonly string[] = [],
  ): Promise<FleetLab> {
    const id = `${Deno.pid % 1000}${Math.floor(Math.random() * 36 * 36).toString(36)}`;
    const lab = new FleetLab(`wf${id}`, 100 + Math.floor(Math.random() * 100));
    try {
      await lab.#build(hosts, capture);
      return lab;
    } catch (error) {
      await lab[Symbol.asyncDispose]();
      throw error;
    }
  }

  async #build(hosts: readonly string[], capture: readonly string[]): Promise<void> {
    const sw = this.switchNs;
    await this.#addNamespace(sw);
    await run("ip", ["-n", sw, "link", "add", "br0", "type", "bridge"]);
    await run("ip", ["-n", sw, "link", "set", "br0", "up"]);
    let n = 1;
    for (const name of hosts) {
      const ns = `${this.#prefix}-${name}`;
      await this.#addNamespace(ns);
      const link = `eth0`;
      const peer = `p${n}`;
      await run("ip", [
        "link",
        "add",
        link,
        "netns",
        ns,
        "type",
        "veth",
        "peer",
        "name",
        peer,
        "netns",
        sw,
      ]);
      await run("ip", ["-n", sw, "link", "set", peer, "master", "br0", "up"]);
      const address = `10.${this.#net}.0.${n}`;
      await run("ip", ["-n", ns, "addr", "add", `${address}/24`, "dev", link]);
      await run("ip", ["-n", ns, "link", "set", link, "up"]);
      let captureDevice: string | undefined;
      if (capture.includes(name)) {
        captureDevice = "cap0";
        await run("ip", [
          "link",
          "add",
          captureDevice,
          "netns",
          ns,
          "type",
          "veth",
          "peer",
          "name",
          `tx${n}`,
          "netns",
          sw,
        ]);
        await run("ip", ["-n", ns, "link", "set", captureDevice, "up"]);
        await run("ip", ["-n", sw, "link", "set", `tx${n}`, "up"]);
        await offloadsOff(ns, captureDevice);
        await offloadsOff(sw, `tx${n}`);
      }
      this.hosts.set(name, { name, ns, address, link, capture: captureDevice });
      n++;
    }
  }

  async #addNamespace(ns: string): Promise<void> {
    // Listed first: disposing deletes it even if a step below fails.
    this.#namespaces.push(ns);
    await addNamespace(ns);
    await run("ip", ["-n", ns, "link", "set", "lo", "up"]);
  }

  host(name: string): LabHost {
    const host = this.hosts.get(name);
    if (host === undefined) throw new RangeError(`the lab has no host ${name}`);
    return host;
  }

  /** The argv prefix that runs a command on `host`. */
  on(host: string): string[] {
    return ["ip", "netns", "exec", this.host(host).ns];
  }

  /** Cuts `host` off the bridge (no RST, no FIN: a dead link), or joins it again. */
  async setLink(host: string, up: boolean): Promise<void> {
    const n = [...this.hosts.keys()].indexOf(host) + 1;
    await run("ip", ["-n", this.switchNs, "link", "set", `p${n}`, up ? "up" : "down"]);
  }

  /** Replays `pcap` into `host`'s capture link. */
  async replay(host: string, pcap: string, pps = 2000): Promise<string> {
    const n = [...this.hosts.keys()].indexOf(host) + 1;
    return await run("ip", [
      "netns",
      "exec",
      this.switchNs,
      "tcpreplay",
      "-K",
      "-i",
      `tx${n}`,
      "--pps",
      String(pps),
      pcap,
    ]);
  }

  /** Deletes every namespace. Idempotent; never throws. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const ns of this.#namespaces.reverse()) {
      await new Deno.Command("ip", { args: ["netns", "del", ns], stdout: "null", stderr: "null" })
        .output();
    }
  }
}
