// Real certificates for the mutual-TLS tests, made with @meshwork/pki as the mesh CA makes them: a
// root per trust domain, X.509-SVIDs (spiffe://<td>/ns/<ns>/sa/<sa>) signed by it, expired ones,
// and self-signed ones from openssl; written in Istio's certificate directory layout.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  certificatesToPem,
  createRootCa,
  describePublicKey,
  exportPrivateKeyPem,
  exportPublicKeyDer,
  generateKeyPair,
  issueSvid,
  type SigningCa,
  type SpiffeId,
  type TrustDomain,
} from "@meshwork/pki";

/** One workload certificate: chain PEM (leaf first, root last), key PEM, and its ID and serial. */
export interface TestSvid {
  readonly spiffeId: string;
  readonly chainPem: string;
  readonly keyPem: string;
  readonly serialHex: string;
}

export interface TestPki {
  readonly trustDomain: string;
  readonly root: SigningCa;
  readonly rootPem: string;
  /** An SVID for ns/sa; `now` and `ttlSeconds` make expired ones. */
  issue(namespace: string, serviceAccount: string, options?: { readonly now?: Date; readonly ttlSeconds?: number }): Promise<TestSvid>;
}

export async function createTestPki(trustDomain = "cluster.local", rootNow = new Date(Date.now() - 3 * 3600_000)): Promise<TestPki> {
  const root = await createRootCa({ keys: await generateKeyPair("ecdsa-p256"), now: rootNow, ttlSeconds: 86_400, trustDomain: trustDomain as TrustDomain });
  const rootDer = root.chain[0] as Uint8Array;
  return {
    trustDomain,
    root,
    rootPem: certificatesToPem([rootDer]),
    async issue(namespace, serviceAccount, options = {}) {
      const keys = await generateKeyPair("ecdsa-p256");
      const spki = await exportPublicKeyDer(keys.publicKey);
      const key = describePublicKey(spki);
      if (!key.ok) throw new Error(key.detail);
      const spiffeId = `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}` as SpiffeId;
      const issued = await issueSvid({ csr: { spki, key: key.key }, spiffeId, ttlSeconds: options.ttlSeconds ?? 3600, issuer: root, now: options.now ?? new Date() });
      if (!issued.ok) throw new Error(`${issued.reason}: ${issued.detail}`);
      return { spiffeId, chainPem: certificatesToPem(issued.svid.chain), keyPem: await exportPrivateKeyPem(keys.privateKey), serialHex: issued.svid.serialHex };
    },
  };
}

/**
 * A self-signed certificate with a SPIFFE URI SAN (no CA behind it), from openssl. Asynchronous on
 * purpose: blocking the event loop would make in-process sidecars shed load (503 OM).
 */
export async function selfSignedSvid(dir: string, spiffeId: string): Promise<TestSvid> {
  const keyFile = join(dir, "self.key");
  const certFile = join(dir, "self.pem");
  await promisify(execFile)("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", certFile,
    "-days", "1", "-subj", "/O=self", "-addext", `subjectAltName=URI:${spiffeId}`, "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature", "-addext", "extendedKeyUsage=serverAuth,clientAuth",
  ]);
  return { spiffeId, chainPem: await readFile(certFile, "utf8"), keyPem: await readFile(keyFile, "utf8"), serialHex: "" };
}

/** Writes `svid` and the roots into `dir` (created when absent) in Istio's layout; each file is replaced atomically. */
export async function writeCertDir(dir: string | undefined, svid: TestSvid, rootsPem: string): Promise<string> {
  const target = dir ?? (await mkdtemp(join(tmpdir(), "meshwork-certs-")));
  await mkdir(target, { recursive: true });
  const put = async (name: string, text: string): Promise<void> => {
    const temp = join(target, `.${name}.tmp`);
    await writeFile(temp, text, { mode: 0o600 });
    await rename(temp, join(target, name));
  };
  await put("key.pem", svid.keyPem);
  await put("cert-chain.pem", svid.chainPem);
  await put("root-cert.pem", rootsPem);
  return target;
}
