// Starts a registry server from its settings: the Raft node (data dir, transport, optional peer
// TLS) and the Consul HTTP API over it, registering stop hooks so SIGTERM leaves gracefully
// (HTTP closes first, then a leader hands over leadership, then the node stops). main.ts calls it;
// tests call it in-process with port 0 and a temporary data dir.
import * as fs from "node:fs";
import type { Settings } from "@meshwork/runtime";
import type { Logger } from "@meshwork/telemetry";
import { checkReadiness } from "../admin/check-readiness.ts";
import { countWrites } from "../admin/count-writes.ts";
import { RegistryMetrics } from "../admin/registry-metrics.ts";
import { startAdminServer } from "../admin/start-admin-server.ts";
import { PROTOCOL_VERSION } from "@meshwork/gossip";
import { encodeMember, encodeMembers } from "../gossip/encode-members.ts";
import { DEFAULT_AUTOPILOT_CONFIG } from "../gossip/autopilot-config.ts";
import { MemberReconciler } from "../gossip/member-reconciler.ts";
import { ServerReconciler } from "../gossip/server-reconciler.ts";
import { gossipProtocolSettings, gossipKeysOf as sharedGossipKeysOf } from "../gossip/gossip-settings.ts";
import { loadLocalKeyring, localKeyringPath, writeLocalKeyring } from "../gossip/local-keyring.ts";
import { GossipSettingsError, startGossip } from "../gossip/start-gossip.ts";
import type { RunningGossip } from "../gossip/start-gossip.ts";
import { startHttpApi } from "../http/start-http-api.ts";
import type { TransportTls } from "../transport/grpc-raft-transport.ts";
import { parsePeers } from "./parse-peers.ts";
import { RegistryNode } from "./registry-node.ts";
import type { registrySettings } from "./registry-settings.ts";
import { registryStateMachine } from "./registry-state-machine.ts";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { startDnsServer } from "../dns/start-dns-server.ts";
import { registerWatchService } from "../watch/register-watch-service.ts";

/** The registry's settings, as read from flags and environment. */
export type RegistryConfig = Settings<typeof registrySettings>;

/** An operator error in the settings (main prints it and exits 2). */
export class RegistrySettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistrySettingsError";
  }
}

export interface RegistryDeps {
  readonly logger: Logger;
  /** Registers a stop hook (runUntilStopped's `lifecycle.onStop`); hooks run in reverse order. */
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
  /** The node stopped itself (disk failure): main exits 1 so the supervisor restarts it. */
  readonly onFatal?: (error: unknown) => void;
  /** Export Node's process metrics (CPU, RSS, event loop) on /metrics too (default true). */
  readonly processMetrics?: boolean;
}

/** How long /readyz waits for a ReadIndex round trip and catch-up before answering 503. */
export const readinessTimeoutMs = 2000;

export interface RunningRegistry {
  readonly node: RegistryNode;
  readonly raftPort: number;
  readonly httpPort: number;
  readonly adminPort: number;
  /** -1 when disabled. */
  readonly dnsPort: number;
  readonly grpcPort: number;
  readonly metrics: RegistryMetrics;
  /** This server's gossip member; undefined when --gossip-port is -1. */
  readonly gossip: RunningGossip | undefined;
}

/** How often the leader runs a full membership reconcile besides membership events (Consul: 60 s). */
export const reconcileIntervalMs = 5_000;

/** How often the leader re-plans Raft membership from gossip (promotions and dead server cleanup wait on time). */
export const serverReconcileIntervalMs = 1_000;

function readTls(config: RegistryConfig): TransportTls | undefined {
  const files = [config.tlsCa, config.tlsCert, config.tlsKey];
  if (files.every((file) => file === undefined)) return undefined;
  if (config.tlsCa === undefined || config.tlsCert === undefined || config.tlsKey === undefined) {
    throw new RegistrySettingsError("peer TLS needs all of --tls-ca, --tls-cert and --tls-key (or none of them for plaintext)");
  }
  const read = (flag: string, file: string): Buffer => {
    try {
      return fs.readFileSync(file);
    } catch (error) {
      throw new RegistrySettingsError(`cannot read ${flag} ${file}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  return { ca: read("--tls-ca", config.tlsCa), cert: read("--tls-cert", config.tlsCert), key: read("--tls-key", config.tlsKey) };
}

/** Throws RegistrySettingsError for bad settings, WalCorruptionError for a damaged data dir. */
export async function startRegistry(config: RegistryConfig, deps: RegistryDeps): Promise<RunningRegistry> {
  const { logger } = deps;
  const parsed = parsePeers(config.peers);
  if (!parsed.ok) throw new RegistrySettingsError(parsed.message);
  const wildcard = config.bind === "0.0.0.0" || config.bind === "::";
  if (wildcard && config.advertise === undefined) throw new RegistrySettingsError(`--bind ${config.bind} needs --advertise: the host peers and clients can reach this server at`);
  const advertiseHost = config.advertise ?? config.bind;
  const peers = new Map(parsed.peers);
  if (peers.size > 0 && !peers.has(config.nodeId)) {
    throw new RegistrySettingsError(`--peers must list this node too (--node-id ${config.nodeId}), e.g. ${config.nodeId}=${advertiseHost}:${config.raftPort}`);
  }
  const tls = readTls(config);
  const flagKeys = gossipKeysOf(config);
  fs.mkdirSync(config.dataDir, { recursive: true });
  // The keyring file under the data dir wins over the flags once it exists (rotated keys survive a restart).
  const keyringFile = localKeyringPath(config.dataDir);
  const gossipKeys = config.gossipPort >= 0 ? settingsOrThrow(() => loadLocalKeyring(keyringFile, flagKeys, (level, msg, fields) => logger[level](msg, fields))) : flagKeys;
  const metrics = new RegistryMetrics({ processMetrics: deps.processMetrics ?? true });
  // Declared before the node starts: a leader may be known (onLeaderChange) before gossip is up.
  let reconciler: MemberReconciler | undefined;
  let serverReconciler: ServerReconciler | undefined;
  const node = await RegistryNode.start({
    nodeId: config.nodeId,
    dataDir: config.dataDir,
    bootstrap: peers.size > 0 ? [...peers.keys()] : undefined,
    peerAddresses: Object.fromEntries([...peers].filter(([id]) => id !== config.nodeId)),
    raftBind: { host: config.bind, port: config.raftPort },
    advertiseHost,
    httpAddress: `${advertiseHost}:${config.httpPort}`,
    stateMachine: registryStateMachine,
    tls,
    tickMs: config.tickMs,
    snapshotEvery: config.snapshotEvery,
    log: (level, msg, fields) => logger[level](msg, fields),
    ...(deps.onFatal !== undefined ? { onFatal: deps.onFatal } : {}),
    onSave: (durationMs, entries, synced) => metrics.observeSave(durationMs, entries, synced),
    onLeaderChange: () => {
      metrics.leaderChanged();
      reconciler?.leadershipChanged();
      serverReconciler?.leadershipChanged();
    },
  });
  metrics.attach(node);
  // Registered first so it stops last: /healthz and /metrics answer while the node leaves.
  const admin = await startAdminServer({
    host: config.bind,
    port: config.adminPort,
    readiness: () => checkReadiness(node, readinessTimeoutMs),
    metrics: () => metrics.render(),
  });
  deps.onStop("admin listener", () => admin.close());
  deps.onStop("raft node (graceful leave)", () => node.leave());
  let gossip: RunningGossip | undefined;
  if (config.gossipPort >= 0) {
    serverReconciler = new ServerReconciler({
      raft: node,
      members: () => gossip?.members() ?? [],
      datacenter: config.datacenter,
      config: { ...DEFAULT_AUTOPILOT_CONFIG, cleanupDeadServers: config.autopilotCleanupDeadServers, serverStabilizationTimeMs: config.autopilotServerStabilizationMs },
      intervalMs: serverReconcileIntervalMs,
      log: (level, msg, fields) => logger[level](msg, fields),
    });
  }
  const autopilot = serverReconciler;
  const versions = { protocol: PROTOCOL_VERSION, delegate: PROTOCOL_VERSION };
  const http = await startHttpApi(countWrites(node, metrics), {
    host: config.bind,
    port: config.httpPort,
    datacenter: config.datacenter,
    agent: { address: advertiseHost },
    ...(config.gossipPort >= 0
      ? {
          gossip: {
            // This server still answering while its own member is "left" is serf's "leaving" (2).
            members: () => (gossip === undefined ? [] : encodeMembers(gossip.members(), versions, config.nodeId, true)),
            self: () => {
              const self = gossip?.core.member(config.nodeId);
              return self === undefined ? undefined : encodeMember(self, versions, self.state === "left");
            },
            forceLeave: (name, prune) => gossip?.forceLeave(name, prune) ?? { ok: false, reason: "unknown-member" },
            keyringOperation: (operation, key) =>
              gossip === undefined ? Promise.reject(new Error("gossip is not started yet: retry in a moment")) : gossip.keyringOperation(operation, key),
          },
        }
      : {}),
    ...(autopilot !== undefined ? { autopilot } : {}),
    onRequest: (request) => metrics.observeHttp(request),
  });
  node.setHttpAddress(`${advertiseHost}:${http.port}`);
  deps.onStop("http api", () => http.close());
  if (config.gossipPort >= 0) {
    const members = () => gossip?.members() ?? [];
    reconciler = new MemberReconciler({
      server: node,
      members,
      selfName: config.nodeId,
      reconnectTimeoutMs: config.reconnectTimeoutMs,
      intervalMs: reconcileIntervalMs,
      // A restarted leader may not know the pool yet: two join attempts before judging nodes it does not know.
      unknownGraceMs: config.retryJoin.length > 0 ? 2 * config.retryIntervalMs : 0,
      log: (level, msg, fields) => logger[level](msg, fields),
    });
    try {
      gossip = await startGossip({
        name: config.nodeId,
        bindHost: config.gossipBind ?? config.bind,
        port: config.gossipPort,
        advertiseHost,
        // Consul's server tags (role, id, port of Raft): `meshctl registry join --id` finds the Raft address here.
        tags: { role: "server", id: config.nodeId, raft_addr: `${advertiseHost}:${node.raftPort}`, http_addr: `${advertiseHost}:${http.port}`, dc: config.datacenter },
        join: config.retryJoin,
        retryIntervalMs: config.retryIntervalMs,
        keys: gossipKeys,
        onKeyringChanged: (keys) => {
          writeLocalKeyring(keyringFile, keys);
          logger.info("gossip keyring changed and saved", { keyringFile, keys: keys.length });
        },
        settings: gossipProtocolSettings(config),
        onEvent: (event) => {
          metrics.observeGossipEvent(event);
          if (event.type === "user-event-received") http.events.receive(event.name, event.payload, event.ltime);
          if (!event.type.startsWith("member-")) return;
          if ("member" in event) logger.info(`gossip ${event.type}`, { member: event.member.name, address: event.member.address });
          reconciler?.trigger();
          serverReconciler?.trigger();
        },
        log: (level, msg, fields) => logger[level](msg, fields),
      });
    } catch (error) {
      if (error instanceof GossipSettingsError) throw new RegistrySettingsError(error.message);
      throw error;
    }
    const running = gossip;
    // User events fired here go to the pool from now on (events/user-events.ts says why gossip).
    http.events.spreadWith((name, payload) => running.userEvent(name, payload));
    metrics.attachGossip(running.core);
    deps.onStop("gossip (graceful leave)", () => running.leave());
    const started = reconciler;
    deps.onStop("membership reconcile", () => started.stop());
    reconciler.start();
    if (autopilot !== undefined) {
      deps.onStop("raft membership reconcile", () => autopilot.stop());
      autopilot.start();
    }
  }
  const log = (level: "debug" | "warn", msg: string, fields: Record<string, unknown>): void => logger[level](msg, fields);
  let dnsPort = -1;
  if (config.dnsPort >= 0) {
    const dns = await startDnsServer(node, { host: config.bind, port: config.dnsPort, domain: config.dnsDomain, datacenter: config.datacenter, nodeName: config.nodeId, log });
    dnsPort = dns.port;
    deps.onStop("dns", () => dns.close());
  }
  let grpcPort = -1;
  if (config.grpcPort >= 0) {
    const grpcApi = new Server();
    registerWatchService(grpcApi, node, { log });
    grpcPort = await new Promise<number>((resolve, reject) =>
      grpcApi.bindAsync(`${config.bind}:${config.grpcPort}`, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    // forceShutdown: watches are endless streams (tryShutdown would wait for them); clients resume elsewhere with from_index.
    deps.onStop("grpc api", () => grpcApi.forceShutdown());
  }
  logger.info("ready", {
    nodeId: config.nodeId,
    raftPort: node.raftPort,
    httpPort: http.port,
    adminPort: admin.port,
    dnsPort,
    grpcPort,
    gossipAddress: gossip?.address ?? "",
    gossipEncrypted: gossipKeys.length > 0,
    dataDir: config.dataDir,
    tls: tls !== undefined,
  });
  return { node, raftPort: node.raftPort, httpPort: http.port, adminPort: admin.port, dnsPort, grpcPort, metrics, gossip };
}

/** The gossip keys, primary first: --gossip-key, then the keyring file's. */
function gossipKeysOf(config: RegistryConfig): string[] {
  return settingsOrThrow(() => sharedGossipKeysOf(config));
}

/** Runs a gossip settings step, turning its GossipSettingsError into a RegistrySettingsError (exit 2). */
function settingsOrThrow<T>(step: () => T): T {
  try {
    return step();
  } catch (error) {
    if (error instanceof GossipSettingsError) throw new RegistrySettingsError(error.message);
    throw error;
  }
}
