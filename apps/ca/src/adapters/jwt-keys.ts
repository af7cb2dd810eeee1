// The CA's JWT-SVID signing keys on disk and in use: jwt-keys.json in the data dir (0600, written
// atomically, checked at start like the other key files) holds the signing key (PKCS#8 PEM) and
// the retired public keys still published; ES256 signatures through the CA's WebCrypto.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { exportPrivateKeyPem, generateKeyPair, importPrivateKey, pemToDer } from "@meshwork/pki";
import { base64UrlEncode, signEs256Jwt } from "@meshwork/workload-identity";
import type { EcPublicJwk, JwtKeySet, PublishedJwtKey } from "../core/jwt-key-set.ts";
import { checkKeyFilePermissions, KeyFileError } from "./key-files.ts";
import { writeFileAtomic } from "./rotation-store.ts";

/** The file name inside `--data-dir`. */
export const jwtKeysFile = "jwt-keys.json";

/** The signing key: its private half stays in memory, its PEM only in jwt-keys.json. */
export interface JwtSigningKey extends PublishedJwtKey {
  readonly privateKey: CryptoKey;
  readonly privateKeyPem: string;
}

/** The CA's JWT keys. */
export type JwtKeys = JwtKeySet<JwtSigningKey>;

interface JwtKeysFileFormat {
  readonly format: 1;
  readonly signing: { readonly kid: string; readonly privateKeyPem: string; readonly jwk: EcPublicJwk };
  readonly retired: readonly { readonly kid: string; readonly jwk: EcPublicJwk; readonly publishUntil: string }[];
}

/** The RFC 7638 thumbprint of an EC key (SHA-256 over its required members in lexical order), base64url: its `kid`. */
export async function jwkThumbprint(jwk: EcPublicJwk, crypto: Crypto): Promise<string> {
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return base64UrlEncode(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical))));
}

/** A new P-256 signing key, its kid the JWK thumbprint. */
export async function generateJwtSigningKey(crypto: Crypto): Promise<JwtSigningKey> {
  const keys = await generateKeyPair("ecdsa-p256", { crypto, extractable: true });
  const privateKeyPem = await exportPrivateKeyPem(keys.privateKey, crypto);
  return importJwtSigningKey(privateKeyPem, crypto);
}

async function importJwtSigningKey(privateKeyPem: string, crypto: Crypto): Promise<JwtSigningKey> {
  const der = pemToDer(privateKeyPem, "PRIVATE KEY");
  if (!der.ok) throw new Error(`the JWT signing key is not a PKCS#8 PEM: ${der.detail}`);
  // The public point comes from the private JWK (d, x, y); then a non-extractable key signs.
  const extractable = await crypto.subtle.importKey("pkcs8", der.der, { name: "ECDSA", namedCurve: "P-256" }, true, ["sign"]);
  const full = await crypto.subtle.exportKey("jwk", extractable);
  if (full.kty !== "EC" || full.crv !== "P-256" || full.x === undefined || full.y === undefined) throw new Error("the JWT signing key is not a P-256 key");
  const jwk: EcPublicJwk = { kty: "EC", crv: "P-256", x: full.x, y: full.y };
  const privateKey = await importPrivateKey(der.der, "ecdsa-p256", { crypto, extractable: false });
  return { kid: await jwkThumbprint(jwk, crypto), jwk, privateKey, privateKeyPem };
}

/** Signs `claims` as a compact JWS with ES256 and the key's `kid` (JWT-SVID §2). */
export function signJwt(key: JwtSigningKey, claims: Record<string, unknown>, crypto: Crypto): Promise<string> {
  return signEs256Jwt({ alg: "ES256", kid: key.kid, typ: "JWT" }, claims, key.privateKey, crypto);
}

/** Writes jwt-keys.json (0600) atomically. */
export async function saveJwtKeys(dataDir: string, keys: JwtKeys): Promise<void> {
  const content: JwtKeysFileFormat = {
    format: 1,
    signing: { kid: keys.signing.kid, privateKeyPem: keys.signing.privateKeyPem, jwk: keys.signing.jwk },
    retired: keys.retired.map((k) => ({ kid: k.kid, jwk: k.jwk, publishUntil: new Date(k.publishUntilMs).toISOString() })),
  };
  await writeFileAtomic(join(dataDir, jwtKeysFile), `${JSON.stringify(content, null, 2)}\n`, 0o600);
}

/** Reads jwt-keys.json, or creates it with a new key on the first start. */
export async function loadOrCreateJwtKeys(dataDir: string, crypto: Crypto): Promise<{ readonly keys: JwtKeys; readonly created: boolean }> {
  const path = join(dataDir, jwtKeysFile);
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (!present) {
    const keys: JwtKeys = { signing: await generateJwtSigningKey(crypto), retired: [] };
    await saveJwtKeys(dataDir, keys);
    return { keys, created: true };
  }
  await checkKeyFilePermissions(path);
  let parsed: JwtKeysFileFormat;
  try {
    parsed = JSON.parse(await readFile(path, "utf8")) as JwtKeysFileFormat;
  } catch (error) {
    throw new KeyFileError(path, `${path} is not valid JSON (${(error as Error).message}); restore it from a backup, or remove it to start with a new JWT signing key (JWT-SVIDs signed before are then refused)`);
  }
  if (parsed.format !== 1 || typeof parsed.signing?.privateKeyPem !== "string" || !Array.isArray(parsed.retired)) {
    throw new KeyFileError(path, `${path} is not a Meshwork JWT key file (format 1); restore it from a backup, or remove it to start with a new key`);
  }
  let signing: JwtSigningKey;
  try {
    signing = await importJwtSigningKey(parsed.signing.privateKeyPem, crypto);
  } catch (error) {
    throw new KeyFileError(path, `${path}: ${(error as Error).message}`);
  }
  return { keys: { signing, retired: parsed.retired.map((k) => ({ kid: k.kid, jwk: k.jwk, publishUntilMs: Date.parse(k.publishUntil) })) }, created: false };
}
