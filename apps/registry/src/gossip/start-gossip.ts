// Starts this registry server's gossip member: the pure core (@meshwork/gossip's Memberlist) on
// GossipTransport (UDP + TCP), with the AES-GCM keyring when a key is configured, Consul-style
// retry-join (join any of the given addresses, again every retry interval until this member knows
// another live one), membership events for the leader's reconcile, the keyring operations of
// `consul keyring` (serf's internal key queries, answered here), and a graceful leave.
import { readFileSync } from "node:fs";
import { KeyManager, Keyring, Memberlist, encodeKey, keyOperationOf } from "@meshwork/gossip";
import type { ForceLeaveOutcome, GossipEvent, GossipSettings, KeyOperation, KeyOperationResult, MemberView } from "@meshwork/gossip";
import { aesGcmCipher } from "./aes-gcm-cipher.ts";
import { GossipTransport } from "./gossip-transport.ts";

/** A configuration error (main prints it and exits 2). */
export class GossipSettingsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GossipSettingsError";
  }
}

export interface GossipOptions {
  readonly name: string;
  readonly bindHost: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly advertiseHost: string;
  readonly tags: Readonly<Record<string, string>>;
  /** Gossip addresses ("host:port") to join; empty: wait to be joined. */
  readonly join: readonly string[];
  readonly retryIntervalMs: number;
  /** Base64 keys (16, 24 or 32 bytes), the first is the primary; empty: no encryption. */
  readonly keys: readonly string[];
  readonly settings?: Partial<GossipSettings>;
  /**
   * Persists the keyring (base64 keys, primary first) after a key query changed it; throwing makes
   * this member answer the operation with the error. Omitted: changes last until the process exits.
   */
  readonly onKeyringChanged?: (keys: readonly string[]) => void;
  readonly onEvent?: (event: GossipEvent) => void;
  readonly log?: (level: "info" | "warn", msg: string, fields: Record<string, unknown>) => void;
}

export interface RunningGossip {
  /** This member's gossip address, "host:port". */
  readonly address: string;
  readonly core: Memberlist;
  members(): readonly MemberView[];
  /** Joins through the members at these "host:port" addresses (a push/pull with each; Consul's `join`). */
  join(addresses: readonly string[]): void;
  /** Fires a user event over the pool (serf's UserEvent); every member, this one included, gets a `user-event-received`. */
  userEvent(name: string, payload: Uint8Array): void;
  /**
   * Runs a keyring operation on every member of the pool (serf's KeyManager; Consul's
   * /v1/operator/keyring) and resolves with the tally once the query times out.
   */
  keyringOperation(operation: KeyOperation, key: Uint8Array | undefined): Promise<KeyOperationResult>;
  /**
   * Forces a failed member out of the pool (Consul's force-leave; `prune` forgets it at once).
   * What it did here, or why nothing was sent (an unknown member, this member itself).
   */
  forceLeave(name: string, prune: boolean): ForceLeaveOutcome;
  /** Gossips the departure, waits for it to spread (bounded), closes. */
  leave(): Promise<void>;
  /** Closes without leaving (others will detect a failure). */
  close(): Promise<void>;
}

/** Decodes one base64 key; names the setting and the fix on a bad one. */
export function decodeGossipKey(key: string, where: string): Uint8Array {
  const trimmed = key.trim();
  const bytes = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || ![16, 24, 32].includes(bytes.length)) {
    throw new GossipSettingsError(`${where}: a gossip key is 16, 24 or 32 bytes in base64, got ${JSON.stringify(trimmed.slice(0, 8))}…; generate one with \`openssl rand -base64 32\``);
  }
  return new Uint8Array(bytes);
}

/**
 * Reads a keyring file: a JSON array of base64 keys (Consul's `local.keyring`) or one key per line;
 * the first key is the primary (encryption) key.
 */
export function readKeyringFile(path: string, where = "--gossip-keyring-file"): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new GossipSettingsError(`cannot read ${where} ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch {
      throw new GossipSettingsError(`${where} ${path}: not valid JSON; use ["KEY1", "KEY2"] or one base64 key per line`);
    }
    if (!Array.isArray(parsed) || !parsed.every((k) => typeof k === "string")) throw new GossipSettingsError(`${where} ${path}: expected a JSON array of base64 strings`);
    return parsed as string[];
  }
  return trimmed.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#"));
}

/** Checks the keys and join addresses before anything starts; throws GossipSettingsError naming the setting. */
export function checkGossipOptions(keys: readonly string[], join: readonly string[]): Uint8Array[] {
  for (const address of join) {
    if (!/^(\[[^\]]+\]|[^\s:/]+):\d{1,5}$/.test(address)) throw new GossipSettingsError(`--retry-join "${address}" is not HOST:PORT of a gossip member, e.g. 10.0.0.5:8301`);
  }
  return keys.map((key, i) => decodeGossipKey(key, i === 0 ? "--gossip-key" : `gossip key #${i + 1}`));
}

export async function startGossip(options: GossipOptions): Promise<RunningGossip> {
  const keys = checkGossipOptions(options.keys, options.join);
  // The core encrypts with this very keyring object, so a key query's change applies to the next packet.
  const keyring = keys.length > 0 ? new Keyring(keys) : undefined;
  const onKeyringChanged = options.onKeyringChanged;
  const keyManager = new KeyManager({
    keyring,
    ...(onKeyringChanged !== undefined ? { onKeyringChanged: (changed: readonly Uint8Array[]) => onKeyringChanged(changed.map(encodeKey)) } : {}),
  });
  // Filled once the transport exists: events may in principle arrive before `start` resolves.
  const started: { transport?: GossipTransport<GossipEvent> } = {};
  const transport = await GossipTransport.start<GossipEvent>({
    bindHost: options.bindHost,
    port: options.port,
    advertiseHost: options.advertiseHost,
    createCore: (address) =>
      new Memberlist({
        name: options.name,
        address,
        tags: options.tags,
        nowMs: Date.now(),
        random: Math.random,
        ...(options.settings !== undefined ? { settings: options.settings } : {}),
        ...(keyring !== undefined ? { keyring, cipher: aesGcmCipher } : {}),
      }),
    onEvent: (event) => {
      if (event.type === "query-received" && keyOperationOf(event.name) !== undefined) {
        // Answered in a turn of its own: the transport is delivering this flush's events now.
        queueMicrotask(() => started.transport?.act((core) => void keyManager.handle(core as Memberlist, event)));
      } else if (event.type === "query-completed" && started.transport !== undefined) {
        keyManager.handle(started.transport.core as Memberlist, event);
      }
      options.onEvent?.(event);
    },
  });
  started.transport = transport;
  const core = transport.core as Memberlist;
  let retry: ReturnType<typeof setInterval> | undefined;
  if (options.join.length > 0) {
    const tryJoin = (): void => {
      if (core.liveMembers > 1) {
        if (retry !== undefined) clearInterval(retry);
        retry = undefined;
        return;
      }
      options.log?.("info", "joining the gossip pool", { addresses: options.join });
      transport.act(() => core.join(options.join.filter((address) => address !== transport.address)));
    };
    tryJoin();
    retry = setInterval(tryJoin, options.retryIntervalMs);
    retry.unref();
  }
  const stopRetry = (): void => {
    if (retry !== undefined) clearInterval(retry);
    retry = undefined;
  };
  return {
    address: transport.address,
    core,
    members: () => core.members(),
    join: (addresses) => transport.act(() => core.join(addresses)),
    userEvent: (name, payload) => transport.act(() => void core.userEvent(name, payload)),
    forceLeave: (name, prune) => {
      let outcome: ForceLeaveOutcome = { ok: false, reason: "unknown-member" };
      transport.act(() => void (outcome = core.forceLeave(name, { prune })));
      return outcome;
    },
    keyringOperation: (operation, key) => {
      let sent: Promise<KeyOperationResult> | undefined;
      transport.act(() => (sent = keyManager.send(core, operation, key)));
      return sent ?? Promise.reject(new Error("gossip is closed: the keyring operation was not sent"));
    },
    leave: async () => {
      stopRetry();
      await transport.leave();
    },
    close: async () => {
      stopRetry();
      await transport.close();
    },
  };
}
