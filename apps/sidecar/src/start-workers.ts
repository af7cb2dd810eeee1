// --concurrency: the primary forks workers that share the listeners (SCHED_NONE: each worker
// accepts connections itself, no hand-off through the primary), restarts a worker that dies, and
// serves /stats/prometheus with every worker's metrics summed (prom-client's AggregatorRegistry)
// plus /healthz/ready. SIGTERM reaches every worker, which drains on its own.
import cluster from "node:cluster";
import { createServer } from "node:http";
import type { Registry } from "prom-client";
// Its own module, not prom-client's index (see telemetry/prom-client-core.ts).
import AggregatorRegistry from "prom-client/lib/cluster.js";
import type { Logger } from "@meshwork/telemetry";
import type { SidecarSettings } from "./sidecar-settings.ts";

export interface WorkerDeps {
  readonly logger: Logger;
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
}

export async function startWorkers(count: number, settings: SidecarSettings, deps: WorkerDeps): Promise<void> {
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  const fork = (index: number): void => {
    const worker = cluster.fork({ MESHWORK_WORKER_INDEX: String(index) });
    worker.on("exit", (code, signal) => {
      if (stopping) return;
      deps.logger.error("worker exited; starting a new one", { worker: index, code, signal });
      setTimeout(() => fork(index), 500);
    });
  };
  for (let i = 1; i <= count; i++) fork(i);

  const aggregator = new AggregatorRegistry();
  const stats = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://stats").pathname;
    if (path === "/healthz/ready") {
      const alive = Object.values(cluster.workers ?? {}).filter((w) => w && !w.isDead()).length;
      res.writeHead(alive === count && !stopping ? 200 : 503, { "content-type": "text/plain" });
      res.end(alive === count && !stopping ? "LIVE\n" : `${alive}/${count} workers\n`);
      return;
    }
    if (path !== "/stats/prometheus") {
      res.writeHead(404).end();
      return;
    }
    aggregator.clusterMetrics().then(
      (text) => {
        res.writeHead(200, { "content-type": aggregator.contentType });
        res.end(text);
      },
      (error: unknown) => {
        res.writeHead(500).end(String(error));
      },
    );
  });
  if (settings.statsPort >= 0) await new Promise<void>((resolve) => stats.listen(settings.statsPort, settings.bind, resolve));
  deps.logger.info("workers started", { workers: count });
  deps.onStop("workers", async () => {
    stopping = true;
    stats.close();
    const exits = Object.values(cluster.workers ?? {}).map(
      (worker) =>
        new Promise<void>((resolve) => {
          if (!worker || worker.isDead()) return resolve();
          worker.once("exit", () => resolve());
          worker.kill("SIGTERM");
        }),
    );
    await Promise.all(exits);
  });
}

/** In a worker: lets the primary's AggregatorRegistry collect this worker's registry. */
export function serveWorkerMetrics(registry: Registry): void {
  // prom-client answers the primary's requests only once an AggregatorRegistry exists in the worker.
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([registry]);
}
