// Test support: key pairs for every JWS algorithm the sidecar verifies, made with node:crypto at
// test time, tokens signed with them and the JSON Web Key Sets that publish them. Not used by the
// proxy itself.
import { createHmac, createPrivateKey, generateKeyPairSync, randomBytes, sign, constants, type KeyObject } from "node:crypto";
import type { JwtAlgorithm } from "../parse-jwt.ts";

export interface TestKey {
  readonly alg: JwtAlgorithm;
  readonly kid: string;
  /** Private key (or the HMAC secret). */
  readonly signingKey: KeyObject | Buffer;
  /** The public JWK (or the oct JWK), with kid and alg. */
  readonly jwk: Record<string, string>;
}

const rsaKeys = new Map<string, KeyObject>();

/** A fresh key for `alg` (RSA keys of the same size are shared between calls to save time). */
export function generateTestKey(alg: JwtAlgorithm, kid: string, options: { rsaBits?: number; jwkAlg?: boolean } = {}): TestKey {
  let privateKey: KeyObject;
  if (alg.startsWith("HS")) {
    const secret = randomBytes(32);
    return { alg, kid, signingKey: secret, jwk: { kty: "oct", k: secret.toString("base64url"), kid, ...(options.jwkAlg === false ? {} : { alg }) } };
  }
  if (alg.startsWith("RS") || alg.startsWith("PS")) {
    const bits = options.rsaBits ?? 2048;
    const cacheKey = `${bits}:${kid}`;
    privateKey = rsaKeys.get(cacheKey) ?? generateKeyPairSync("rsa", { modulusLength: bits }).privateKey;
    rsaKeys.set(cacheKey, privateKey);
  } else if (alg === "EdDSA") {
    privateKey = generateKeyPairSync("ed25519").privateKey;
  } else {
    const curve = alg === "ES256" ? "prime256v1" : alg === "ES384" ? "secp384r1" : "secp521r1";
    privateKey = generateKeyPairSync("ec", { namedCurve: curve }).privateKey;
  }
  const publicJwk = createPrivateKeyPublic(privateKey);
  return { alg, kid, signingKey: privateKey, jwk: { ...publicJwk, kid, ...(options.jwkAlg === false ? {} : { alg }) } };
}

function createPrivateKeyPublic(privateKey: KeyObject): Record<string, string> {
  const full = createPrivateKey(privateKey.export({ format: "pem", type: "pkcs8" })).export({ format: "jwk" }) as Record<string, string>;
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = full;
  return pub;
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString("base64url");

/** A compact JWS of `payload` signed with `key`; `header` fields are added to (or override) alg/kid/typ. */
export function signJwt(key: TestKey, payload: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: key.alg, kid: key.kid, typ: "JWT", ...header })}.${b64(payload)}`;
  return `${input}.${signatureOf(key, input).toString("base64url")}`;
}

function signatureOf(key: TestKey, input: string): Buffer {
  const data = Buffer.from(input);
  const bits = key.alg === "EdDSA" ? "" : key.alg.slice(2);
  const digest = `sha${bits}`;
  if (key.alg.startsWith("HS")) return createHmac(digest, key.signingKey as Buffer).update(data).digest();
  const privateKey = key.signingKey as KeyObject;
  if (key.alg === "EdDSA") return sign(null, data, privateKey);
  if (key.alg.startsWith("PS")) return sign(digest, data, { key: privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST });
  if (key.alg.startsWith("ES")) return sign(digest, data, { key: privateKey, dsaEncoding: "ieee-p1363" });
  return sign(digest, data, privateKey);
}

/** `{"keys": [...]}` publishing `keys`. */
export function jwksOf(...keys: readonly TestKey[]): string {
  return JSON.stringify({ keys: keys.map((k) => k.jwk) });
}
