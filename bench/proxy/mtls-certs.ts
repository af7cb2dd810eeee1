// Certificates for bench/proxy/mtls.mjs, made with @meshwork/pki as the mesh CA makes them: one
// root for trust domain cluster.local and X.509-SVIDs for sa/client and sa/server (24 h), written
// in Istio's --cert-dir layout (DIR/client, DIR/server: cert-chain.pem, key.pem, root-cert.pem),
// plus leaf-only cert files for nginx (DIR/server/leaf.pem, DIR/client/leaf.pem).
//   node --import tsx --conditions=@meshwork/source bench/proxy/mtls-certs.ts DIR
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { certificatesToPem, createRootCa, describePublicKey, exportPrivateKeyPem, exportPublicKeyDer, generateKeyPair, issueSvid, type SpiffeId, type TrustDomain } from "@meshwork/pki";

const dir = process.argv[2];
if (!dir) throw new Error("usage: mtls-certs.ts DIR");
const now = new Date();
const root = await createRootCa({ keys: await generateKeyPair("ecdsa-p256"), now, ttlSeconds: 7 * 86_400, trustDomain: "cluster.local" as TrustDomain });
const rootPem = certificatesToPem([root.chain[0] as Uint8Array]);
for (const sa of ["client", "server"]) {
  const keys = await generateKeyPair("ecdsa-p256");
  const spki = await exportPublicKeyDer(keys.publicKey);
  const key = describePublicKey(spki);
  if (!key.ok) throw new Error(key.detail);
  const issued = await issueSvid({ csr: { spki, key: key.key }, spiffeId: `spiffe://cluster.local/ns/default/sa/${sa}` as SpiffeId, ttlSeconds: 86_400, issuer: root, now });
  if (!issued.ok) throw new Error(issued.detail);
  const out = join(dir, sa);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "cert-chain.pem"), certificatesToPem(issued.svid.chain));
  writeFileSync(join(out, "leaf.pem"), certificatesToPem([issued.svid.certificate]));
  writeFileSync(join(out, "key.pem"), await exportPrivateKeyPem(keys.privateKey), { mode: 0o600 });
  writeFileSync(join(out, "root-cert.pem"), rootPem);
}
