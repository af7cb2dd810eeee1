// The one way the suite changes the mesh's config: applyYaml / deleteYaml send Istio YAML to the
// control plane's config API (POST / DELETE /api/v1/config, what `meshctl apply` / `delete` call),
// then wait until it is in force: every control-plane replica serves the resources as applied
// (their specs, not only their names), and every proxy (6 bookinfo sidecars + the ingress gateway)
// is SYNCED in /debug/syncz at the revision its replica serves (it ACKed what was pushed). Tests
// poll behaviour on top of that only where a page says "wait a few seconds".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import type { MeshEndpoints } from "./local-mesh.ts";

/** 6 bookinfo sidecars and the ingress gateway. */
export const EXPECTED_PROXIES = 7;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ResourceId {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** The kind/namespace/name of every document of `yaml` (namespace "default" when it names none). */
export function resourceIds(yaml: string): ResourceId[] {
  return parseAllDocuments(yaml)
    .map((d) => d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null)
    .filter((d): d is { kind: string; metadata: { name: string; namespace?: string } } => typeof d?.kind === "string" && typeof d.metadata?.name === "string")
    .map((d) => ({ kind: d.kind, namespace: d.metadata.namespace ?? "default", name: d.metadata.name }));
}

export function fixture(name: string): string {
  return readFileSync(join(import.meta.dirname, "../fixtures", name), "utf8");
}

interface Served {
  readonly revision: string;
  readonly resources: readonly { readonly kind: string; readonly metadata: { readonly name: string; readonly namespace?: string } }[];
}

async function served(controlPlane: string): Promise<Served> {
  const response = await fetch(`${controlPlane}/api/v1/config`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${controlPlane}/api/v1/config: HTTP ${response.status}: ${await response.text()}`);
  return (await response.json()) as Served;
}

async function servedOrUndefined(controlPlane: string): Promise<Served | undefined> {
  try {
    return await served(controlPlane);
  } catch {
    return undefined;
  }
}

const servedAs = (s: Served, id: ResourceId) => s.resources.find((r) => r.kind === id.kind && r.metadata.name === id.name && (r.metadata.namespace ?? "default") === id.namespace);
const has = (s: Served, id: ResourceId) => servedAs(s, id) !== undefined;
/** What replica `s` serves for `id`, as JSON ("null" when absent). */
const contentOf = (s: Served, id: ResourceId): string => JSON.stringify(servedAs(s, id) ?? null);

/**
 * Whether every reachable replica serves each of `ids` as applied. A resource of the same name is
 * not enough: re-applying a changed one (bookinfo's productpage DestinationRule, say) leaves the
 * old one served until the replica has read the write. So once any replica serves a resource
 * differently than before the apply, every replica must serve the same; while none does, the
 * apply changed nothing (or no replica has read it yet: waitForConfig's revision wait covers that).
 */
function servesApplied(now: readonly (Served | undefined)[], before: readonly (Served | undefined)[], ids: readonly ResourceId[]): boolean {
  const reachable = now.flatMap((s, i) => (s === undefined ? [] : [{ s, was: before[i] }]));
  return (
    reachable.length > 0 &&
    ids.every((id) => {
      if (!reachable.every(({ s }) => has(s, id))) return false;
      const changed = reachable.find(({ s, was }) => was !== undefined && contentOf(s, id) !== contentOf(was, id));
      return changed === undefined || reachable.every(({ s }) => contentOf(s, id) === contentOf(changed.s, id));
    })
  );
}

/** Applies `yaml` through the control plane's config API and waits until every proxy runs it. */
export async function applyYaml(mesh: MeshEndpoints, yaml: string, namespace = "default"): Promise<void> {
  const before = await Promise.all(mesh.controlPlanes.map(servedOrUndefined));
  const response = await postConfig(mesh, yaml, namespace);
  if (response.status !== 200) throw new Error(`the control plane rejected the config (HTTP ${response.status}): ${response.body}\n--- YAML ---\n${yaml}`);
  const ids = resourceIds(yaml).map((id) => ({ ...id, namespace: resourceNamespace(yaml, id, namespace) }));
  await waitForConfig(mesh, before, (now) => servesApplied(now, before, ids), `apply of ${ids.map(describe).join(", ")}`);
}

/** Deletes the resources `yaml` defines (those absent are fine) and waits until every proxy runs without them. */
export async function deleteYaml(mesh: MeshEndpoints, yaml: string, namespace = "default"): Promise<void> {
  const before = await Promise.all(mesh.controlPlanes.map(servedOrUndefined));
  const ids = resourceIds(yaml).map((id) => ({ ...id, namespace: resourceNamespace(yaml, id, namespace) }));
  let deleted = 0;
  for (const id of ids) {
    const response = await fetchAnyReplica(mesh, `/api/v1/config/${id.kind}/${encodeURIComponent(id.namespace)}/${encodeURIComponent(id.name)}`, { method: "DELETE" });
    if (response.status === 200) deleted++;
    else if (response.status !== 404) throw new Error(`DELETE ${describe(id)}: HTTP ${response.status}: ${response.body}`);
  }
  if (deleted === 0) return;
  await waitForConfig(mesh, before, (now) => now.every((s) => s === undefined || ids.every((id) => !has(s, id))), `delete of ${ids.map(describe).join(", ")}`);
}

function resourceNamespace(yaml: string, id: ResourceId, fallback: string): string {
  // resourceIds fills "default"; a document without a namespace takes the request's.
  const explicit = parseAllDocuments(yaml).some((d) => {
    const js = d.toJS() as { kind?: string; metadata?: { name?: string; namespace?: string } } | null;
    return js?.kind === id.kind && js.metadata?.name === id.name && js.metadata.namespace !== undefined;
  });
  return explicit ? id.namespace : fallback;
}

const describe = (id: ResourceId) => `${id.kind} ${id.namespace}/${id.name}`;

async function postConfig(mesh: MeshEndpoints, yaml: string, namespace: string): Promise<{ status: number; body: string }> {
  return fetchAnyReplica(mesh, `/api/v1/config?namespace=${encodeURIComponent(namespace)}`, { method: "POST", headers: { "content-type": "application/yaml" }, body: yaml });
}

/** The first control-plane replica that answers (a drill may have killed one). */
async function fetchAnyReplica(mesh: MeshEndpoints, path: string, init: RequestInit): Promise<{ status: number; body: string }> {
  let last: unknown;
  for (const base of mesh.controlPlanes) {
    try {
      const response = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
      return { status: response.status, body: await response.text() };
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`no control-plane replica answered ${path}: ${String(last)}`);
}

export interface SyncEntry {
  readonly proxy: string;
  readonly workload?: string;
  readonly kind?: string;
  readonly controlPlane: string;
  /** The config revision the replica last computed this proxy's config from. */
  readonly revision?: string;
  readonly state: string;
}

/** Every proxy connected to any replica, from each replica's /debug/syncz. */
export async function syncStatus(mesh: MeshEndpoints): Promise<SyncEntry[]> {
  return (await Promise.all(mesh.controlPlanes.map(replicaSyncStatus))).flat();
}

async function replicaSyncStatus(controlPlane: string): Promise<SyncEntry[]> {
  try {
    const response = await fetch(`${controlPlane}/debug/syncz`, { signal: AbortSignal.timeout(5000) });
    return response.ok ? ((await response.json()) as SyncEntry[]) : [];
  } catch {
    return []; // a replica that is down has no proxies
  }
}

/**
 * Waits until the reachable replicas serve configs satisfying `holds` (given every replica's, down
 * ones undefined), each at a newer revision than before (or for 3 s: an apply that changes nothing
 * makes none), then until /debug/syncz shows EXPECTED_PROXIES proxies, each
 * SYNCED at the revision its replica serves, twice in a row. (SYNCED alone is not enough: until
 * the debounced push starts, every proxy is still SYNCED at the revision before the change.)
 */
async function waitForConfig(mesh: MeshEndpoints, before: readonly (Served | undefined)[], holds: (now: readonly (Served | undefined)[]) => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const revisionDeadline = Date.now() + 3000;
  for (;;) {
    const now = await Promise.all(mesh.controlPlanes.map(servedOrUndefined));
    const reachable = now.map((s, i) => ({ s, b: before[i] })).filter((x): x is { s: Served; b: Served | undefined } => x.s !== undefined);
    const ok = reachable.length > 0 && holds(now) && reachable.every(({ s, b }) => b === undefined || s.revision !== b.revision || Date.now() > revisionDeadline);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`${what}: the control planes do not serve it after ${timeoutMs} ms (revisions ${now.map((s) => s?.revision ?? "down").join(", ")})`);
    await sleep(100);
  }
  let stable = 0;
  const noneSince = Date.now();
  for (;;) {
    const replicas = await Promise.all(mesh.controlPlanes.map(async (base) => ({ served: await servedOrUndefined(base), proxies: await replicaSyncStatus(base) })));
    const status = replicas.flatMap((r) => r.proxies.map((p) => ({ ...p, servedRevision: r.served?.revision })));
    if (status.length === 0 && Date.now() - noneSince > 5000) {
      throw new Error(`${what}: no proxy is connected to any control-plane replica (${mesh.controlPlanes.map((c) => `${c}/debug/syncz`).join(", ")} list none): are the sidecars in managed mode?`);
    }
    const synced = status.length >= EXPECTED_PROXIES && status.every((s) => s.state === "SYNCED" && s.revision === s.servedRevision);
    stable = synced ? stable + 1 : 0;
    if (stable >= 2) return;
    if (Date.now() > deadline) {
      const detail = status.length === 0 ? "no proxy is connected to any control-plane replica (are the sidecars in managed mode?)" : status.map((s) => `${s.proxy}@${s.controlPlane}: ${s.state} at revision ${s.revision ?? "none"} of ${s.servedRevision ?? "?"}`).join(", ");
      throw new Error(`${what}: the proxies did not converge within ${timeoutMs} ms: ${status.length}/${EXPECTED_PROXIES} connected; ${detail}`);
    }
    await sleep(200);
  }
}

/** Polls `check` until it returns without throwing (the last error is rethrown at the deadline). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(intervalMs);
    }
  }
}
