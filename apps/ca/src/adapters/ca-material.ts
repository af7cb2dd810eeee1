// The CA's key material on disk: the root CA generated on first start and kept in the data dir,
// or a CA plugged in from files like Istio's `cacerts` secret; and the mesh token issuer's key pair.
import { access, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import {
  certificatesToPem,
  createRootCa,
  exportPrivateKeyPem,
  exportPublicKeyDer,
  derToPem,
  generateKeyPair,
  loadSigningCa,
  splitPem,
  type SigningCa,
  type TrustDomain,
} from "@meshwork/pki";
import { tokenIssuerFiles } from "@meshwork/workload-identity";
import { KeyFileError, readEs256PublicKeyFile, readPrivateKeyFile, writeSecretFile } from "./key-files.ts";

/** File names inside `--data-dir`. */
export const dataDirFiles = {
  rootCert: "root-cert.pem",
  rootKey: "root-key.pem",
  tokenIssuerKey: tokenIssuerFiles.privateKey,
  tokenIssuerPublicKey: tokenIssuerFiles.publicKey,
} as const;

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function readCertificatesPem(path: string): Promise<Uint8Array[]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new KeyFileError(path, `cannot read ${path}: ${(error as Error).message}`);
  }
  const split = splitPem(text);
  if (!split.ok) throw new KeyFileError(path, `${path} is not PEM: ${split.detail}`);
  const certs = split.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.der);
  if (certs.length === 0) throw new KeyFileError(path, `${path} holds no CERTIFICATE block`);
  return certs;
}

async function loadCa(chain: readonly Uint8Array[], privateKey: CryptoKey, trustDomain: TrustDomain, crypto: Crypto, describe: string): Promise<SigningCa> {
  const loaded = await loadSigningCa({ chain, privateKey, trustDomain, crypto });
  if (!loaded.ok) throw new KeyFileError(describe, `${describe}: ${loaded.reason}: ${loaded.detail}`);
  return loaded.ca;
}

/**
 * Loads the root CA from `dataDir`, or creates it there on first start (self-signed, `ttlSeconds`,
 * key mode 0600 in a 0700 directory). Refuses a key file that group or others can read, and a
 * data dir holding only one of the two files.
 */
export async function loadOrCreateRootCa(options: {
  readonly dataDir: string;
  readonly trustDomain: TrustDomain;
  readonly ttlSeconds: number;
  readonly crypto: Crypto;
  readonly now: Date;
}): Promise<{ readonly ca: SigningCa; readonly created: boolean }> {
  const certPath = join(options.dataDir, dataDirFiles.rootCert);
  const keyPath = join(options.dataDir, dataDirFiles.rootKey);
  const [hasCert, hasKey] = await Promise.all([exists(certPath), exists(keyPath)]);
  if (hasCert && hasKey) {
    const privateKey = await readPrivateKeyFile(keyPath, options.crypto);
    return { ca: await loadCa(await readCertificatesPem(certPath), privateKey, options.trustDomain, options.crypto, certPath), created: false };
  }
  if (hasCert || hasKey) {
    const missing = hasCert ? keyPath : certPath;
    throw new KeyFileError(missing, `${missing} is missing while ${hasCert ? certPath : keyPath} exists; restore it, or remove both to create a new root CA`);
  }
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const keys = await generateKeyPair("ecdsa-p256", { crypto: options.crypto });
  const ca = await createRootCa({ trustDomain: options.trustDomain, keys, now: options.now, ttlSeconds: options.ttlSeconds, crypto: options.crypto });
  await writeSecretFile(keyPath, await exportPrivateKeyPem(keys.privateKey, options.crypto));
  await writeFile(certPath, certificatesToPem(ca.chain), { mode: 0o644 });
  return { ca, created: true };
}

/** Paths of a plugged-in CA, as in Istio's `cacerts` secret. */
export interface PluggedCaFiles {
  /** ca-cert.pem: the CA certificate that signs (our intermediates go under it). */
  readonly caCert: string;
  /** ca-key.pem: its private key. */
  readonly caKey: string;
  /** cert-chain.pem: ca-cert's issuers (may start with ca-cert itself), up to the root. */
  readonly certChain: string | undefined;
  /** root-cert.pem: the root. */
  readonly rootCert: string;
}

/** Loads a plugged-in CA: chain ca-cert → cert-chain → root, each checked by loadSigningCa. */
export async function loadPluggedCa(files: PluggedCaFiles, trustDomain: TrustDomain, crypto: Crypto): Promise<SigningCa> {
  const privateKey = await readPrivateKeyFile(files.caKey, crypto);
  const chain: Uint8Array[] = [];
  const push = (der: Uint8Array): void => {
    if (!chain.some((c) => c.length === der.length && c.every((b, i) => b === der[i]))) chain.push(der);
  };
  for (const der of await readCertificatesPem(files.caCert)) push(der);
  if (files.certChain) for (const der of await readCertificatesPem(files.certChain)) push(der);
  for (const der of await readCertificatesPem(files.rootCert)) push(der);
  return loadCa(chain, privateKey, trustDomain, crypto, files.caCert);
}

/**
 * The mesh token issuer's key pair in `dataDir`, created on first start (private key 0600, public
 * key beside it). The CA verifies with the public key; `meshctl token issue` signs with the private one.
 */
export async function loadOrCreateTokenIssuer(dataDir: string, crypto: Crypto): Promise<{ readonly publicKey: CryptoKey; readonly privateKeyPath: string; readonly publicKeyPath: string }> {
  const privateKeyPath = join(dataDir, dataDirFiles.tokenIssuerKey);
  const publicKeyPath = join(dataDir, dataDirFiles.tokenIssuerPublicKey);
  if (!(await exists(privateKeyPath))) {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    const keys = await generateKeyPair("ecdsa-p256", { crypto });
    await writeSecretFile(privateKeyPath, await exportPrivateKeyPem(keys.privateKey, crypto));
    await writeFile(publicKeyPath, derToPem(await exportPublicKeyDer(keys.publicKey, crypto), "PUBLIC KEY"), { mode: 0o644 });
  } else {
    await readPrivateKeyFile(privateKeyPath, crypto); // permission and format check
  }
  return { publicKey: await readEs256PublicKeyFile(publicKeyPath, crypto), privateKeyPath, publicKeyPath };
}
