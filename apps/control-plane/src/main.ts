#!/usr/bin/env node
// Composition root of the control plane (DESIGN.md §3.2, §4): reads flags and environment, builds
// the logger and runs startControlPlane under runUntilStopped (SIGTERM: readiness off, proxy
// streams ended so proxies move to another replica, listeners closed).
import { hostname } from "node:os";
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { controlPlaneSettings } from "./control-plane-settings.ts";
import { ControlPlaneSettingsError, startControlPlane } from "./start-control-plane.ts";

const read = readSettings(controlPlaneSettings, { argv: process.argv.slice(2), env: process.env });
if (read.type === "help") {
  process.stdout.write(
    formatHelp(controlPlaneSettings, {
      usage: "meshwork-control-plane [--registry-grpc HOST:PORT,...] [--registry-http URL,...] [--config-dir DIR] [flags]",
      summary: "Validates mesh config, computes each proxy's config and pushes it over mesh.discovery.v1 (istiod's job). Stateless: run any number of replicas.",
    }),
  );
} else if (read.type === "invalid") {
  process.stderr.write(`meshwork-control-plane: ${read.error.message}\n`);
  process.exitCode = 2;
} else {
  const settings = read.settings;
  const logger = createLogger({ name: "control-plane", level: settings.logLevel });
  await runUntilStopped(
    async (lifecycle) => {
      try {
        await startControlPlane(
          { ...settings, id: settings.id ?? `${hostname()}-${process.pid}`, registryGrpc: settings.registryGrpc, registryHttp: settings.registryHttp, configDir: settings.configDir, trustBundle: settings.trustBundle },
          { logger, onStop: (name, hook) => lifecycle.onStop(name, hook) },
        );
        return undefined;
      } catch (error) {
        if (!(error instanceof ControlPlaneSettingsError)) throw error;
        logger.error(error.message);
        return 2;
      }
    },
    { logger, stopDeadlineMs: 8000 },
  );
}
