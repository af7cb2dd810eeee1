#!/usr/bin/env node
// Composition root of the CA (DESIGN.md §3.3, §4): reads flags and environment, builds the real
// clock, crypto and logger, starts the CA under runUntilStopped and runs its maintenance timer.
// An operator error (key file permissions, missing plugged-in file) is one log line and exit 1.
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { KeyFileError } from "./adapters/key-files.ts";
import { nodeCrypto } from "./adapters/node-crypto.ts";
import { caSettings } from "./ca-settings.ts";
import { startCa } from "./start-ca.ts";

const read = readSettings(caSettings, { argv: process.argv.slice(2), env: process.env });
if (read.type === "help") {
  process.stdout.write(formatHelp(caSettings, { usage: "meshwork-ca [flags]", summary: "Issues SPIFFE X.509-SVIDs and JWT-SVIDs to attested workloads over gRPC (mesh.ca.v1.CertificateService); publishes the JWT keys by OIDC discovery on the admin port." }));
} else if (read.type === "invalid") {
  process.stderr.write(`meshwork-ca: ${read.error.message}\n`);
  process.exitCode = 2;
} else {
  const config = read.settings;
  const logger = createLogger({ name: "ca", level: config.logLevel });
  const maintainEveryMs = 30_000;
  await runUntilStopped(
    async (lifecycle) => {
      try {
        const ca = await startCa(config, {
          crypto: nodeCrypto(),
          clock: () => new Date(),
          monotonicMs: () => performance.now(),
          logger,
          onStop: (name, hook) => lifecycle.onStop(name, hook),
          processMetrics: () => {
            const cpu = process.cpuUsage();
            return [
              "# TYPE process_cpu_seconds_total counter",
              `process_cpu_seconds_total ${(cpu.user + cpu.system) / 1e6}`,
              "# TYPE process_resident_memory_bytes gauge",
              `process_resident_memory_bytes ${process.memoryUsage.rss()}`,
            ];
          },
        });
        const timer = setInterval(() => {
          ca.maintain().catch((error: unknown) => logger.error("maintenance failed", { err: error }));
        }, maintainEveryMs);
        timer.unref();
        lifecycle.onStop("maintenance timer", () => clearInterval(timer));
        return undefined;
      } catch (error) {
        if (error instanceof KeyFileError) {
          logger.error(error.message, { file: error.path });
          return 1;
        }
        throw error;
      }
    },
    { logger, stopDeadlineMs: 8000 },
  );
}
