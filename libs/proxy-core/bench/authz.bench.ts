// Nanoseconds per AuthorizationEngine.evaluate() (and checkCustom) with 100 policies selecting one
// workload: 60 ALLOW (principals / namespaces + methods + paths), 30 DENY (ipBlocks, headers,
// notPrincipals), 10 with JWT claim conditions. Requests: one allowed late in the list, one denied
// by the last DENY policy, one that matches nothing (every rule evaluated). Prints medians of
// several runs; asserts nothing (timing is not a test). Goal (issue 7): ≤ 5 µs per request.
// Usage: npx tsx --conditions=@meshwork/source libs/proxy-core/bench/authz.bench.ts [runs=7]
import { loadavg } from "node:os";
import type { MeshResource } from "@meshwork/config";
import type { AuthzRequest } from "../src/authz/authz-request.ts";
import { compileAuthorization } from "../src/authz/compile-authorization.ts";

type Policy = MeshResource<"AuthorizationPolicy">;
const runs = Number(process.argv[2] ?? 7);

function policy(name: string, spec: Policy["spec"]): Policy {
  return { apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name, namespace: "foo" }, spec };
}

const policies: Policy[] = [];
for (let i = 0; i < 60; i++) {
  policies.push(
    policy(`allow-${String(i).padStart(2, "0")}`, {
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { principals: [`cluster.local/ns/ns-${i}/sa/client`, `cluster.local/ns/ns-${i}/sa/other`] } }, { source: { namespaces: [`team-${i}`] } }],
          to: [{ operation: { methods: ["GET", "HEAD"], paths: [`/api/v${i}/*`, `/static/${i}/{*}/logo`] } }, { operation: { methods: ["POST"], paths: [`/api/v${i}/items`] } }],
        },
      ],
    }),
  );
}
for (let i = 0; i < 30; i++) {
  policies.push(
    policy(`deny-${String(i).padStart(2, "0")}`, {
      action: "DENY",
      rules: [
        { from: [{ source: { ipBlocks: [`192.168.${i}.0/24`, `2001:db8:${i}::/48`] } }] },
        { to: [{ operation: { paths: [`/admin/${i}*`] } }], when: [{ key: "request.headers[x-debug]", values: [`secret-${i}`] }] },
      ],
    }),
  );
}
for (let i = 0; i < 10; i++) {
  policies.push(
    policy(`jwt-${i}`, {
      action: "ALLOW",
      rules: [
        {
          from: [{ source: { requestPrincipals: [`https://issuer-${i}.example.com/*`] } }],
          when: [
            { key: "request.auth.claims[groups]", values: [`group-${i}`] },
            { key: "request.auth.claims[org][team]", values: [`team-${i}`] },
          ],
        },
      ],
    }),
  );
}

const engine = compileAuthorization(policies, { namespace: "foo", labels: { app: "api" } }, { rootNamespace: "istio-system", trustDomain: "cluster.local" });
const headers = new Map([["x-debug", "nope"], ["user-agent", "bench"]]);
const header = (name: string) => headers.get(name);
const base: AuthzRequest = {
  host: "api.foo.svc.cluster.local:8080",
  method: "GET",
  headers: header,
  sourceIp: "10.20.30.40",
  destinationIp: "10.0.0.9",
  destinationPort: 8080,
  requestAuth: { claims: { iss: "https://issuer-9.example.com", sub: "alice", groups: ["group-9"], org: { team: "team-8" } } },
};
const requests: Record<string, AuthzRequest> = {
  "allowed by allow-59": { ...base, path: "/api/v59/orders?page=2", sourcePrincipal: "cluster.local/ns/ns-59/sa/client" },
  "denied by deny-29": { ...base, path: "/x", sourceIp: "192.168.29.7", sourcePrincipal: "cluster.local/ns/ns-1/sa/client" },
  "matches nothing": { ...base, path: "/nowhere", sourcePrincipal: "cluster.local/ns/elsewhere/sa/x" },
  "plaintext, no JWT": { host: "api", method: "GET", path: "/nowhere", headers: header, sourceIp: "10.1.1.1", destinationPort: 8080 },
};

/** Wall and CPU ns per evaluate (CPU: this thread's user + system time, which other tenants' load does not inflate). */
function measure(request: AuthzRequest, iterations: number): { wallNs: number; cpuNs: number } {
  let sink = 0;
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) if (engine.evaluate(request).type === "allow") sink++;
  const wallNs = Number(process.hrtime.bigint() - start) / iterations;
  const used = process.cpuUsage(cpu);
  if (sink < 0) console.log(sink);
  return { wallNs, cpuNs: ((used.user + used.system) * 1000) / iterations };
}

// Calibration: this box's speed and load, so figures from a busy machine can be read for what they are.
let calibrationSink = 0;
const calibrationStart = process.hrtime.bigint();
for (let i = 0; i < 50_000_000; i++) calibrationSink += i & 3;
const loopNs = Number(process.hrtime.bigint() - calibrationStart) / 50_000_000;
console.log(`calibration: ${loopNs.toFixed(2)} ns per trivial loop iteration (≈0.3 ns on an idle modern core), load average ${loadavg()[0]?.toFixed(1)}${calibrationSink < 0 ? "!" : ""}`);
console.log(`authz bench: ${policies.length} policies (${engine.policies.filter((p) => p.action === "ALLOW").length} ALLOW, ${engine.policies.filter((p) => p.action === "DENY").length} DENY), median of ${runs} runs`);
for (const [name, request] of Object.entries(requests)) {
  const decision = engine.evaluate(request);
  for (let w = 0; w < 3; w++) measure(request, 20_000);
  const samples = Array.from({ length: runs }, () => measure(request, 100_000));
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  const wall = median(samples.map((x) => x.wallNs));
  const cpu = median(samples.map((x) => x.cpuNs));
  console.log(`${name.padEnd(22)} ${decision.type.padEnd(5)} ${wall.toFixed(0).padStart(6)} ns/evaluate wall, ${cpu.toFixed(0).padStart(6)} ns CPU`);
}
const custom = requests["matches nothing"] as AuthzRequest;
const start = process.hrtime.bigint();
for (let i = 0; i < 1_000_000; i++) engine.checkCustom(custom);
console.log(`checkCustom (no CUSTOM policy)   ${(Number(process.hrtime.bigint() - start) / 1_000_000).toFixed(0).padStart(6)} ns`);
