#!/usr/bin/env node
// Composition root of bookinfo: reads the service to run, flags and environment, builds the
// logger and the upstream connection pool, starts the service(s) under runUntilStopped.
// Usage errors are one line on stderr and exit 2; the service logs JSON lines to stdout.
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { createUpstreamClient } from "./adapters/upstream-client.ts";
import { bookinfoSettings } from "./bookinfo-settings.ts";
import { chooseService } from "./core/plan-service.ts";
import { startBookinfo } from "./start-bookinfo.ts";

const usage = "bookinfo <productpage|details|reviews|ratings|all> [flags]";
const read = readSettings(bookinfoSettings, { argv: process.argv.slice(2), env: process.env, allowPositionals: true });
const choice = read.type === "settings" ? chooseService(read.positionals) : undefined;

if (read.type === "help") {
  process.stdout.write(
    formatHelp(bookinfoSettings, {
      usage,
      summary: "Istio's bookinfo demo: runs one of its services (or `all` of them wired directly, without a mesh).",
      footer: [
        "Examples:",
        "  bookinfo ratings --port 9083",
        "  bookinfo reviews --version v2 --port 9082 --ratings-url http://127.0.0.1:9083",
        "  bookinfo productpage --port 9080 --outbound-proxy http://127.0.0.1:15001",
        "  bookinfo all --version v3 --port 9080          # then open http://127.0.0.1:9080/productpage",
        "",
        "Exit codes: 0 stopped cleanly, 1 failed (port in use, ...), 2 usage error, 130/143 interrupted.",
      ].join("\n"),
    }),
  );
} else if (read.type === "invalid") {
  process.stderr.write(`bookinfo: ${read.error.message}\n`);
  process.exitCode = 2;
} else if (choice !== undefined && !choice.ok) {
  process.stderr.write(`bookinfo: ${choice.message}\n`);
  process.exitCode = 2;
} else if (choice !== undefined) {
  const settings = read.settings;
  const logger = createLogger({ name: "bookinfo", level: settings.logLevel });
  await runUntilStopped(
    async (lifecycle) => {
      const client = createUpstreamClient();
      lifecycle.onStop("upstream connections", () => client.close());
      const started = await startBookinfo(choice.services, settings, {
        logger,
        client,
        drainMs: settings.drainMs,
        defaultPodName: `reviews-${settings.version}-${process.pid}`,
        onStop: (name, hook) => lifecycle.onStop(name, hook),
      }).catch((error: unknown) => {
        const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
        if (failure.code !== "EADDRINUSE" && failure.code !== "EADDRNOTAVAIL") throw error;
        logger.error(`cannot listen on ${failure.address ?? settings.bind}:${failure.port ?? settings.port} (${failure.code}): stop what holds the port or choose another with --port, or fix --bind`, { code: failure.code });
        return undefined;
      });
      if (started === undefined) return 1;
      if (!started.ok) {
        process.stderr.write(`bookinfo: ${started.message}\n`);
        return 2;
      }
      // Registered last so it runs first: probes fail before the listeners close.
      lifecycle.onStop("readiness", () => {
        for (const service of started.services) service.markStopping();
      });
      logger.info("ready", { services: started.services.map((s) => ({ service: s.service, url: s.url })) });
      return undefined;
    },
    { logger, stopDeadlineMs: settings.drainMs + 3000 },
  );
}
