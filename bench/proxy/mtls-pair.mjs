#!/usr/bin/env node
// Two sidecars in a row for bench/proxy/mtls.mjs (the lab's `custom` PROXY_CMD): a client sidecar
// whose outbound port is the lab's {PORT} (18000), and a server sidecar whose inbound port (18001)
// fronts the lab's upstream (18080). MODE=mtls: the server is STRICT and the client originates
// ISTIO_MUTUAL (auto mTLS: the endpoint has security.istio.io/tlsMode: istio); MODE=plain: the
// same without TLS (DISABLE, no tlsMode label). MTLS_PAIR_SERVER_PORT / MTLS_PAIR_UPSTREAM_PORT
// move the server sidecar and the upstream (mtls-ab.mjs runs two pairs at once). MTLS_PAIR_H2=1
// adds a DestinationRule with h2UpgradePolicy UPGRADE: the client sidecar sends the HTTP/1.1
// requests to the server sidecar as streams of one HTTP/2 connection (ALPN h2; h2c in plain text).
// Both sidecars are this process's children, so the lab's CPU accounting (pid + direct children)
// counts both.
//   node bench/proxy/mtls-pair.mjs PORT MODE CERT_DIR
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const [port = "18000", mode = "mtls", certDir] = process.argv.slice(2);
if (!certDir) throw new Error("usage: mtls-pair.mjs PORT mtls|plain CERT_DIR");
const ROOT = resolve(import.meta.dirname, "../..");
const MAIN = join(ROOT, "apps/sidecar/src/main.ts");
const SERVER_PORT = Number(process.env.MTLS_PAIR_SERVER_PORT ?? 18001);
const UPSTREAM_PORT = Number(process.env.MTLS_PAIR_UPSTREAM_PORT ?? 18080);
const mtls = mode === "mtls";
const scratch = mkdtempSync(join(tmpdir(), "meshwork-mtls-pair-"));
const config = (name, text) => {
  const dir = join(scratch, name);
  mkdirSync(dir);
  writeFileSync(join(dir, "mesh.yaml"), text);
  return dir;
};
const service = `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: upstream, namespace: default }
spec:
  hosts: [upstream.bench]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  workloadSelector: { labels: { app: upstream } }
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: upstream-1, namespace: default }
spec:
  address: 127.0.0.1
  serviceAccount: server
  labels: { app: upstream${mtls ? ", security.istio.io/tlsMode: istio" : ""} }
  ports: { http: ${SERVER_PORT} }
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: bench, namespace: default }
spec:
  hosts: ["127.0.0.1"]
  http:
    - route: [{ destination: { host: upstream.bench, port: { number: 80 } } }]
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: default }
spec:
  mtls: { mode: ${mtls ? "STRICT" : "DISABLE"} }
${
  process.env.MTLS_PAIR_H2 === "1"
    ? `---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: upstream, namespace: default }
spec:
  host: upstream.bench
  trafficPolicy: { connectionPool: { http: { h2UpgradePolicy: UPGRADE } } }
`
    : ""
}`;
// MTLS_PAIR_NODE_FLAGS: extra node flags for both sidecars (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
const nodeFlags = (process.env.MTLS_PAIR_NODE_FLAGS ?? "").split(" ").filter(Boolean);
// MTLS_PAIR_MAIN: a bundle's main.js (apps/sidecar/bundle-sidecar.mjs --outdir DIR) instead of the sources through tsx.
const entry = process.env.MTLS_PAIR_MAIN ? [resolve(process.env.MTLS_PAIR_MAIN)] : ["--import", "tsx", "--conditions=@meshwork/source", MAIN];
const common = [...nodeFlags, "--max-semi-space-size=2", ...entry, "--admin-port=-1", "--stats-port=-1", "--access-log", "off", "--trace-sampling", "1", "--drain-seconds", "0"];
const children = [];
const start = (args) =>
  new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...common, ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"] });
    children.push(child);
    let out = "";
    child.stdout.setEncoding("utf8").on("data", (chunk) => {
      out += chunk;
      if (out.includes('"msg":"sidecar started"')) {
        out = "";
        resolvePromise();
      }
      if (out.length > 65536) out = out.slice(-4096);
    });
    child.on("exit", (code) => reject(new Error(`sidecar exited with ${code}`)));
  });
const stop = () => {
  for (const child of children) child.kill("SIGTERM");
  setTimeout(() => process.exit(0), 500).unref();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// Both at once: the lab gives the proxy 10 s to listen on {PORT}.
await Promise.all([
  start(["--config", config("server", service), "--labels", "app=upstream", "--inbound-port", String(SERVER_PORT), "--app-port", String(UPSTREAM_PORT), "--outbound-port=-1", ...(mtls ? ["--cert-dir", join(certDir, "server")] : [])]),
  start(["--config", config("client", service), "--labels", "app=client", "--outbound-port", port, "--inbound-port=-1", ...(mtls ? ["--cert-dir", join(certDir, "client")] : [])]),
]);
