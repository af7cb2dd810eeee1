#!/usr/bin/env node
// Composition root of the registry server (DESIGN.md §3.4, §4): reads flags and environment,
// builds the logger, starts the Raft node and the Consul HTTP API under runUntilStopped. SIGTERM
// is a graceful leave: the HTTP API closes, a leader hands leadership over, the node stops.
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { registrySettings } from "./server/registry-settings.ts";
import { RegistrySettingsError, startRegistry } from "./server/start-registry.ts";
import { WalCorruptionError } from "./storage/wal.ts";

const read = readSettings(registrySettings, { argv: process.argv.slice(2), env: process.env });
if (read.type === "help") {
  process.stdout.write(
    formatHelp(registrySettings, {
      usage: "meshwork-registry --node-id ID [--peers ID=HOST:PORT,...] [flags]",
      summary: "Raft-replicated KV and service catalog with a Consul-compatible HTTP API.",
    }),
  );
} else if (read.type === "invalid") {
  process.stderr.write(`meshwork-registry: ${read.error.message}\n`);
  process.exitCode = 2;
} else {
  const config = read.settings;
  const logger = createLogger({ name: "registry", level: config.logLevel });
  await runUntilStopped(
    async (lifecycle) => {
      try {
        await startRegistry(config, {
          logger,
          onStop: (name, hook) => lifecycle.onStop(name, hook),
          // The node already logged why; memory may be ahead of disk, so no graceful stop.
          onFatal: () => process.exit(1),
        });
        return undefined;
      } catch (error) {
        if (error instanceof RegistrySettingsError) {
          logger.error(error.message);
          return 2;
        }
        if (error instanceof WalCorruptionError) {
          logger.error(error.message, { dataDir: config.dataDir, hint: "restore the data dir from a peer, or remove it and add this server back so it rejoins from the leader's snapshot" });
          return 1;
        }
        throw error;
      }
    },
    { logger, stopDeadlineMs: 8000 },
  );
}
