// bench/ca (apps/ca part): the CA as a real process, measured over gRPC + TLS. 64 concurrent
// clients (own connections) issue ECDSA P-256 SVIDs for a fixed time: SVIDs/s, p50/p99 latency,
// CA CPU per signature (from its /metrics). Then a storm: 10,000 workloads (one-time bootstrap
// tokens, 256 service accounts) ask at once; every request must succeed. Reference in the same
// run: `openssl x509 -req` signing the same CSRs with the same root key, and `openssl speed`.
// Workload keys, CSRs and tokens are made before the timed phases: generating them is the
// workloads' cost, not the CA's. The clients speak gRPC over node:http2 with pre-encoded request
// frames (BENCH_CA_CLIENT=grpc-js uses grpc-js clients instead, ~3× the client CPU per call), so the
// bench process, which shares the machine's cores with the CA, takes as little CPU as it can.
// A figure, not a test. Usage: npx tsx --conditions=@meshwork/source bench/ca/grpc-issuance.ts [seconds=5] [storm=10000]
import { execFileSync, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { connect as http2Connect, type ClientHttp2Session } from "node:http2";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { credentials, type ServiceError } from "@grpc/grpc-js";
import { createCsr, generateKeyPair, parseTrustDomain, pemToDer, spiffeServerIdentityCheck, trustBundles, type SpiffeId } from "@meshwork/pki";
import { CertificateServiceClient, CertificateServiceService, CreateCertificateRequest, CreateCertificateResponse } from "@meshwork/protocol";
import { readPrivateKeyFile } from "../../apps/ca/src/adapters/key-files.ts";
import { nodeCrypto } from "../../apps/ca/src/adapters/node-crypto.ts";
import { mintWorkloadToken } from "@meshwork/workload-identity";

const seconds = Number(process.argv[2] ?? 5);
const stormSize = Number(process.argv[3] ?? 10_000);
const clients = 64;
const clientKind = process.env["BENCH_CA_CLIENT"] === "grpc-js" ? "grpc-js" : "http2";
const serviceAccounts = 256;
const crypto = nodeCrypto();
const dir = await mkdtemp(join(tmpdir(), "bench-ca-"));
const dataDir = join(dir, "ca");

// The CA process: rate limiting off (the bench is one identity per client). Its log (an audit
// line per SVID) goes to a file, as a container runtime would take it: a pipe read by this busy
// process would block the CA's synchronous stdout writes and measure the bench, not the CA.
// BENCH_CA_NODE_ARGS adds node flags to the CA process (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
// BENCH_CA_WORKERS sets the CA's --issuance-workers (token/CSR checks and signing on worker threads;
// default 1; 0 passes no flag, so the bench also runs against an older CA from another checkout as cwd).
const issuanceWorkers = Number(process.env["BENCH_CA_WORKERS"] ?? 1);
const caNodeArgs = (process.env["BENCH_CA_NODE_ARGS"] ?? "").split(" ").filter((a) => a !== "");
const logFile = join(dir, "ca.log");
const logFd = openSync(logFile, "w");
const ca = spawn(process.execPath, [...caNodeArgs, "--import", "tsx", "--conditions=@meshwork/source", "apps/ca/src/main.ts", "--data-dir", dataDir, "--grpc-port", "0", "--admin-port", "0", "--rate-limit-per-second", "0", ...(issuanceWorkers > 0 ? ["--issuance-workers", String(issuanceWorkers)] : [])], {
  stdio: ["ignore", logFd, "inherit"],
});
closeSync(logFd);
let caExit: number | null | undefined;
ca.on("exit", (code) => (caExit = code));
process.on("exit", () => ca.kill("SIGKILL")); // a failing bench leaves no CA behind
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

/** One client connection: sends a pre-encoded request, resolves on grpc-status 0 with the response message bytes. */
interface Connection {
  call(request: PreparedRequest): Promise<Uint8Array>;
  close(): void;
}
/** A request as a gRPC length-prefixed message (flag 0, big-endian length, protobuf), plus the object for grpc-js. */
interface PreparedRequest {
  readonly message: CreateCertificateRequest;
  readonly frame: Buffer;
}
function prepare(message: CreateCertificateRequest): PreparedRequest {
  const body = CreateCertificateRequest.encode(message).finish();
  const frame = Buffer.allocUnsafe(5 + body.length);
  frame[0] = 0;
  frame.writeUInt32BE(body.length, 1);
  frame.set(body, 5);
  return { message, frame };
}

function grpcJsConnection(): Connection {
  const client = new CertificateServiceClient(`127.0.0.1:${ready.grpcPort}`, credentials.createSsl(Buffer.from(rootPem), null, null, { checkServerIdentity }), { "grpc.use_local_subchannel_pool": 1 });
  return {
    call: (request) =>
      new Promise((resolve, reject) =>
        client.createCertificate(request.message, (error: ServiceError | null, response?: CreateCertificateResponse) => (error ? reject(error) : resolve(CreateCertificateResponse.encode(response as CreateCertificateResponse).finish()))),
      ),
    close: () => client.close(),
  };
}

const createPath = CertificateServiceService.createCertificate.path;
const requestHeaders = { ":method": "POST", ":path": createPath, "content-type": "application/grpc", te: "trailers" };
function http2Connection(): Connection {
  const session: ClientHttp2Session = http2Connect(`https://127.0.0.1:${ready.grpcPort}`, { ca: rootPem, checkServerIdentity });
  session.on("error", (error: Error) => void error); // a session error also fails its streams, which report it
  return {
    call: (request) =>
      new Promise((resolve, reject) => {
        const stream = session.request(requestHeaders);
        const chunks: Buffer[] = [];
        let grpcStatus: string | undefined;
        let grpcMessage = "";
        const fromHeaders = (headers: Record<string, unknown>) => {
          if (headers["grpc-status"] !== undefined) grpcStatus = String(headers["grpc-status"]);
          if (headers["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(headers["grpc-message"]));
        };
        stream.on("response", fromHeaders); // a trailers-only response (errors) carries the status here
        stream.on("trailers", fromHeaders);
        stream.on("data", (chunk: Buffer) => chunks.push(chunk));
        stream.on("error", reject);
        stream.on("end", () => {
          const body = Buffer.concat(chunks);
          if (grpcStatus !== "0") return reject(Object.assign(new Error(`grpc-status ${grpcStatus}: ${grpcMessage}`), { details: `grpc-status ${grpcStatus}: ${grpcMessage}` }));
          if (body.length < 5 || body.readUInt32BE(1) !== body.length - 5) return reject(new Error(`a response of ${body.length} bytes is not one gRPC message`));
          resolve(body.subarray(5));
        });
        stream.end(request.frame);
      }),
    close: () => session.close(),
  };
}
const newClient = clientKind === "http2" ? http2Connection : grpcJsConnection;
const call = (client: Connection, request: PreparedRequest) => client.call(request);

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

/** CPU seconds of each CA thread by name (Linux /proc; empty elsewhere): main thread vs GC / libuv / worker threads. */
async function caThreadCpu(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  try {
    for (const tid of await readdir(`/proc/${ca.pid}/task`)) {
      const stat = await readFile(`/proc/${ca.pid}/task/${tid}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = tid === String(ca.pid) ? "main" : stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    }
  } catch {
    // not Linux: the figure is left out
  }
  return out;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const pool = Array.from({ length: clients }, newClient);
const tokens = await Promise.all(Array.from({ length: clients }, (_, i) => token(`w${i}`)));
const steadyRequests = pool.map((_, i) => prepare({ csrPem: csrs[i] as string, validitySeconds: 3600, workloadToken: tokens[i] as string }));
// warm-up: connect every client, and check one answer is a full chain for the asked ID
const answers = await Promise.all(pool.map((client, i) => call(client, steadyRequests[i] as PreparedRequest)));
const chain = CreateCertificateResponse.decode(answers[0] as Uint8Array).certChain;
if (chain.length < 2 || !chain.every((pem) => pem.startsWith("-----BEGIN CERTIFICATE-----"))) throw new Error(`the CA answered ${chain.length} certificates`);

const rows: Record<string, string | number> = {};
{
  const before = await caCpuSeconds();
  const threads0 = await caThreadCpu();
  const clientCpu0 = process.cpuUsage();
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  await Promise.all(
    pool.map(async (client, i) => {
      const request = steadyRequests[i] as PreparedRequest;
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
  const threads1 = await caThreadCpu();
  const clientCpu = process.cpuUsage(clientCpu0);
  latencies.sort((a, b) => a - b);
  rows["64 clients: SVIDs/s"] = Math.round(latencies.length / elapsed);
  rows["64 clients: p50 ms"] = +percentile(latencies, 50).toFixed(1);
  rows["64 clients: p99 ms"] = +percentile(latencies, 99).toFixed(1);
  rows["64 clients: errors"] = errors;
  rows["CA CPU ms per SVID (token verify + CSR verify + sign + gRPC/TLS)"] = +(((after.cpu - before.cpu) * 1000) / (after.issued - before.issued)).toFixed(3);
  rows["CA CPU busy % of one core"] = Math.round(((after.cpu - before.cpu) / elapsed) * 100);
  const issuedInRun = after.issued - before.issued;
  for (const [name, cpu] of threads1) {
    const ms = ((cpu - (threads0.get(name) ?? 0)) * 1000) / issuedInRun;
    if (ms >= 0.005) rows[`  CA thread "${name}" CPU ms per SVID`] = +ms.toFixed(3);
  }
  rows[`bench clients CPU ms per SVID (${clientKind} client side)`] = +((clientCpu.user + clientCpu.system) / 1000 / latencies.length).toFixed(3);
}

{
  const stormTokens = await Promise.all(Array.from({ length: stormSize }, (_, i) => token(`w${i % serviceAccounts}`, `storm-${i}`)));
  const stormRequests = stormTokens.map((workloadToken, i) => prepare({ csrPem: csrs[i % serviceAccounts] as string, validitySeconds: 3600, workloadToken }));
  let errors = 0;
  const failures = new Map<string, number>();
  const latencies: number[] = [];
  const start = performance.now();
  await Promise.all(
    stormRequests.map(async (request, i) => {
      const t0 = performance.now();
      try {
        await call(pool[i % clients] as Connection, request);
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
  // openssl ca signing the bench's CSRs in one process (-infiles): CSR parse + self-signature check
  // + certificate build + sign + PEM out, no process start per certificate — openssl's issuance rate
  // on one core, for the same CSRs, in the same run.
  const batchDir = join(dir, "openssl-ca");
  await mkdir(batchDir);
  const batch = 1024;
  const csrFiles: string[] = [];
  for (let i = 0; i < serviceAccounts; i++) {
    const file = join(batchDir, `csr${i}.pem`);
    await writeFile(file, csrs[i] as string);
    csrFiles.push(file);
  }
  await writeFile(join(batchDir, "index.txt"), "");
  await writeFile(
    join(batchDir, "ca.cnf"),
    `[ca]\ndefault_ca = bench\n[bench]\ndatabase = ${join(batchDir, "index.txt")}\nnew_certs_dir = ${batchDir}\nrand_serial = yes\ndefault_md = sha256\npolicy = anything\nunique_subject = no\ncopy_extensions = copy\nx509_extensions = svid\ndefault_days = 1\n[anything]\n[svid]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\nsubjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n`,
  );
  const infiles = Array.from({ length: batch }, (_, i) => csrFiles[i % csrFiles.length] as string);
  const batchStart = performance.now();
  execFileSync("openssl", ["ca", "-batch", "-config", join(batchDir, "ca.cnf"), "-cert", join(dataDir, "root-cert.pem"), "-keyfile", join(dataDir, "root-key.pem"), "-notext", "-out", "/dev/null", "-infiles", ...infiles], { stdio: "ignore" });
  const signed = (await readdir(batchDir)).filter((f) => /^[0-9A-F]+\.pem$/.test(f)).length;
  rows[`openssl ca, ${batch} of the same CSRs in 1 process: certs/s (1 core)`] = signed === batch ? Math.round(batch / ((performance.now() - batchStart) / 1000)) : `signed ${signed} of ${batch}`;
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
console.log(`node ${process.version}, ${seconds} s run, CA with ${issuanceWorkers} issuance worker(s), ${clientKind} clients; workload keys, CSRs and tokens made before the timed phases; CA and clients on the same machine (${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(" ")})`);
console.table(rows);
