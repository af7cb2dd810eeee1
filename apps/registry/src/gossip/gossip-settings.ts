// The gossip settings shared by the registry server and `meshwork-registry agent` (Consul's server
// and client agents take the same serf_lan flags), and the one place that turns them into
// startGossip options: keys from --gossip-key and the keyring file, probe timings, the reap time.
import type { SettingsSpec } from "@meshwork/runtime";
import type { GossipSettings } from "@meshwork/gossip";
import { GossipSettingsError, checkGossipOptions, readKeyringFile } from "./start-gossip.ts";

/** Spread into a process's defineSettings({...}). */
export const gossipSettingDefinitions = {
  gossipPort: {
    type: "number",
    integer: true,
    default: -1,
    env: "MESHWORK_REGISTRY_GOSSIP_PORT",
    description:
      "Gossip (SWIM + Lifeguard membership, UDP and TCP) port; Consul's serf_lan is 8301. 0 picks one, -1 (default for now) disables gossip: no failure detection into the catalog (a server's /v1/agent/members lists only itself).",
  },
  gossipBind: { type: "string", env: "MESHWORK_REGISTRY_GOSSIP_BIND", valueName: "HOST", description: "Address the gossip listener binds (default: --bind on a server, --address on an agent); others reach it at the advertised address." },
  retryJoin: {
    type: "list",
    env: "MESHWORK_REGISTRY_RETRY_JOIN",
    valueName: "HOST:PORT",
    description: "Gossip addresses of members to join (any one is enough), tried again every --retry-interval-ms until this member knows another live member (Consul's retry_join).",
  },
  retryIntervalMs: { type: "number", integer: true, default: 30_000, env: "MESHWORK_REGISTRY_RETRY_INTERVAL_MS", description: "Time between --retry-join attempts (Consul's retry_interval)." },
  gossipKey: {
    type: "string",
    env: "MESHWORK_REGISTRY_GOSSIP_KEY",
    valueName: "BASE64",
    description: "Encrypts and authenticates all gossip with AES-GCM (16, 24 or 32 bytes, base64; `openssl rand -base64 32`; Consul's encrypt). Every member needs it.",
  },
  gossipKeyringFile: {
    type: "string",
    env: "MESHWORK_REGISTRY_GOSSIP_KEYRING_FILE",
    valueName: "FILE",
    description: "Gossip keyring for rotation: a JSON array of base64 keys (Consul's local.keyring) or one per line; the first encrypts, all decrypt. --gossip-key, if given too, is added as the primary.",
  },
  reconnectTimeoutMs: {
    type: "number",
    integer: true,
    default: 72 * 3_600_000,
    env: "MESHWORK_REGISTRY_RECONNECT_TIMEOUT_MS",
    description: "A failed gossip member's catalog node is deregistered after this long (Consul's reconnect_timeout, 72 h); until then its serfHealth check is critical. Members forget failed members after it too.",
  },
  gossipProbeIntervalMs: {
    type: "number",
    integer: true,
    default: 1_000,
    env: "MESHWORK_REGISTRY_GOSSIP_PROBE_INTERVAL_MS",
    description: "SWIM protocol period (Consul's gossip_lan.probe_interval); the probe timeout is half of it. Failures are declared after about suspicion-mult probe periods.",
  },
  gossipSuspicionMult: { type: "number", integer: true, default: 4, env: "MESHWORK_REGISTRY_GOSSIP_SUSPICION_MULT", description: "Suspicion timeout in probe periods, scaled by log10 of the pool size (Consul's gossip_lan.suspicion_mult)." },
} as const satisfies SettingsSpec;

/** The values of the shared gossip settings (a server's or an agent's settings have them all). */
export interface GossipConfig {
  readonly gossipPort: number;
  readonly gossipBind: string | undefined;
  readonly retryJoin: readonly string[];
  readonly retryIntervalMs: number;
  readonly gossipKey: string | undefined;
  readonly gossipKeyringFile: string | undefined;
  readonly reconnectTimeoutMs: number;
  readonly gossipProbeIntervalMs: number;
  readonly gossipSuspicionMult: number;
}

/**
 * The gossip keys, primary first (--gossip-key, then the keyring file's), checked with the join
 * addresses. Throws GossipSettingsError naming the setting and the fix.
 */
export function gossipKeysOf(config: GossipConfig): string[] {
  const keys = config.gossipKey !== undefined ? [config.gossipKey] : [];
  if (config.gossipKeyringFile !== undefined) keys.push(...readKeyringFile(config.gossipKeyringFile));
  checkGossipOptions(keys, config.retryJoin);
  if (keys.length > 0 && config.gossipPort < 0) throw new GossipSettingsError("--gossip-key / --gossip-keyring-file need gossip on: set --gossip-port (8301 in Consul, 0 picks one)");
  if (config.retryJoin.length > 0 && config.gossipPort < 0) throw new GossipSettingsError("--retry-join needs gossip on: set --gossip-port (8301 in Consul, 0 picks one)");
  return keys;
}

/** The core's protocol settings from the flags: probe timeout half the interval, reap after the reconnect timeout. */
export function gossipProtocolSettings(config: GossipConfig): Partial<GossipSettings> {
  return {
    probeIntervalMs: config.gossipProbeIntervalMs,
    probeTimeoutMs: Math.max(1, Math.floor(config.gossipProbeIntervalMs / 2)),
    suspicionMult: config.gossipSuspicionMult,
    // The core forgets dead members when the catalog would deregister them anyway.
    reapAfterMs: config.reconnectTimeoutMs,
  };
}
