// Reads a registry snapshot file (GET /v1/snapshot, `meshctl registry snapshot save`) for
// `meshctl registry snapshot inspect|restore`: its header (through @meshwork/protocol's
// registry-snapshot codec, the registry's own), and counts of what its state holds. Pure: the
// caller hashes the state (WebCrypto) and compares it with `sha256`.
import { decodeRegistrySnapshotFile } from "@meshwork/protocol/registry-snapshot";

export interface RegistrySnapshotHeader {
  readonly index: number;
  readonly term: number;
  readonly datacenter: string;
  /** Hex SHA-256 the state must have. */
  readonly sha256: string;
  /** The state bytes (RegistryState's canonical JSON). */
  readonly state: Uint8Array;
}

export type ReadRegistrySnapshot = { readonly ok: true; readonly snapshot: RegistrySnapshotHeader } | { readonly ok: false; readonly problem: string };

/** The header and state of `bytes`; the problem (with what to do) when it is not a whole snapshot file. */
export function readRegistrySnapshot(bytes: Uint8Array): ReadRegistrySnapshot {
  const decoded = decodeRegistrySnapshotFile(bytes);
  return decoded.ok ? { ok: true, snapshot: decoded.file } : { ok: false, problem: decoded.message };
}

/** What a saved state holds, as `meshctl registry snapshot inspect` lists it. */
export interface RegistryStateCounts {
  readonly kvKeys: number;
  readonly nodes: number;
  /** Service instances (one per node and service id). */
  readonly services: number;
  readonly checks: number;
  readonly sessions: number;
  /** Prepared queries (none in a version 1 state, which has no list of them). */
  readonly queries: number;
}

/** Counts the parts of a saved state; undefined when the bytes are not one. */
export function countRegistryState(state: Uint8Array): RegistryStateCounts | undefined {
  let data: Record<string, unknown> | null;
  try {
    data = JSON.parse(new TextDecoder().decode(state)) as Record<string, unknown> | null;
  } catch {
    return undefined;
  }
  const length = (key: string): number | undefined => {
    const value = data?.[key];
    return Array.isArray(value) ? value.length : undefined;
  };
  const [kvKeys, nodes, services, checks, sessions] = ["kv", "nodes", "services", "checks", "sessions"].map(length);
  if (kvKeys === undefined || nodes === undefined || services === undefined || checks === undefined || sessions === undefined) return undefined;
  return { kvKeys, nodes, services, checks, sessions, queries: length("queries") ?? 0 };
}

/** The lines `inspect` prints, aligned like `consul snapshot inspect`. */
export function formatRegistrySnapshot(snapshot: Pick<RegistrySnapshotHeader, "index" | "term" | "datacenter" | "state">, counts: RegistryStateCounts): string {
  const rows: [string, string][] = [
    ["Index", String(snapshot.index)],
    ["Term", String(snapshot.term)],
    ["Datacenter", snapshot.datacenter],
    ["State bytes", String(snapshot.state.length)],
    ["KV keys", String(counts.kvKeys)],
    ["Nodes", String(counts.nodes)],
    ["Services", String(counts.services)],
    ["Checks", String(counts.checks)],
    ["Sessions", String(counts.sessions)],
    ["Queries", String(counts.queries)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width + 2)}${value}\n`).join("");
}
