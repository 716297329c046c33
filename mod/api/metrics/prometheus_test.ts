import assert from "node:assert/strict";
import { join } from "node:path";
import { openMetricsServer } from "./server.ts";
import { createServiceDiscovery } from "./service_discovery.ts";
import { findFreePortRange, toolInstalled } from "../../../tests/harness.ts";

const PROMETHEUS = "/usr/bin/prometheus";
const READY_LINE = "Server is ready to receive web requests.";
const STARTUP_TIMEOUT_MS = 30_000;
const SCRAPE_TIMEOUT_MS = 30_000;

/** A real Prometheus server on loopback; stops and leaves nothing behind on dispose. */
class PrometheusProcess implements AsyncDisposable {
  readonly url: string;
  #child: Deno.ChildProcess;
  #log = "";
  #ready: Promise<void>;

  constructor(dir: string, configFile: string) {
    const port = findFreePortRange(1);
    this.url = `http://127.0.0.1:${port}`;
    this.#child = new Deno.Command(PROMETHEUS, {
      args: [
        `--config.file=${configFile}`,
        `--storage.tsdb.path=${join(dir, "data")}`,
        `--web.listen-address=127.0.0.1:${port}`,
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#child.stdout.pipeTo(new WritableStream()).catch(() => {});
    this.#ready = this.#readLog();
  }

  /** Reads the log to the end, resolving readiness when Prometheus says it listens. */
  #readLog(): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `Prometheus did not become ready within ${STARTUP_TIMEOUT_MS} ms:\n${this.#log}`,
            ),
          ),
        STARTUP_TIMEOUT_MS,
      );
      (async () => {
        for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
          this.#log += chunk;
          if (this.#log.includes(READY_LINE)) {
            clearTimeout(timer);
            resolve();
          }
        }
        clearTimeout(timer);
        reject(new Error(`Prometheus exited before it was ready:\n${this.#log}`));
      })().catch(reject);
    });
  }

  ready(): Promise<void> {
    return this.#ready;
  }

  get log(): string {
    return this.#log;
  }

  async api(path: string): Promise<unknown> {
    const response = await fetch(`${this.url}${path}`);
    const body = await response.json() as { status: string; data: unknown };
    assert.equal(body.status, "success", `${path}: ${JSON.stringify(body)}`);
    return body.data;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#ready.catch(() => {});
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    const killer = setTimeout(() => {
      try {
        this.#child.kill("SIGKILL");
      } catch {
        // Exited in the meantime.
      }
    }, 5000);
    await this.#child.status;
    clearTimeout(killer);
  }
}

interface VectorSample {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  log: () => string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `Timed out after ${timeoutMs} ms waiting for ${what} (last error: ${last})\n${log()}`,
  );
}

Deno.test({
  name: "a real Prometheus discovers nodes through /services.json and scrapes every one up",
  ignore: !toolInstalled(PROMETHEUS, "the Prometheus test", "prometheus"),
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "weir-prometheus-" });
  try {
    await using worker = openMetricsServer({ node: "worker-1", port: 0 });
    const discovery = createServiceDiscovery({ nodes: [] });
    await using manager = openMetricsServer({
      node: "manager",
      port: 0,
      serviceDiscovery: discovery,
    });
    discovery.addTarget({ name: "manager", address: "127.0.0.1", metricsPort: manager.port });
    const configFile = join(dir, "prometheus.yml");
    await Deno.writeTextFile(
      configFile,
      [
        "global:",
        "  scrape_interval: 1s",
        "  evaluation_interval: 1s",
        "scrape_configs:",
        "  - job_name: weir",
        "    http_sd_configs:",
        `      - url: ${manager.url}services.json`,
        "        refresh_interval: 1s",
        "",
      ].join("\n"),
    );
    await using prometheus = new PrometheusProcess(dir, configFile);
    await prometheus.ready();
    const log = () => prometheus.log;

    const managerTarget = `127.0.0.1:${manager.port}`;
    const workerTarget = `127.0.0.1:${worker.port}`;
    const up = async (instances: string[]) => {
      const data = await prometheus.api("/api/v1/query?query=up") as { result: VectorSample[] };
      const seen = new Map(data.result.map((s) => [s.metric.instance, s.value[1]]));
      return instances.every((i) => seen.get(i) === "1") ? seen : undefined;
    };
    await until("the manager's target to be up", SCRAPE_TIMEOUT_MS, () => up([managerTarget]), log);

    // The worker joins after Prometheus started: it must appear without a restart.
    discovery.addTarget({ name: "worker-1", address: "127.0.0.1", metricsPort: worker.port });
    const seen = await until(
      "both targets to be up",
      SCRAPE_TIMEOUT_MS,
      () => up([managerTarget, workerTarget]),
      log,
    );
    assert.deepEqual([...seen.keys()].sort(), [managerTarget, workerTarget].sort());

    const versions = await until(
      "weir_version_info from both nodes",
      SCRAPE_TIMEOUT_MS,
      async () => {
        const data = await prometheus.api("/api/v1/query?query=weir_version_info") as {
          result: VectorSample[];
        };
        return data.result.length === 2 ? data.result : undefined;
      },
      log,
    );
    assert.deepEqual(
      versions.map((s) => [s.metric.node, s.metric.instance]).sort(),
      [["manager", managerTarget], ["worker-1", workerTarget]],
    );

    discovery.removeTarget("worker-1");
    await until("the worker's target to be dropped", SCRAPE_TIMEOUT_MS, async () => {
      const data = await prometheus.api("/api/v1/targets?state=active") as {
        activeTargets: { labels: Record<string, string> }[];
      };
      const instances = data.activeTargets.map((t) => t.labels.instance);
      return instances.length === 1 && instances[0] === managerTarget ? true : undefined;
    }, log);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
