// Reads and writes the CA's secret files (root key, token issuer key): PEM, created with mode 0600,
// and refused at start when group or others can read them, naming the file and the fix.
import { createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFile, stat, writeFile } from "node:fs/promises";
import { importPrivateKey, type KeyAlgorithmName } from "@meshwork/pki";

/** A key or configuration file problem the operator must fix; main.ts prints it and exits 1. */
export class KeyFileError extends Error {
  readonly path: string;
  constructor(path: string, message: string) {
    super(message);
    this.name = "KeyFileError";
    this.path = path;
  }
}

/** Throws {@link KeyFileError} when `path` is readable or writable by group or others. */
export async function checkKeyFilePermissions(path: string): Promise<void> {
  const { mode } = await stat(path);
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, "0");
    throw new KeyFileError(path, `private key file ${path} is accessible by group or others (mode ${octal}); run \`chmod 600 ${path}\` and start again`);
  }
}

/** Writes a secret file readable by its owner only; fails if it exists. */
export async function writeSecretFile(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o600, flag: "wx" });
}

function algorithmOf(key: KeyObject, path: string): KeyAlgorithmName {
  const details = key.asymmetricKeyDetails;
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "prime256v1") return "ecdsa-p256";
  if (key.asymmetricKeyType === "ec" && details?.namedCurve === "secp384r1") return "ecdsa-p384";
  if (key.asymmetricKeyType === "rsa" && (details?.modulusLength === 2048 || details?.modulusLength === 3072 || details?.modulusLength === 4096)) {
    return `rsa-${details.modulusLength}` as KeyAlgorithmName;
  }
  throw new KeyFileError(path, `${path} holds a ${key.asymmetricKeyType} key (${JSON.stringify(details)}); use ECDSA P-256/P-384 or RSA 2048-4096`);
}

/**
 * Reads a private key (PKCS#8, SEC1 "EC PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY" PEM) after
 * checking its permissions, as a WebCrypto signing key.
 */
export async function readPrivateKeyFile(path: string, crypto: Crypto): Promise<CryptoKey> {
  await checkKeyFilePermissions(path);
  let key: KeyObject;
  try {
    key = createPrivateKey(await readFile(path, "utf8"));
  } catch (error) {
    throw new KeyFileError(path, `cannot read a private key from ${path}: ${(error as Error).message}`);
  }
  const pkcs8 = new Uint8Array(key.export({ type: "pkcs8", format: "der" }));
  return importPrivateKey(pkcs8, algorithmOf(key, path), { crypto, extractable: false });
}

/** Reads an ECDSA P-256 public key (SPKI PEM) for verifying ES256 tokens. */
export async function readEs256PublicKeyFile(path: string, crypto: Crypto): Promise<CryptoKey> {
  const key = createPublicKey(await readFile(path, "utf8"));
  const spki = new Uint8Array(key.export({ type: "spki", format: "der" }));
  return crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, true, ["verify"]);
}
