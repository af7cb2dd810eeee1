// The real peer check: the Debian `openssl` binary verifies chains this lib issues and shows the
// SVID profile, and this lib accepts what openssl makes (CSRs, keys, a plugged-in CA).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  certificatesToPem,
  createCsr,
  createIntermediateCa,
  createRootCa,
  exportPrivateKeyPem,
  generateKeyPair,
  importPrivateKey,
  issueSvid,
  loadSigningCa,
  parseCsr,
  pemToDer,
  splitPem,
  trustBundles,
  verifySvid,
} from "../src/index.ts";
import { issue, makePki, ok, sid, t0, type TestPki } from "./fixtures.ts";

let dir: string;
let pki: TestPki;
const web = sid("spiffe://cluster.local/ns/default/sa/web");
/** openssl checks validity at the tests' fixed time, not the wall clock. */
const attime = String(t0.getTime() / 1000 + 60);

function openssl(args: string[], input?: string): string {
  try {
    return execFileSync("openssl", args, { cwd: dir, encoding: "utf8", stdio: ["pipe", "pipe", "pipe"], ...(input === undefined ? {} : { input }) });
  } catch (e) {
    const err = e as { code?: string; stdout?: string; stderr?: string };
    if (err.code === "ENOENT") throw new Error("the openssl binary is missing: install it with `apt-get install -y openssl`");
    throw new Error(`openssl ${args.join(" ")} failed:\n${err.stdout ?? ""}${err.stderr ?? ""}`);
  }
}

function write(name: string, text: string): string {
  writeFileSync(join(dir, name), text);
  return name;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "pki-openssl-"));
  openssl(["version"]);
  pki = await makePki("cluster.local");
  write("root.pem", certificatesToPem([pki.root.chain[0] as Uint8Array]));
  write("intermediate.pem", certificatesToPem([pki.intermediate.chain[0] as Uint8Array]));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const verifyArgs = (leaf: string, ...extra: string[]) => ["verify", "-x509_strict", "-attime", attime, "-CAfile", "root.pem", "-untrusted", "intermediate.pem", ...extra, leaf];

describe("openssl accepts what the lib issues", () => {
  it("verifies an ECDSA P-256 SVID chain (strict), for both TLS client and server purposes", async () => {
    write("leaf.pem", certificatesToPem([(await issue(pki.intermediate, web)).certificate]));
    expect(openssl(verifyArgs("leaf.pem"))).toBe("leaf.pem: OK\n");
    expect(openssl(verifyArgs("leaf.pem", "-purpose", "sslserver"))).toBe("leaf.pem: OK\n");
    expect(openssl(verifyArgs("leaf.pem", "-purpose", "sslclient"))).toBe("leaf.pem: OK\n");
  });

  it("shows the X.509-SVID profile in `openssl x509 -text`", async () => {
    const text = openssl(["x509", "-noout", "-text", "-in", write("profile.pem", certificatesToPem([(await issue(pki.intermediate, web)).certificate]))]);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    expect(text).toMatch(/X509v3 Subject Alternative Name: critical\n\s+URI:spiffe:\/\/cluster.local\/ns\/default\/sa\/web\n/);
    expect(text).toMatch(/Subject: ?\n/);
    expect(text).toContain("X509v3 Subject Key Identifier");
    expect(text).toContain("X509v3 Authority Key Identifier");
    expect(text).toContain("ecdsa-with-SHA256");
  });

  it("shows the CA profile of the intermediate and root", () => {
    const intermediate = openssl(["x509", "-noout", "-text", "-in", "intermediate.pem"]);
    expect(intermediate).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:TRUE, pathlen:0/);
    expect(intermediate).toMatch(/X509v3 Key Usage: critical\n\s+Certificate Sign, CRL Sign/);
    expect(intermediate).toContain("URI:spiffe://cluster.local\n");
    expect(openssl(["x509", "-noout", "-text", "-in", "root.pem"])).toMatch(/CA:TRUE, pathlen:1/);
  });

  it("verifies an SVID for an RSA-2048 key, with keyEncipherment", async () => {
    const csr = ok(await parseCsr((await createCsr({ keys: await generateKeyPair("rsa-2048"), spiffeId: web })).der)).csr;
    const svid = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 3600, issuer: pki.intermediate, now: t0 })).svid;
    write("rsa.pem", certificatesToPem([svid.certificate]));
    expect(openssl(verifyArgs("rsa.pem"))).toBe("rsa.pem: OK\n");
    expect(openssl(["x509", "-noout", "-ext", "keyUsage", "-in", "rsa.pem"])).toContain("Digital Signature, Key Encipherment");
  });

  it("verifies chains under an RSA-2048 root and a P-384 intermediate, as verifySvid does", async () => {
    const root = await createRootCa({ trustDomain: pki.trustDomain, keys: await generateKeyPair("rsa-2048"), now: t0, ttlSeconds: 86400, commonName: "RSA Root" });
    const intermediate = ok(await createIntermediateCa({ parent: root, keys: await generateKeyPair("ecdsa-p384"), now: t0, ttlSeconds: 3600, commonName: "P-384 Intermediate" })).ca;
    const svid = await issue(intermediate, web);
    write("rsa-root.pem", certificatesToPem([root.chain[0] as Uint8Array]));
    write("p384-intermediate.pem", certificatesToPem([intermediate.chain[0] as Uint8Array]));
    write("mixed-leaf.pem", certificatesToPem([svid.certificate]));
    expect(openssl(["verify", "-x509_strict", "-attime", attime, "-CAfile", "rsa-root.pem", "-untrusted", "p384-intermediate.pem", "mixed-leaf.pem"])).toBe("mixed-leaf.pem: OK\n");
    expect(openssl(["x509", "-noout", "-text", "-in", "mixed-leaf.pem"])).toContain("ecdsa-with-SHA384");
    expect(await verifySvid({ chain: svid.chain, bundles: trustBundles([[pki.trustDomain, [root.chain[0] as Uint8Array]]]), now: t0 })).toMatchObject({ ok: true, spiffeId: web });
  });

  it("verifies the signature of a CSR the lib builds", async () => {
    const csr = await createCsr({ keys: await generateKeyPair(), spiffeId: web });
    const out = openssl(["req", "-verify", "-noout", "-text", "-in", write("req.pem", csr.pem)]);
    expect(out).toContain("URI:spiffe://cluster.local/ns/default/sa/web");
  });

  it("agrees with the lib when it must refuse: expired, and under another root", async () => {
    write("late.pem", certificatesToPem([(await issue(pki.intermediate, web)).certificate]));
    expect(() => openssl(["verify", "-attime", String(t0.getTime() / 1000 + 7200), "-CAfile", "root.pem", "-untrusted", "intermediate.pem", "late.pem"])).toThrow(/expired/);
    const other = await makePki("cluster.local");
    write("other-root.pem", certificatesToPem([other.root.chain[0] as Uint8Array]));
    expect(() => openssl(["verify", "-attime", attime, "-CAfile", "other-root.pem", "-untrusted", "intermediate.pem", "late.pem"])).toThrow(/unable to get local issuer certificate|signature failure/);
  });
});

describe("the lib accepts what openssl makes", () => {
  it("parses an openssl CSR and issues a certificate for it that openssl verifies", async () => {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "wl.key"]);
    openssl(["req", "-new", "-key", "wl.key", "-subj", "/", "-addext", `subjectAltName=critical,URI:${web}`, "-out", "wl.csr"]);
    const csr = ok(await parseCsr(readFileSync(join(dir, "wl.csr"), "utf8"))).csr;
    expect(csr.requestedId).toBe(web);
    const svid = ok(await issueSvid({ csr, spiffeId: web, ttlSeconds: 600, issuer: pki.intermediate, now: t0 })).svid;
    write("wl.pem", certificatesToPem([svid.certificate]));
    expect(openssl(verifyArgs("wl.pem"))).toBe("wl.pem: OK\n");
    // openssl agrees the certificate holds the CSR's key.
    expect(openssl(["x509", "-noout", "-pubkey", "-in", "wl.pem"])).toBe(openssl(["pkey", "-pubout", "-in", "wl.key"]));
  });

  it("loads an openssl-made root and its PKCS#8 key as a signing CA (the `cacerts` plug-in)", async () => {
    openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "ca.key"]);
    openssl([
      "req", "-x509", "-new", "-key", "ca.key", "-subj", "/O=cluster.local/CN=Plugged Root", "-days", "3650",
      "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
      "-addext", "subjectAltName=URI:spiffe://cluster.local", "-out", "ca.pem",
    ]);
    const caDer = ok(pemToDer(readFileSync(join(dir, "ca.pem"), "utf8"), "CERTIFICATE")).der;
    const keyDer = ok(pemToDer(readFileSync(join(dir, "ca.key"), "utf8"), "PRIVATE KEY")).der;
    const ca = ok(await loadSigningCa({ chain: [caDer], privateKey: await importPrivateKey(keyDer, "ecdsa-p256") })).ca;
    expect(ca.trustDomain).toBe("cluster.local");
    // `openssl req -x509` dates its root from the wall clock, so this case issues at the wall clock too.
    const now = new Date();
    const svid = ok(await issueSvid({ csr: ok(await parseCsr((await createCsr({ keys: await generateKeyPair(), spiffeId: web })).der)).csr, spiffeId: web, ttlSeconds: 600, issuer: ca, now })).svid;
    write("plugged-leaf.pem", certificatesToPem([svid.certificate]));
    expect(openssl(["verify", "-x509_strict", "-CAfile", "ca.pem", "plugged-leaf.pem"])).toBe("plugged-leaf.pem: OK\n");
    expect(await verifySvid({ chain: svid.chain, bundles: trustBundles([[ca.trustDomain, [caDer]]]), now })).toMatchObject({ ok: true, spiffeId: web });
  });

  it("exports keys openssl reads", async () => {
    const keys = await generateKeyPair();
    const pem = await exportPrivateKeyPem(keys.privateKey);
    expect(splitPem(pem)).toMatchObject({ ok: true, blocks: [{ label: "PRIVATE KEY" }] });
    expect(openssl(["pkey", "-noout", "-text", "-in", write("exported.key", pem)])).toContain("NIST CURVE: P-256");
  });
});
