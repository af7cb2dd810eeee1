// Writes the Gateway API status planGatewayStatus plans (GatewayClass, Gateway and route
// conditions, listeners' attached routes, route parents) to the `/status` subresource, as istiod's
// status writer does, through the real @kubernetes/client-node:
//   - update() (after each config or catalog change) schedules a pass; passes run one at a time,
//     and updates during one coalesce into the next;
//   - a pass plans over the cached objects and PUTs only the statuses that differ, each with the
//     resourceVersion it was planned from; a 409 (the object moved on) re-reads that object,
//     plans it again and retries, up to 5 times; other failures retry the whole pass after retryMs;
//   - our own writes come back as watch events: they change no config entry (status is not part of
//     one), and the next plan finds the status as written, so nothing is written again. Until the
//     watch delivers it, the object our PUT returned stands in for the cached one.
// Needs RBAC: update on gatewayclasses/status, gateways/status, httproutes/status,
// grpcroutes/status, tcproutes/status, tlsroutes/status (get on the objects for the re-read).
import { ApiException, CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "@meshwork/telemetry";
import { planGatewayStatus, statusObjectKey, type GatewayApiObject, type GatewayStatusInput, type GatewayStatusWrite } from "./plan-gateway-status.ts";
import { gatewayApiResource } from "./read-gateway-status-input.ts";

export interface GatewayStatusWriterOptions {
  readonly kubeConfig: KubeConfig;
  /** What the plan reads, at the start of each pass. */
  readonly read: () => Omit<GatewayStatusInput, "now">;
  readonly logger?: Logger;
  /** Retry a failed pass after this long (default 1 s). */
  readonly retryMs?: number;
  /** Wait this long after update() before a pass, so a burst of changes makes one (default 100 ms). */
  readonly delayMs?: number;
  readonly now?: () => Date;
}

export interface GatewayStatusWriter {
  /** Plans and writes again; call after each accepted config change. */
  update(): void;
  /** Resolves once no pass is scheduled or running (for tests and shutdown). */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const maxConflictRetries = 5;

/** Starts the writer; nothing is written until update() is called. */
export function startGatewayStatusWriter(options: GatewayStatusWriterOptions): GatewayStatusWriter {
  const { kubeConfig, logger } = options;
  const retryMs = options.retryMs ?? 1000;
  const delayMs = options.delayMs ?? 100;
  const now = options.now ?? (() => new Date());
  const custom = kubeConfig.makeApiClient(CustomObjectsApi);
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  /** Objects we wrote, by key: the resourceVersion written over and the object the API server returned. */
  const written = new Map<string, { readonly over: string | undefined; readonly stored: GatewayApiObject }>();

  function schedule(ms: number): void {
    if (stopped || timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      if (running !== undefined) {
        again = true;
        return;
      }
      running = pass().finally(() => {
        running = undefined;
        if (again && !stopped) {
          again = false;
          schedule(0);
        }
      });
    }, ms);
  }

  /** The cached objects, with our own writes standing in for versions the watch has not caught up with. */
  function current(objects: readonly GatewayApiObject[]): GatewayApiObject[] {
    return objects.map((object) => {
      const key = statusObjectKey(object.kind, object.metadata.namespace, object.metadata.name);
      const mine = written.get(key);
      if (mine === undefined) return object;
      if (mine.over === object.metadata.resourceVersion) return { ...mine.stored, kind: object.kind };
      written.delete(key); // the cache has moved past our write
      return object;
    });
  }

  async function pass(): Promise<void> {
    try {
      const read = options.read();
      const input: GatewayStatusInput = { ...read, objects: current(read.objects), now: now() };
      for (const write of planGatewayStatus(input)) {
        if (stopped) return;
        await writeStatus(write, input);
      }
    } catch (error) {
      logger?.warn("writing Gateway API status failed; retrying", { err: error, retryMs });
      schedule(retryMs);
    }
  }

  async function writeStatus(first: GatewayStatusWrite, input: GatewayStatusInput): Promise<void> {
    let write = first;
    for (let attempt = 0; ; attempt++) {
      try {
        const stored = await replaceStatus(write);
        written.set(statusObjectKey(write.kind, write.namespace, write.name), { over: write.resourceVersion, stored: { ...stored, kind: write.kind } });
        logger?.info("wrote Gateway API status", { kind: write.kind, namespace: write.namespace, name: write.name });
        return;
      } catch (error) {
        if (!(error instanceof ApiException && error.code === 409) || attempt >= maxConflictRetries) throw error;
      }
      // The object changed since it was cached: plan it again from a fresh read.
      const fresh = await readObject(write);
      if (fresh === undefined) return; // deleted meanwhile
      const key = statusObjectKey(write.kind, write.namespace, write.name);
      const objects = input.objects.map((o) => (statusObjectKey(o.kind, o.metadata.namespace, o.metadata.name) === key ? fresh : o));
      const next = planGatewayStatus({ ...input, objects, now: now() }).find((w) => statusObjectKey(w.kind, w.namespace, w.name) === key);
      if (next === undefined) return; // someone (another replica) already wrote what we planned
      write = next;
    }
  }

  async function replaceStatus(write: GatewayStatusWrite): Promise<GatewayApiObject> {
    const { group, version, plural } = gatewayApiResource(write.kind);
    const body = { apiVersion: `${group}/${version}`, kind: write.kind, metadata: { name: write.name, ...(write.namespace !== undefined ? { namespace: write.namespace } : {}), resourceVersion: write.resourceVersion }, status: write.status };
    const stored: unknown =
      write.namespace === undefined
        ? await custom.replaceClusterCustomObjectStatus({ group, version, plural, name: write.name, body })
        : await custom.replaceNamespacedCustomObjectStatus({ group, version, namespace: write.namespace, plural, name: write.name, body });
    return stored as GatewayApiObject;
  }

  async function readObject(write: GatewayStatusWrite): Promise<GatewayApiObject | undefined> {
    const { group, version, plural } = gatewayApiResource(write.kind);
    try {
      const object: unknown =
        write.namespace === undefined
          ? await custom.getClusterCustomObject({ group, version, plural, name: write.name })
          : await custom.getNamespacedCustomObject({ group, version, namespace: write.namespace, plural, name: write.name });
      return { ...(object as GatewayApiObject), kind: write.kind };
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }

  return {
    update: () => schedule(delayMs),
    idle: async () => {
      while (timer !== undefined || running !== undefined) {
        await (running ?? new Promise((resolve) => setTimeout(resolve, Math.min(delayMs, 20))));
      }
    },
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
