// bench/ca (apps/ca part): the CA as a real process, measured over gRPC + TLS. 64 concurrent
// clients (own connections) issue ECDSA P-256 SVIDs for a fixed time: SVIDs/s, p50/p99 latency,
// CA CPU per signature (from its /metrics). Then a storm: 10,000 workloads (one-time bootstrap
// tokens, 256 service accounts) ask at once; every request must succeed. Reference in the same
// run: `openssl x509 -req` signing the same CSRs with the same root key, and `openssl speed`.
// A figure, not a test. Usage: npx tsx --conditions=@meshwork/source bench/ca/grpc-issuance.ts [seconds=5] [storm=10000]
import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { createCsr, generateKeyPair, parseTrustDomain, pemToDer, spiffeServerIdentityCheck, trustBundles, type SpiffeId } from "@meshwork/pki";
import { CertificateServiceClient, type CreateCertificateRequest } from "@meshwork/protocol";
import { readPrivateKeyFile } from "../../apps/ca/src/adapters/key-files.ts";
import { nodeCrypto } from "../../apps/ca/src/adapters/node-crypto.ts";
import { mintWorkloadToken } from "@meshwork/workload-identity";

const seconds = Number(process.argv[2] ?? 5);
const stormSize = Number(process.argv[3] ?? 10_000);
const clients = 64;
const serviceAccounts = 256;
const crypto = nodeCrypto();
const dir = await mkdtemp(join(tmpdir(), "bench-ca-"));
const dataDir = join(dir, "ca");

// The CA process: rate limiting off (the bench is one identity per client). Its log (an audit
// line per SVID) goes to a file, as a container runtime would take it: a pipe read by this busy
// process would block the CA's synchronous stdout writes and measure the bench, not the CA.
// BENCH_CA_NODE_ARGS adds node flags to the CA process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
const caNodeArgs = (process.env["BENCH_CA_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
const logFile = join(dir, "ca.log");
const logFd = openSync(logFile, "w");
const ca = spawn(process.execPath, [...caNodeArgs, "--import", "tsx", "--conditions=@meshwork/source", "apps/ca/src/main.ts", "--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0", "--rate-limit-per-second", "0"], {
  stdio: ["ignore", logFd, "inherit"],
});
closeSync(logFd);
let caExit: number | null | undefined;
ca.on("exit", (code) => (caExit = code));
const ready = await (async () => {
  for (;;) {
    if (caExit !== undefined) throw new Error(`the CA exited with ${caExit}`);
    const line = (await readFile(logFile, "utf8")).split("\n").find((l) => l.includes('"msg":"ready"'));
    if (line) return JSON.parse(line) as { grpcPort: number; adminPort: number };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
})();

const rootPem = await readFile(join(dataDir, "root-cert.pem"), "utf8");
const td = parseTrustDomain("cluster.local");
if (!td.ok) throw new Error(td.detail);
const rootDer = pemToDer(rootPem, "CERTIFICATE");
if (!rootDer.ok) throw new Error(rootDer.detail);
const bundles = trustBundles([[td.trustDomain, [rootDer.der]]]);
const checkServerIdentity = spiffeServerIdentityCheck(["spiffe://cluster.local/ns/mesh-system/sa/ca" as SpiffeId], { bundles, clock: () => new Date() });
const newClient = () =>
  new CertificateServiceClient(`127.0.0.1:${ready.grpcPort}`, credentials.createSsl(Buffer.from(rootPem), null, null, { checkServerIdentity }), { "grpc.use_local_subchannel_pool": 1 });
const call = (client: CertificateServiceClient, request: CreateCertificateRequest) =>
  new Promise<void>((resolve, reject) => client.createCertificate(request, (error: ServiceError | null) => (error ? reject(error) : resolve())));

const tokenKey = await readPrivateKeyFile(join(dataDir, "token-issuer-key.pem"), crypto);
const token = (sa: string, jti?: string) =>
  mintWorkloadToken({ privateKey: tokenKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "bench", serviceAccount: sa, now: new Date(), ttlSeconds: 3600, crypto, ...(jti ? { jti } : {}) });
console.error(`preparing ${serviceAccounts} CSRs and ${stormSize} one-time tokens...`);
const csrs: string[] = [];
for (let i = 0; i < serviceAccounts; i++) csrs.push((await createCsr({ keys: await generateKeyPair(), spiffeId: `spiffe://cluster.local/ns/bench/sa/w${i}` as SpiffeId })).pem);

async function caCpuSeconds(): Promise<{ cpu: number; issued: number }> {
  const text = await (await fetch(`http://127.0.0.1:${ready.adminPort}/metrics`)).text();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
  return { cpu: value("process_cpu_seconds_total"), issued: value("meshwork_ca_certificates_issued_total") };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const pool = Array.from({ length: clients }, newClient);
const tokens = await Promise.all(Array.from({ length: clients }, (_, i) => token(`w${i}`)));
// warm-up: connect every client
await Promise.all(pool.map((client, i) => call(client, { csrPem: csrs[i] as string, validitySeconds: 3600, workloadToken: tokens[i] as string })));

const rows: Record<string, string | number> = {};
{
  const before = await caCpuSeconds();
  const clientCpu0 = process.cpuUsage();
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    pool.map(async (client, i) => {
      const request = { csrPem: csrs[i] as string, validitySeconds: 3600, workloadToken: tokens[i] as string };
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await call(client, request);
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  const after = await caCpuSeconds();
  const clientCpu = process.cpuUsage(clientCpu0);
  latencies.sort((a, b) => a - b);
  rows["64 clients: SVIDs/s"] = Math.round(latencies.length / elapsed);
  rows["64 clients: p50 ms"] = +percentile(latencies, 50).toFixed(1);
  rows["64 clients: p99 ms"] = +percentile(latencies, 99).toFixed(1);
  rows["64 clients: errors"] = errors;
  rows["CA CPU ms per SVID (token verify + CSR verify + sign + gRPC/TLS)"] = +(((after.cpu - before.cpu) * 1000) / (after.issued - before.issued)).toFixed(3);
  rows["CA CPU busy % of one core"] = Math.round(((after.cpu - before.cpu) / elapsed) * 100);
  rows["bench clients CPU ms per SVID (grpc-js client side)"] = +((clientCpu.user + clientCpu.system) / 1000 / latencies.length).toFixed(3);
}

{
  const stormTokens = await Promise.all(Array.from({ length: stormSize }, (_, i) => token(`w${i % serviceAccounts}`, `storm-${i}`)));
  let errors = 0;
  const failures = new Map<string, number>();
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    stormTokens.map(async (workloadToken, i) => {
      const t0 = performance.now();
      try {
        await call(pool[i % clients] as CertificateServiceClient, { csrPem: csrs[i % serviceAccounts] as string, validitySeconds: 3600, workloadToken });
        latencies.push(performance.now() - t0);
      } catch (error) {
        errors++;
        const key = (error as ServiceError).details ?? String(error);
        failures.set(key, (failures.get(key) ?? 0) + 1);
      }
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  rows[`storm: ${stormSize} at once, seconds`] = +elapsed.toFixed(2);
  rows["storm: SVIDs/s"] = Math.round(latencies.length / elapsed);
  rows["storm: p99 ms"] = +percentile(latencies, 99).toFixed(0);
  rows["storm: errors"] = errors;
  for (const [detail, n] of failures) console.error(`storm failure x${n}: ${detail}`);
}

// Reference: openssl signing the same CSRs with the same root key, one process per certificate
// (what a shell loop costs), and the raw signature limit from `openssl speed`.
try {
  const n = 200;
  const extFile = join(dir, "ext.cnf");
  await writeFile(extFile, "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=critical,URI:spiffe://cluster.local/ns/bench/sa/w0\n");
  for (let i = 0; i < 4; i++) await writeFile(join(dir, `csr${i}.pem`), csrs[i] as string);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    execFileSync("openssl", ["x509", "-req", "-in", join(dir, `csr${i % 4}.pem`), "-CA", join(dataDir, "root-cert.pem"), "-CAkey", join(dataDir, "root-key.pem"), "-days", "1", "-extfile", extFile, "-out", "/dev/null"], { stdio: "ignore" });
  }
  rows["openssl x509 -req loop: certs/s (1 process each)"] = Math.round(n / ((performance.now() - start) / 1000));
  const speed = execFileSync("openssl", ["speed", "-seconds", "2", "ecdsap256"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const line = speed.split("\n").find((l) => /256 bits ecdsa \(nistp256\)/.test(l));
  rows["openssl speed ecdsap256: sign/s (limit)"] = line ? (line.trim().split(/\s+/).slice(-2)[0] ?? "n/a") : "n/a";
} catch (error) {
  rows["openssl"] = `unavailable: ${(error as Error).message.split("\n")[0]}`;
}

for (const client of pool) client.close();
ca.kill("SIGTERM");
if (caExit === undefined) await new Promise((resolve) => ca.on("exit", resolve));
await rm(dir, { recursive: true, force: true });
const os = await import("node:os");
console.log(`node ${process.version}, ${seconds} s run, CA and clients on the same machine (${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
console.table(rows);
