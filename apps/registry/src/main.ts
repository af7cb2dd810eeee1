#!/usr/bin/env -S node --max-semi-space-size=2 --v8-pool-size=1 --heap-growing-percent=20 --interrupt-budget=16896
// Composition root of the registry server (DESIGN.md §3.4, §4): reads flags and environment,
// builds the logger, starts the Raft node and the Consul HTTP API under runUntilStopped. SIGTERM
// is a graceful leave: the HTTP API closes, a leader hands leadership over, the node stops.
// Launcher flags (also the Dockerfile's ENTRYPOINT; meshctl up reads them from this line), measured
// in bench/registry/README.md: a small young generation, one V8 worker thread, and the next full
// GC at 1.2× the live heap instead of up to 4×: under a stream of writes, objects that outlived a
// few scavenges (and the ArrayBuffers they hold, in glibc's heap, which does not shrink back) die
// in the old generation; collecting them sooner keeps a 100k-key node under 150 MB. An eighth of
// V8's interrupt budget: code that runs a few times per write (HTTP, Raft, the peer transport)
// reaches optimized tiers sooner and stays there — 4–6 % less CPU per put, warm or cold.
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { formatHelp, readSettings, runUntilStopped } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { AgentSettingsError } from "./agent-mode/agent-services.ts";
import { agentSettings } from "./agent-mode/agent-settings.ts";
import { startAgent } from "./agent-mode/start-agent.ts";
import { registrySettings } from "./server/registry-settings.ts";
import { RegistrySettingsError, startRegistry } from "./server/start-registry.ts";
import { WalCorruptionError } from "./storage/wal.ts";

const agentMode = process.argv[2] === "agent";
const read = readSettings(registrySettings, { argv: process.argv.slice(2), env: process.env });
if (agentMode) {
  // `meshwork-registry agent`: registers local services on the servers over HTTP, runs their checks and gossips (no Raft).
  const agentRead = readSettings(agentSettings, { argv: process.argv.slice(3), env: process.env });
  if (agentRead.type === "help") {
    process.stdout.write(
      formatHelp(agentSettings, {
        usage: "meshwork-registry agent --server http://HOST:8500 (--service NAME:PORT [--check URL] | --service-file FILE) [flags]",
        summary: "Registers this node's services on the registry and runs their health checks; with --gossip-port, joins the servers' gossip pool so a dead agent's services go critical at once. Deregisters and leaves on SIGTERM.",
      }),
    );
  } else if (agentRead.type === "invalid") {
    process.stderr.write(`meshwork-registry agent: ${agentRead.error.message}\n`);
    process.exitCode = 2;
  } else {
    const config = agentRead.settings;
    const logger = createLogger({ name: "registry-agent", level: config.logLevel });
    await runUntilStopped(
      async (lifecycle) => {
        try {
          await startAgent(config, {
            logger,
            onStop: (name, hook) => lifecycle.onStop(name, hook),
            hostname: hostname(),
            readTextFile: (path) => readFile(path, "utf8"),
            // PUT /v1/agent/leave: the same graceful stop as SIGTERM (deregister, leave the pool, exit 0).
            requestStop: () => process.kill(process.pid, "SIGTERM"),
          });
          return undefined;
        } catch (error) {
          if (!(error instanceof AgentSettingsError)) throw error;
          logger.error(error.message);
          return 2;
        }
      },
      { logger, stopDeadlineMs: 8000 },
    );
  }
} else if (read.type === "help") {
  process.stdout.write(
    formatHelp(registrySettings, {
      usage: "meshwork-registry --node-id ID [--peers ID=HOST:PORT,...] [flags]",
      summary: "Raft-replicated KV and service catalog with a Consul-compatible HTTP API. `meshwork-registry agent --help`: the client agent that registers a node's services.",
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
