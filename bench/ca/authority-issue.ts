// bench/ca (in-process part): CertificateAuthority.issue() without gRPC — token verify, CSR
// verify, attestation, signing, PEM — with the CA's node:crypto adapter, 1 and 64 in flight, and
// its CPU per SVID. Keys, CSRs and tokens are made before the timed phase (the workloads' cost).
// The audit log goes to a discarding writer (JSON serialization still runs).
// A figure, not a test. Usage: npx tsx --conditions=@meshwork/source bench/ca/authority-issue.ts [seconds-per-run=3]
import { createCsr, createRootCa, derToPem, exportPublicKeyDer, generateKeyPair, parseTrustDomain, type SpiffeId } from "@meshwork/pki";
import { createLogger } from "@meshwork/telemetry";
import { mintWorkloadToken } from "@meshwork/workload-identity";
import { nodeCrypto } from "../../apps/ca/src/adapters/node-crypto.ts";
import { IssuancePool } from "../../apps/ca/src/adapters/issuance-pool.ts";
import { CertificateAuthority, type AuthorityOptions } from "../../apps/ca/src/certificate-authority.ts";
import { CaMetrics } from "../../apps/ca/src/core/ca-metrics.ts";

const secondsPerRun = Number(process.argv[2] ?? 3);
const crypto = nodeCrypto();
const td = parseTrustDomain("cluster.local");
if (!td.ok) throw new Error(td.detail);
const trustDomain = td.trustDomain;
const tokenKeys = await generateKeyPair("ecdsa-p256", { crypto });
const root = await createRootCa({ trustDomain, keys: await generateKeyPair("ecdsa-p256", { crypto }), now: new Date(), ttlSeconds: 86400 * 3650, crypto });
const options: AuthorityOptions = {
  trustDomain,
  parent: root,
  intermediateTtlSeconds: 30 * 86400,
  policy: { trustDomain, allowedTrustDomains: [trustDomain], allowedNamespaces: [], tokenIssuer: "meshwork", tokenAudience: "meshwork-ca", defaultTtlSeconds: 3600, maxTtlSeconds: 86400, clockSkewSeconds: 60 },
  rateLimit: { ratePerSecond: 0, burst: 0 },
  tokenPublicKey: tokenKeys.publicKey,
  crypto,
  clock: () => new Date(),
  monotonicMs: () => performance.now(),
  logger: createLogger({ name: "ca", write: (line) => void line.length }),
  metrics: new CaMetrics(),
};
let authority = await CertificateAuthority.create(options);

const workloads = 256;
console.error(`preparing ${workloads} keys, CSRs and tokens (not timed)...`);
const requests: { csrPem: string; validitySeconds: number; workloadToken: string }[] = [];
for (let i = 0; i < workloads; i++) {
  const sa = `w${i}`;
  const csrPem = (await createCsr({ keys: await generateKeyPair(), spiffeId: `spiffe://cluster.local/ns/bench/sa/${sa}` as SpiffeId })).pem;
  const workloadToken = await mintWorkloadToken({ privateKey: tokenKeys.privateKey, issuer: "meshwork", audience: "meshwork-ca", namespace: "bench", serviceAccount: sa, now: new Date(), ttlSeconds: 3600, crypto });
  requests.push({ csrPem, validitySeconds: 3600, workloadToken });
}

async function measure(inFlight: number): Promise<{ perSecond: number; cpuMsPerSvid: number }> {
  let next = 0;
  const one = async () => {
    const outcome = await authority.issue(requests[next++ % workloads] as (typeof requests)[number], "bench");
    if (outcome.type !== "issued") throw new Error(`refused: ${outcome.message}`);
  };
  for (let i = 0; i < 200; i++) await one();
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + secondsPerRun * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await one();
        done++;
      }
    }),
  );
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: Math.round((done * 1000) / (performance.now() - start)), cpuMsPerSvid: +((cpu.user + cpu.system) / 1000 / done).toFixed(3) };
}

const rows: Record<string, { perSecond: number; cpuMsPerSvid: number }> = { "CA.issue(), 1 in flight": await measure(1), "CA.issue(), 64 in flight": await measure(64) };
// The same with token/CSR checks and signing on worker threads (--issuance-workers): CPU here is
// the whole process (main + workers); the main thread's share is what limits the gRPC server.
for (const size of [1, 2]) {
  const pool = await IssuancePool.start({ size, tokenPublicKeyPem: derToPem(await exportPublicKeyDer(tokenKeys.publicKey, crypto), "PUBLIC KEY") });
  authority = await CertificateAuthority.create({ ...options, issuanceCrypto: pool });
  const main0 = performance.eventLoopUtilization();
  const row = await measure(64);
  const elu = performance.eventLoopUtilization(main0);
  rows[`CA.issue(), 64 in flight, ${size} issuance worker(s)`] = { ...row, mainThreadBusyMsPerSvid: +((elu.active / (row.perSecond * (elu.idle + elu.active) / 1000)) ).toFixed(3) } as (typeof rows)[string];
  await pool.close();
}
console.log(`node ${process.version}, ${secondsPerRun} s per run, one JS thread, no gRPC`);
console.table(rows);
