// bench/proxy-core: nanoseconds per findRoute() over a route table of 1,000 virtual hosts × 5
// routes (header, prefix, regex, method+prefix and a weighted default), and per load-balancer
// pick over 100 endpoints. Prints medians of several runs; asserts nothing (timing is not a test).
// Across many hosts the cost is dominated by cache misses (see the hot-host line for contrast).
// Usage: npx tsx --conditions=@meshwork/source bench/proxy-core/find-route.ts [hosts=1000] [runs=5]
import type { MeshResource } from "@meshwork/config";
import {
  compileRouteTable,
  createLeastRequestBalancer,
  createMaglevBalancer,
  createRandomBalancer,
  createRingHashBalancer,
  createRoundRobinBalancer,
  findRoute,
  hashString,
  pickWeighted,
  type Endpoint,
  type LoadBalancer,
  type RouteRequest,
} from "@meshwork/proxy-core";

const hostCount = Number(process.argv[2] ?? 1000);
const runs = Number(process.argv[3] ?? 5);

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function virtualService(i: number): MeshResource<"VirtualService"> {
  const host = `svc-${i}`;
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "VirtualService",
    metadata: { name: host, namespace: "default" },
    spec: {
      hosts: [host],
      http: [
        { name: "jason", match: [{ headers: { "end-user": { exact: "jason" } } }], route: [{ destination: { host, subset: "v2" } }] },
        { name: "api-v2", match: [{ uri: { prefix: "/api/v2/" } }], rewrite: { uri: "/v2/" }, route: [{ destination: { host, subset: "v2" } }] },
        { name: "items", match: [{ uri: { regex: "/items/[0-9]+" } }], route: [{ destination: { host, subset: "v1" } }] },
        { name: "upload", match: [{ method: { exact: "POST" }, uri: { prefix: "/upload" } }], timeout: 30_000, route: [{ destination: { host, subset: "v1" } }] },
        {
          name: "default",
          route: [
            { destination: { host, subset: "v1" }, weight: 90 },
            { destination: { host, subset: "v2" }, weight: 10 },
          ],
        },
      ],
    },
  };
}

function destinationRule(i: number): MeshResource<"DestinationRule"> {
  return {
    apiVersion: "networking.istio.io/v1",
    kind: "DestinationRule",
    metadata: { name: `svc-${i}`, namespace: "default" },
    spec: { host: `svc-${i}`, subsets: [{ name: "v1", labels: { version: "v1" } }, { name: "v2", labels: { version: "v2" } }] },
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * CPU ns per call of `body(i)` over `iterations` calls, median of `runs` runs after a warm-up run.
 * CPU time (user + system of this process), not wall time: the machine is shared, and time spent
 * descheduled is not the code's cost.
 */
function measure(iterations: number, body: (i: number) => unknown): number {
  let sink = 0;
  const samples: number[] = [];
  for (let r = 0; r <= runs; r++) {
    const start = process.cpuUsage();
    for (let i = 0; i < iterations; i++) if (body(i) !== undefined) sink++;
    const used = process.cpuUsage(start);
    const ns = ((used.user + used.system) * 1000) / iterations;
    if (r > 0) samples.push(ns);
  }
  if (sink === -1) console.log("unreachable");
  return median(samples);
}

const vss = Array.from({ length: hostCount }, (_, i) => virtualService(i));
const drs = Array.from({ length: hostCount }, (_, i) => destinationRule(i));
const compileStart = process.hrtime.bigint();
const table = compileRouteTable(vss, drs, { namespace: "default", domainSuffix: "cluster.local" });
const compileMs = Number(process.hrtime.bigint() - compileStart) / 1e6;

const random = seeded(1);
const shapes: Pick<RouteRequest, "method" | "path" | "headers">[] = [
  { method: "GET", path: "/reviews/1", headers: { "end-user": "jason" } },
  { method: "GET", path: "/api/v2/things", headers: {} },
  { method: "GET", path: "/items/12345", headers: {} },
  { method: "POST", path: "/upload/file", headers: {} },
  { method: "GET", path: "/productpage", headers: { "user-agent": "curl" } },
];
const requests: RouteRequest[] = Array.from({ length: 4096 }, (_, i) => {
  const shape = shapes[i % shapes.length] as (typeof shapes)[number];
  const host = Math.floor(random() * hostCount);
  const authority = i % 3 === 0 ? `svc-${host}.default.svc.cluster.local` : i % 3 === 1 ? `svc-${host}:9080` : `svc-${host}`;
  return { ...shape, authority, query: "", scheme: "http", port: 9080, sourceLabels: { app: "productpage" }, sourceNamespace: "default", gateway: "mesh" };
});
const mask = requests.length - 1;

const results: [string, number][] = [];
results.push(["findRoute, one hot virtual host (default route, after 4 misses)", measure(1_000_000, () => findRoute(table, requests[4] as RouteRequest))]);
results.push(["findRoute (mixed: header, prefix, regex, method, default)", measure(200_000, (i) => findRoute(table, requests[i & mask] as RouteRequest))]);
for (const [s, shape] of shapes.entries()) {
  const subset = requests.filter((_, i) => i % shapes.length === s);
  const m = subset.length - 1;
  results.push([`findRoute → route ${s} (${shape.method} ${shape.path})`, measure(100_000, (i) => findRoute(table, subset[i % m] as RouteRequest))]);
}
const defaultRoute = findRoute(table, requests[4] as RouteRequest);
if (defaultRoute.type === "route" && defaultRoute.action.type === "forward") {
  const action = defaultRoute.action;
  results.push(["pickWeighted (90/10)", measure(5_000_000, () => pickWeighted(action, random()))]);
}

const endpoints: Endpoint[] = Array.from({ length: 100 }, (_, i) => ({
  address: `10.0.${i >> 8}.${i & 255}:8080`,
  weight: 1 + (i % 3),
  healthy: true,
  locality: { region: "eu", zone: "eu-1", subZone: "" },
}));
const active = new Int32Array(endpoints.length);
const keys = Uint32Array.from({ length: 4096 }, (_, i) => hashString(`user-${i}`));
const balancers: [string, LoadBalancer, boolean][] = [
  ["LEAST_REQUEST (P2C, weighted)", createLeastRequestBalancer(endpoints, { random, activeRequests: (i) => active[i] ?? 0 }), false],
  ["ROUND_ROBIN (smooth weighted)", createRoundRobinBalancer(endpoints), false],
  ["RANDOM (weighted)", createRandomBalancer(endpoints, random), false],
  ["RING_HASH (min 1024)", createRingHashBalancer(endpoints, { random }), true],
  ["MAGLEV (65537)", createMaglevBalancer(endpoints, { random }), true],
];
for (const [name, lb, hashed] of balancers) {
  results.push([`pick ${name}, 100 endpoints`, measure(5_000_000, hashed ? (i) => lb.pick(keys[i & 4095]) : () => lb.pick())]);
}
results.push(["hashString (16-char key)", measure(5_000_000, (i) => hashString(i & 1 ? "user-1234567890a" : "user-1234567890b"))]);

console.log(`route table: ${hostCount} virtual hosts × 5 routes, compiled in ${compileMs.toFixed(1)} ms; ${table.issues.length} issues`);
console.log(`CPU ns per call, median of ${runs} runs (after a warm-up run), node ${process.version}`);
for (const [name, ns] of results) console.log(`${ns.toFixed(1).padStart(8)} ns  ${name}`);
