// openssl verifies leaves spliced from the SVID template (svid-tbs.ts) for several key types,
// IDs, TTLs and times on both sides of 2050 (UTCTime / GeneralizedTime), with an EC and an RSA CA.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certificatesToPem, createIntermediateCa, createRootCa, exportPublicKeyDer, generateKeyPair, issueSvid, type SigningCa, type SpiffeId } from "../src/index.ts";
import { ok, t0, td } from "./fixtures.ts";

let dir: string;
const cas: { name: string; chain: SigningCa }[] = [];
const keys: { spki: Uint8Array; key: { kind: "ecdsa"; curve: string } | { kind: "rsa"; bits: number } }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pki-template-openssl-"));
  const trustDomain = td("cluster.local");
  const root = await createRootCa({ trustDomain, keys: await generateKeyPair(), now: t0, ttlSeconds: 60 * 365 * 86400 });
  const rsaIntermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair("rsa-2048"), now: t0, ttlSeconds: 40 * 365 * 86400 })).ca;
  const ecIntermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair(), now: t0, ttlSeconds: 40 * 365 * 86400 })).ca;
  cas.push({ name: "ec", chain: ecIntermediate }, { name: "rsa", chain: rsaIntermediate });
  writeFileSync(join(dir, "root.pem"), certificatesToPem([root.chain[0] as Uint8Array]));
  for (const { name, chain } of cas) writeFileSync(join(dir, `${name}.pem`), certificatesToPem([chain.chain[0] as Uint8Array]));
  keys.push({ spki: await exportPublicKeyDer((await generateKeyPair()).publicKey), key: { kind: "ecdsa", curve: "P-256" } });
  keys.push({ spki: await exportPublicKeyDer((await generateKeyPair("ecdsa-p384")).publicKey), key: { kind: "ecdsa", curve: "P-384" } });
  keys.push({ spki: await exportPublicKeyDer((await generateKeyPair("rsa-2048")).publicKey), key: { kind: "rsa", bits: 2048 } });
}, 30_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const segment = fc.stringMatching(/^[a-zA-Z0-9_-]{1,40}$/);

describe("openssl verify accepts template-built SVIDs", () => {
  it("for every CA key / leaf key / ID / TTL / time combination tried", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1 }),
        fc.integer({ min: 0, max: 2 }),
        fc.array(segment, { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 90 * 86400 }),
        fc.integer({ min: 0, max: 35 * 365 * 86400 }),
        async (ca, key, path, ttlSeconds, offsetSeconds) => {
          const { name, chain } = cas[ca] as (typeof cas)[number];
          const { spki, key: described } = keys[key] as (typeof keys)[number];
          const spiffeId = `spiffe://cluster.local/${path.join("/")}` as SpiffeId;
          const now = new Date(t0.getTime() + offsetSeconds * 1000);
          const svid = ok(await issueSvid({ csr: { spki, key: described }, spiffeId, ttlSeconds, issuer: chain, now })).svid;
          writeFileSync(join(dir, "leaf.pem"), certificatesToPem([svid.certificate]));
          const attime = String(Math.floor(now.getTime() / 1000));
          const out = execFileSync("openssl", ["verify", "-x509_strict", "-attime", attime, "-CAfile", "root.pem", "-untrusted", `${name}.pem`, "-purpose", "sslclient", "leaf.pem"], { cwd: dir, encoding: "utf8" });
          expect(out).toBe("leaf.pem: OK\n");
        },
      ),
      { numRuns: 25 },
    );
  });
});
