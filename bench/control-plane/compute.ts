// bench/control-plane/compute: the push path in ONE process, without sockets, to profile and
// iterate on what scale.ts measures end to end: the real ConfigStore (admission), the real
// DiscoveryServer with in-memory streams that protobuf-encode every response (as grpc-js would)
// and ACK it at once, and the benchmark mesh of mesh.ts. Per change it prints the wall time from
// the store update to the last response written (no debounce, no network), the process's CPU time
// over it (the in-memory proxies' ACKs included), the bytes and the responses; the median of --runs.
// A figure, not a test.
//
// usage: npx tsx --conditions=@meshwork/source bench/control-plane/compute.ts [--proxies 1000] [--services 1000] [--runs 5] [--sidecar] [--only vs|endpoint|100] [--profile FILE.cpuprofile]
//        node --cpu-prof --cpu-prof-dir=bench/control-plane/results --import tsx --conditions=@meshwork/source bench/control-plane/compute.ts
import { EventEmitter } from "node:events";
import { parseArgs } from "node:util";
import type { ServerDuplexStream } from "@grpc/grpc-js";
import { DiscoveryResponse, type DiscoveryRequest } from "@meshwork/protocol";
import { pushOrder, typeUrls, type CatalogInstance } from "@meshwork/proxy-core";
import { createLogger } from "@meshwork/telemetry";
import { ControlPlaneMetrics } from "../../apps/control-plane/src/admin/control-plane-metrics.ts";
import { ConfigStore } from "../../apps/control-plane/src/config-store/config-store.ts";
import { DiscoveryServer } from "../../apps/control-plane/src/push/discovery-server.ts";
import { storeCompiler } from "../../apps/control-plane/src/push/store-compiler.ts";
import { createMesh, namespaces, vsCount } from "./mesh.ts";

const { values: flags } = parseArgs({ options: { proxies: { type: "string", default: "1000" }, services: { type: "string", default: "1000" }, runs: { type: "string", default: "5" }, sidecar: { type: "boolean", default: false }, only: { type: "string" }, profile: { type: "string" } } });
const only = (name: string) => flags.only === undefined || flags.only === name;
const proxyCount = Number(flags.proxies);
const serviceCount = Number(flags.services);
const runs = Number(flags.runs);
const mesh = createMesh(serviceCount);

/** A grpc-js server stream as the DiscoveryServer uses it: responses are encoded and ACKed. */
class MemoryStream extends EventEmitter {
  responses = 0;
  bytes = 0;
  write(response: DiscoveryResponse): boolean {
    const wire = DiscoveryResponse.encode(response).finish();
    this.bytes += wire.length;
    this.responses += 1;
    queueMicrotask(() => this.emit("data", { node: undefined, typeUrl: response.typeUrl, versionInfo: response.versionInfo, responseNonce: response.nonce, errorDetail: undefined } satisfies DiscoveryRequest));
    return true;
  }
  end(): void {
    this.ended = true;
  }
  ended = false;
}

const toInstance = (body: ReturnType<typeof mesh.instance>): CatalogInstance => ({
  node: body.Node,
  nodeAddress: body.Address,
  serviceId: body.Service.ID,
  serviceName: body.Service.Service,
  address: body.Service.Address,
  port: body.Service.Port,
  tags: [],
  meta: { ...body.Service.Meta },
  health: "passing",
});
let removed = false;
/** The catalog as the registry watch delivers it: every instance a new object. */
const catalog = (): CatalogInstance[] =>
  Array.from({ length: serviceCount }, (_, i) => [mesh.instance(i, "a"), mesh.instance(i, "b")])
    .flat()
    .filter((b) => !(removed && b.Service.ID === "svc-7-b"))
    .map(toInstance);
const entries = new Map<string, string>();
for (let k = 0; k < vsCount; k++) {
  const e = mesh.virtualService(k, 1);
  entries.set(e.key, e.value);
}
if (flags.sidecar) for (let n = 0; n < namespaces; n++) entries.set(mesh.sidecar(n).key, mesh.sidecar(n).value);
const kv = () => [...entries].map(([key, text]) => ({ key, text }));

const store = new ConfigStore({ mesh: { domainSuffix: "cluster.local", rootNamespace: "istio-system", trustDomain: "cluster.local" }, defaultNamespace: "default", sources: ["registry"], needsCatalog: true });
store.setEntries("registry", kv());
store.setCatalog(catalog());
const server = new DiscoveryServer({
  controlPlaneId: "cp",
  compute: storeCompiler(store),
  isReady: () => store.isReady,
  timers: { now: () => Date.now(), setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
  debounce: { quietMs: 3_600_000, maxMs: 3_600_000 },
  logger: createLogger({ name: "bench", write: () => undefined }),
  metrics: new ControlPlaneMetrics({ processMetrics: false }),
});
const streams: MemoryStream[] = [];
const totals = () => streams.reduce((t, s) => ({ responses: t.responses + s.responses, bytes: t.bytes + s.bytes }), { responses: 0, bytes: 0 });
const turn = () => new Promise((r) => setImmediate(r));
/** Until a few event-loop turns pass without a response written. */
async function drained(): Promise<void> {
  let last = -1;
  let still = 0;
  while (still < 3) {
    await turn();
    const now = totals().responses;
    still = now === last ? still + 1 : 0;
    last = now;
  }
}

const start = performance.now();
for (let j = 0; j < proxyCount; j++) {
  const i = j % serviceCount;
  const stream = new MemoryStream();
  streams.push(stream);
  server.service.streamConfig(stream as unknown as ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>);
  const node = { id: `p${j}`, workload: `${mesh.serviceName(i)}-a`, namespace: mesh.nsOf(i), serviceAccount: "default", labels: { app: mesh.serviceName(i), version: "v1" }, version: "bench", kind: "sidecar" };
  pushOrder.forEach((type, n) => stream.emit("data", { node: n === 0 ? node : undefined, typeUrl: typeUrls[type], versionInfo: "", responseNonce: "", errorDetail: undefined }));
}
await drained();
const full = totals();
console.log(`full state: ${((performance.now() - start) / 1000).toFixed(2)} s, ${(full.bytes / 1e6).toFixed(0)} MB in ${full.responses} responses, RSS ${Math.round(process.memoryUsage().rss / 1e6)} MB`);

// --profile FILE: a CPU profile of the changes only (not of the full state), for Chrome DevTools / speedscope.
const inspector = flags.profile === undefined ? undefined : new (await import("node:inspector/promises")).Session();
if (inspector) {
  inspector.connect();
  await inspector.post("Profiler.enable");
  await inspector.post("Profiler.start");
}

async function measure(change: () => void): Promise<{ ms: number; cpuMs: number; bytes: number; responses: number }> {
  const before = totals();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  change();
  server.push();
  let lastWrite = t0;
  let count = before.responses;
  let still = 0;
  while (still < 3) {
    await turn();
    const now = totals().responses;
    if (now !== count) {
      lastWrite = performance.now();
      count = now;
      still = 0;
    } else still += 1;
  }
  const after = totals();
  const cpu = process.cpuUsage(cpu0);
  return { ms: Math.round(lastWrite - t0), cpuMs: Math.round((cpu.user + cpu.system) / 1000), bytes: after.bytes - before.bytes, responses: after.responses - before.responses };
}
const rows: Record<string, { ms: number; cpuMs: number; bytes: number; responses: number }[]> = { vs: [], endpoint: [], "100": [] };
for (let r = 0; r < runs; r++) {
  if (only("vs")) rows["vs"]?.push(
    await measure(() => {
      const e = mesh.virtualService(0, 2 + r);
      entries.set(e.key, e.value);
      store.setEntries("registry", kv());
    }),
  );
  if (only("endpoint")) rows["endpoint"]?.push(
    await measure(() => {
      removed = !removed;
      store.setCatalog(catalog());
    }),
  );
  if (only("100")) rows["100"]?.push(
    await measure(() => {
      for (let k = 0; k < vsCount; k++) {
        const e = mesh.virtualService(k, 10 + r);
        entries.set(e.key, e.value);
      }
      store.setEntries("registry", kv());
    }),
  );
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] ?? NaN;
console.log(`${proxyCount} proxies, ${serviceCount} services, ${vsCount} VirtualServices${flags.sidecar ? ", Sidecar per namespace" : ""}; median of ${runs} (store update → last response written, in process)`);
for (const name of ["vs", "endpoint", "100"]) {
  const list = rows[name] ?? [];
  if (list.length === 0) continue;
  console.log(`  ${name.padEnd(9)} ${String(median(list.map((x) => x.ms))).padStart(6)} ms  [${list.map((x) => x.ms).join(", ")}]  CPU ${median(list.map((x) => x.cpuMs))} ms  ${(median(list.map((x) => x.bytes)) / 1e6).toFixed(2)} MB wire  ${median(list.map((x) => x.responses))} responses`);
}
if (inspector && flags.profile) {
  const { profile } = await inspector.post("Profiler.stop");
  (await import("node:fs")).writeFileSync(flags.profile, JSON.stringify(profile));
  console.log(`profile: ${flags.profile}`);
}
console.log(`RSS ${Math.round(process.memoryUsage().rss / 1e6)} MB, heap used ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB`);
server.close();
