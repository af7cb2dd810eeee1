// The gossip settings shared by the registry server and `meshwork-registry agent` (Consul's server
// and client agents take the same serf_lan flags), and the one place that turns them into
// startGossip options: keys from --gossip-key and the keyring file, probe timings, the reap time.
import type { SettingsSpec } from "@meshwork/runtime";
import type { GossipSettings } from "@meshwork/gossip";
import { GossipSettingsError, checkGossipOptions, readKeyringFile } from "./start-gossip.ts";

/** Spread into a process's defineSettings({...}). */
export const gossipSettingDefinitions = {
  datacenter: {
    type: "string",
    default: "dc1",
    env: "MESHWORK_REGISTRY_DATACENTER",
    valueName: "NAME",
    description: "Datacenter of this member (Consul's datacenter): carried in its gossip tags (dc) and shown by /v1/agent/members and /v1/agent/self. Letters, digits, _ and -.",
  },
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
    description: "Encrypts and authenticates all gossip with AES-GCM (16, 24 or 32 bytes, base64; `openssl rand -base64 32`; Consul's encrypt). Every member needs it. Only seeds the keyring kept in the data dir (serf/local.keyring): once that exists it wins, and keys are rotated with /v1/operator/keyring.",
  },
  gossipKeyringFile: {
    type: "string",
    env: "MESHWORK_REGISTRY_GOSSIP_KEYRING_FILE",
    valueName: "FILE",
    description: "Gossip keyring for rotation: a JSON array of base64 keys (Consul's local.keyring) or one per line; the first encrypts, all decrypt. --gossip-key, if given too, is added as the primary. Like --gossip-key, only seeds the keyring kept in the data dir.",
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
    default: 400,
    env: "MESHWORK_REGISTRY_GOSSIP_PROBE_INTERVAL_MS",
    description:
      "SWIM protocol period (Consul's gossip_lan.probe_interval, 1 s there); the probe timeout is half of it. A dead member is declared dead within 5 s at the defaults up to 1,000 members (bench/gossip).",
  },
  gossipSuspicionMult: {
    type: "number",
    integer: true,
    default: 2,
    env: "MESHWORK_REGISTRY_GOSSIP_SUSPICION_MULT",
    description:
      "Minimum suspicion timeout in probe periods, scaled by log10 of the pool size (Consul's gossip_lan.suspicion_mult, 4 there); reached once 2 other members confirm the suspicion, a lone suspicion waits 6 times longer (Lifeguard).",
  },
} as const satisfies SettingsSpec;

/** The values of the shared gossip settings (a server's or an agent's settings have them all). */
export interface GossipConfig {
  readonly datacenter: string;
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
  checkDatacenter(config.datacenter);
  const keys = config.gossipKey !== undefined ? [config.gossipKey] : [];
  if (config.gossipKeyringFile !== undefined) keys.push(...readKeyringFile(config.gossipKeyringFile));
  checkGossipOptions(keys, config.retryJoin);
  if (keys.length > 0 && config.gossipPort < 0) throw new GossipSettingsError("--gossip-key / --gossip-keyring-file need gossip on: set --gossip-port (8301 in Consul, 0 picks one)");
  if (config.retryJoin.length > 0 && config.gossipPort < 0) throw new GossipSettingsError("--retry-join needs gossip on: set --gossip-port (8301 in Consul, 0 picks one)");
  return keys;
}

/** Consul's rule for datacenter names; throws GossipSettingsError naming --datacenter. */
export function checkDatacenter(datacenter: string): void {
  if (!/^[A-Za-z0-9_-]+$/.test(datacenter)) {
    throw new GossipSettingsError(`--datacenter ${JSON.stringify(datacenter)}: use only letters, digits, _ and - (Consul's rule), e.g. dc1 or eu-west-1`);
  }
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
