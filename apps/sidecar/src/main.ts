#!/usr/bin/env -S node --max-semi-space-size=1 --v8-pool-size=1 --expose-gc
// Entry of the sidecar process: settings from flags and environment, JSON logs, graceful drain on
// SIGTERM. With --concurrency N (N ≠ 1) a primary process forks N workers that share the
// listening sockets (each accepts for itself, like Envoy's worker threads); the primary serves
// the stats port with the workers' metrics summed, worker 1 serves the admin API.
// The shebang caps V8's young generation at 1 MB per semi-space (default 16; 2 MB gave about 30 %
// less resident memory, 1 MB another 2 MB, both for no measurable CPU per request); and V8's platform pool at one background
// thread (default: one per core): about 6 MB less, CPU per request unchanged (bench/proxy/README.md).
// --expose-gc lets the sidecar run one compacting collection after a config is applied
// (src/config/heap-compactor.ts): about 10 MB less idle memory with 1,000 services.
// The image's entrypoint (Dockerfile) runs the bundled build of this file, which keeps the
// shebang (bundle-sidecar.mjs → dist/bundle/main.js: less memory than the per-file dist/main.js).
import cluster from "node:cluster";
import { availableParallelism } from "node:os";
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger, type Logger, type LogFields } from "@meshwork/telemetry";
import { sidecarSettings, type SidecarSettings } from "./sidecar-settings.ts";
import { startSidecar } from "./start-sidecar.ts";
import { serveWorkerMetrics, startWorkers } from "./start-workers.ts";

const levels = ["debug", "info", "warn", "error"] as const;
type Level = (typeof levels)[number];

/** A logger whose level `POST /logging` can change at run time. */
function adjustableLogger(initial: Level, fields: LogFields): { logger: Logger; setLevel: (level: string) => boolean } {
  let current = createLogger({ name: "sidecar", level: initial, fields });
  const logger: Logger = {
    get level() {
      return current.level;
    },
    debug: (msg, f) => current.debug(msg, f),
    info: (msg, f) => current.info(msg, f),
    warn: (msg, f) => current.warn(msg, f),
    error: (msg, f) => current.error(msg, f),
    isLevelEnabled: (level) => current.isLevelEnabled(level),
    child: (f) => current.child(f),
  };
  const setLevel = (level: string): boolean => {
    if (!(levels as readonly string[]).includes(level)) return false;
    current = createLogger({ name: "sidecar", level: level as Level, fields });
    return true;
  };
  return { logger, setLevel };
}

const read = readSettings(sidecarSettings, { argv: process.argv.slice(2), env: process.env });
if (read.type === "help") {
  process.stdout.write(formatHelp(sidecarSettings, { usage: "meshwork-sidecar [flags]", summary: "The Meshwork sidecar proxy: Istio routing, resilience and telemetry for one workload." }));
} else if (read.type === "invalid") {
  process.stderr.write(`meshwork-sidecar: ${read.error.message}\n`);
  process.exitCode = 2;
} else {
  const settings: SidecarSettings = read.settings;
  const workers = settings.concurrency === 0 ? availableParallelism() : settings.concurrency;
  const workerIndex = cluster.isWorker ? Number(process.env["MESHWORK_WORKER_INDEX"] ?? "0") : -1;
  const { logger, setLevel } = adjustableLogger(settings.logLevel, workerIndex >= 0 ? { worker: workerIndex } : {});
  await runUntilStopped(
    async (lifecycle) => {
      if (workers > 1 && cluster.isPrimary) {
        await startWorkers(workers, settings, { logger, onStop: (name, hook) => lifecycle.onStop(name, hook) });
        return undefined;
      }
      // In a worker, only worker 1 serves admin; the primary serves the summed stats.
      const workerSettings: SidecarSettings =
        workerIndex >= 0 ? { ...settings, adminPort: workerIndex === 1 ? settings.adminPort : -1, statsPort: -1 } : settings;
      try {
        const sidecar = await startSidecar(workerSettings, { logger, setLogLevel: setLevel, onStop: (name, hook) => lifecycle.onStop(name, hook) });
        if (workerIndex >= 0) serveWorkerMetrics(sidecar.state.registry);
      } catch (error) {
        logger.error("sidecar could not start", { err: error });
        return 1;
      }
      return undefined;
    },
    { logger, stopDeadlineMs: (settings.drainSeconds + 5) * 1000 },
  );
}
