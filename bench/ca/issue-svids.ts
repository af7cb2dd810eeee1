// bench/ca (libs/pki part): in-process ECDSA P-256 leaf issuance rate on one JS thread, with
// WebCrypto signing (the lib's default) and with node:crypto signing (a Crypto whose subtle.sign
// calls crypto.sign synchronously), one at a time and 64 in flight; plus raw P-256 signatures per
// second and CPU per signature, and `openssl speed` as the machine's reference limit.
// A figure, not a test: nothing here asserts a time. The gRPC figures of issue 6 belong to apps/ca.
// Usage: npx tsx --conditions=@meshwork/source bench/ca/issue-svids.ts [seconds-per-run=2]
import { execFileSync } from "node:child_process";
import { createHash, KeyObject, sign as nodeSign, webcrypto } from "node:crypto";
import {
  createCsr,
  createIntermediateCa,
  createRootCa,
  generateKeyPair,
  issueSvid,
  parseCsr,
  parseTrustDomain,
  checkPeerCertificate,
  trustBundles,
  verifySvid,
  type PeerCertificateLike,
  type SigningCa,
  type SpiffeId,
  type VerifiedCsr,
} from "@meshwork/pki";

const secondsPerRun = Number(process.argv[2] ?? 2);
const parsedTd = parseTrustDomain("cluster.local");
if (!parsedTd.ok) throw new Error(parsedTd.detail);
const trustDomain = parsedTd.trustDomain;
const id = "spiffe://cluster.local/ns/default/sa/web" as SpiffeId;

function asBytes(data: BufferSource): Uint8Array {
  return ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
}

/** A Crypto like the platform's, but signing (and hashing) through node:crypto synchronously. */
function nodeCryptoSigner(): Crypto {
  const keyObjects = new WeakMap<CryptoKey, KeyObject>();
  const base = webcrypto as unknown as Crypto;
  // Node's SubtleCrypto methods insist on `this` being the real instance: delegate bound methods.
  const subtle = Object.fromEntries(
    (["decrypt", "deriveBits", "deriveKey", "digest", "encrypt", "exportKey", "generateKey", "importKey", "sign", "unwrapKey", "verify", "wrapKey"] as const).map((m) => [m, base.subtle[m].bind(base.subtle)]),
  ) as unknown as SubtleCrypto;
  subtle.sign = async (algorithm, key, data) => {
    let keyObject = keyObjects.get(key);
    if (!keyObject) keyObjects.set(key, (keyObject = KeyObject.from(key as webcrypto.CryptoKey)));
    const hash = typeof algorithm === "object" && "hash" in algorithm ? String((algorithm as EcdsaParams).hash).replace("-", "").toLowerCase() : "sha256";
    const signature = nodeSign(hash, asBytes(data), { key: keyObject, dsaEncoding: "ieee-p1363" });
    return signature.buffer.slice(signature.byteOffset, signature.byteOffset + signature.byteLength) as ArrayBuffer;
  };
  const digest = base.subtle.digest.bind(base.subtle);
  subtle.digest = async (algorithm, data) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm.name;
    if (name !== "SHA-1" && name !== "SHA-256") return digest(algorithm, data);
    const out = createHash(name.replace("-", "").toLowerCase()).update(asBytes(data)).digest();
    return out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength) as ArrayBuffer;
  };
  return { subtle, getRandomValues: base.getRandomValues.bind(base), randomUUID: base.randomUUID.bind(base) } as Crypto;
}

interface Figure {
  perSecond: number;
  cpuMsPerOp: number;
}

/** Runs `op` for `secondsPerRun`, `inFlight` at a time; rate and CPU (user+system) per op. */
async function measure(inFlight: number, op: () => Promise<unknown>): Promise<Figure> {
  for (let i = 0; i < 50; i++) await op(); // warm-up
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const deadline = start + secondsPerRun * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < deadline) {
        await op();
        done++;
      }
    }),
  );
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpu0);
  return { perSecond: Math.round((done * 1000) / elapsedMs), cpuMsPerOp: +((cpu.user + cpu.system) / 1000 / done).toFixed(3) };
}

async function setup(crypto: Crypto): Promise<{ ca: SigningCa; csr: VerifiedCsr }> {
  const now = new Date();
  const root = await createRootCa({ trustDomain, keys: await generateKeyPair(), now, ttlSeconds: 86400 * 3650 });
  const intermediate = await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now, ttlSeconds: 86400 * 365, crypto });
  if (!intermediate.ok) throw new Error(intermediate.detail);
  const csr = await parseCsr((await createCsr({ keys: await generateKeyPair(), spiffeId: id })).der);
  if (!csr.ok) throw new Error(csr.detail);
  return { ca: intermediate.ca, csr: csr.csr };
}

const rows: Record<string, Figure | string> = {};
const webCrypto = globalThis.crypto;
const nodeCrypto = nodeCryptoSigner();
const csrPem = (await createCsr({ keys: await generateKeyPair(), spiffeId: id })).pem;

for (const [name, crypto] of [
  ["WebCrypto", webCrypto],
  ["node:crypto", nodeCrypto],
] as const) {
  const { ca, csr } = await setup(crypto);
  const issueOne = () => issueSvid({ csr, spiffeId: id, ttlSeconds: 3600, issuer: ca, now: new Date(), crypto });
  rows[`issueSvid, ${name}, 1 in flight`] = await measure(1, issueOne);
  rows[`issueSvid, ${name}, 64 in flight`] = await measure(64, issueOne);
  rows[`parseCsr + issueSvid, ${name}, 1 in flight`] = await measure(1, async () => {
    const parsed = await parseCsr(csrPem, { crypto });
    if (!parsed.ok) throw new Error(parsed.detail);
    return issueSvid({ csr: parsed.csr, spiffeId: id, ttlSeconds: 3600, issuer: ca, now: new Date(), crypto });
  });
}

{
  // What a peer pays per handshake: the full async chain check, and the sync check after OpenSSL.
  const { ca, csr } = await setup(webCrypto);
  const issued = await issueSvid({ csr, spiffeId: id, ttlSeconds: 3600, issuer: ca, now: new Date() });
  if (!issued.ok) throw new Error(issued.detail);
  const bundles = trustBundles([[trustDomain, [ca.chain[ca.chain.length - 1] as Uint8Array]]]);
  const peer = issued.svid.chain.reduceRight<PeerCertificateLike | undefined>((issuer, raw) => {
    const node: { raw: Uint8Array; issuerCertificate?: PeerCertificateLike } = { raw };
    node.issuerCertificate = issuer ?? node;
    return node;
  }, undefined) as PeerCertificateLike;
  rows["verifySvid (3-cert chain), WebCrypto"] = await measure(1, () => verifySvid({ chain: issued.svid.chain, bundles, now: new Date() }));
  rows["checkPeerCertificate (sync, after OpenSSL)"] = await measure(1, async () => checkPeerCertificate(peer, { bundles, now: new Date() }));
}

const keys = await generateKeyPair();
const data = new Uint8Array(300).fill(7);
rows["raw P-256 sign, WebCrypto, 1 in flight"] = await measure(1, () => webCrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, data));
rows["raw P-256 sign, WebCrypto, 64 in flight"] = await measure(64, () => webCrypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, data));
const keyObject = KeyObject.from(keys.privateKey as webcrypto.CryptoKey);
rows["raw P-256 sign, node:crypto sync"] = await measure(1, async () => nodeSign("sha256", data, keyObject));

try {
  const speed = execFileSync("openssl", ["speed", "-seconds", String(secondsPerRun), "ecdsap256"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  const line = speed.split("\n").find((l) => /256 bits ecdsa \(nistp256\)/.test(l));
  rows["openssl speed ecdsap256 (sign/s, verify/s)"] = line ? line.trim().split(/\s+/).slice(-2).join(", ") : "n/a";
} catch {
  rows["openssl speed ecdsap256 (sign/s, verify/s)"] = "openssl not installed (apt-get install -y openssl)";
}

console.log(`node ${process.version}, ${secondsPerRun} s per run, one JS thread (WebCrypto jobs run on libuv's pool)`);
console.table(rows);
