// Reads a registry snapshot file (GET /v1/snapshot, `meshctl registry snapshot save`) for
// `meshctl registry snapshot inspect|restore`: its header, and counts of what its state holds.
// The layout is apps/registry's src/backup/backup-file.ts (apps cannot import each other); both
// read apps/registry/testdata/backup/example.snap in their tests. Pure: the caller hashes the
// state (WebCrypto) and compares it with `sha256`.
//   "MESHWORK-REGISTRY-SNAPSHOT\n" | u16 BE format version | u32 BE header length | header JSON | state

const MAGIC = "MESHWORK-REGISTRY-SNAPSHOT\n";
/** 2: the state may hold prepared queries (same layout); version 1 files still read. */
const FORMAT_VERSIONS: readonly number[] = [1, 2];
const FIXED_BYTES = MAGIC.length + 6;

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
  const fail = (problem: string): ReadRegistrySnapshot => ({ ok: false, problem });
  const magic = new TextDecoder("latin1").decode(bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) return fail('not a registry snapshot (it does not start with "MESHWORK-REGISTRY-SNAPSHOT"); use a file saved with meshctl registry snapshot save');
  if (bytes.length < FIXED_BYTES) return fail("the snapshot is truncated (its header is cut off); save it again");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint16(MAGIC.length);
  if (!FORMAT_VERSIONS.includes(version)) return fail(`snapshot format version ${version}; this meshctl reads versions ${FORMAT_VERSIONS.join(" and ")}: use the meshctl of the registry version that saved it`);
  const headerLength = view.getUint32(MAGIC.length + 2);
  if (FIXED_BYTES + headerLength > bytes.length) return fail("the snapshot is truncated (its header is cut off); save it again");
  let header: Record<string, unknown> | null;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(FIXED_BYTES, FIXED_BYTES + headerLength))) as Record<string, unknown> | null;
  } catch {
    return fail("the snapshot's header is not JSON: the file is damaged; use another copy");
  }
  const { index, term, datacenter, stateBytes, sha256 } = header ?? {};
  const count = (value: unknown): value is number => typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
  if (!count(index) || !count(term) || !count(stateBytes) || typeof datacenter !== "string" || typeof sha256 !== "string") {
    return fail("the snapshot's header lacks index, term, datacenter, stateBytes or sha256: the file is damaged; use another copy");
  }
  const state = bytes.subarray(FIXED_BYTES + headerLength);
  if (state.length < stateBytes) return fail(`the snapshot is truncated: its header announces ${stateBytes} bytes of state, the file holds ${state.length}; save it again`);
  if (state.length > stateBytes) return fail(`the snapshot has ${state.length - stateBytes} bytes after its state: the file is damaged; use another copy`);
  return { ok: true, snapshot: { index, term, datacenter, sha256, state } };
}

/** What a saved state holds, as `meshctl registry snapshot inspect` lists it. */
export interface RegistryStateCounts {
  readonly kvKeys: number;
  readonly nodes: number;
  /** Service instances (one per node and service id). */
  readonly services: number;
  readonly checks: number;
  readonly sessions: number;
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
  return { kvKeys, nodes, services, checks, sessions };
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
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return rows.map(([name, value]) => `${name.padEnd(width + 2)}${value}\n`).join("");
}
