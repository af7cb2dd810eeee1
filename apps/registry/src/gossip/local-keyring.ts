// The member's persisted gossip keyring, serf's `serf/local.keyring` under the data dir: a JSON
// array of base64 keys, primary first. Written atomically after every keyring change so a restart
// keeps rotated keys; read at start, where it wins over --gossip-key (Consul ignores `encrypt`
// once a keyring file exists, and says so).
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { GossipSettingsError, checkGossipOptions, readKeyringFile } from "./start-gossip.ts";

/** Where a member with data dir `dataDir` keeps its keyring (serf's SerfLANKeyring path in Consul). */
export function localKeyringPath(dataDir: string): string {
  return join(dataDir, "serf", "local.keyring");
}

/**
 * Replaces the keyring file with `keys` (base64, primary first): a temporary file beside it, fsynced,
 * renamed over the old one, then the directory fsynced, so a crash leaves the old or the new
 * keyring, never a torn one.
 */
export function writeLocalKeyring(path: string, keys: readonly string[]): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const temp = `${path}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, `${JSON.stringify(keys)}\n`);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * The keys to start with: the keyring file's when it exists (the flag keys are then ignored, with a
 * warning), else the flag keys, which seed the file. No file and no flag keys: no encryption.
 */
export function loadLocalKeyring(
  path: string,
  flagKeys: readonly string[],
  log: (level: "info" | "warn", msg: string, fields: Record<string, unknown>) => void,
): string[] {
  if (existsSync(path)) {
    const keys = readKeyringFile(path, "the gossip keyring file");
    if (keys.length === 0) throw new GossipSettingsError(`the gossip keyring file ${path} holds no keys: delete it to seed it from --gossip-key again, or put the pool's keys in it`);
    checkGossipOptions(keys, []);
    if (flagKeys.length > 0) log("warn", "gossip keyring file exists: --gossip-key / --gossip-keyring-file ignored, using the keyring file (remove it to seed it from the flags again)", { keyringFile: path });
    return keys;
  }
  if (flagKeys.length > 0) writeLocalKeyring(path, flagKeys);
  return [...flagKeys];
}
