import { exportPrivateKeyPem, generateKeyPair } from "@meshwork/pki";
import { verifyWorkloadToken } from "@meshwork/workload-identity";
import { describe, expect, it } from "vitest";
import { runCommand } from "../../tests/support/run-command.ts";
import { tokenIssueCommand } from "./token-issue-command.ts";

const crypto = globalThis.crypto;
const keys = await generateKeyPair("ecdsa-p256", { crypto });
const otherKeys = await generateKeyPair("ecdsa-p256", { crypto });
const keyFile = { path: "ca/token-issuer-key.pem", text: await exportPrivateKeyPem(keys.privateKey, crypto) };
const now = new Date("2026-11-22T10:00:00Z");
const nowSeconds = now.getTime() / 1000;
const fixedUuidCrypto = { subtle: crypto.subtle, getRandomValues: crypto.getRandomValues.bind(crypto), randomUUID: () => "00000000-0000-4000-8000-000000000006" } as Crypto;

function issue(argv: string[], options: { env?: Record<string, string>; files?: { path: string; text: string }[] } = {}) {
  return runCommand(tokenIssueCommand, argv, { files: options.files ?? [keyFile], env: options.env ?? {}, now, crypto: fixedUuidCrypto });
}

async function claimsOf(out: string, publicKey = keys.publicKey) {
  expect(out.endsWith("\n")).toBe(true);
  return verifyWorkloadToken(out.trimEnd(), { publicKey, crypto });
}

describe("tokenIssueCommand", () => {
  it("prints one ES256 token with the defaults: issuer meshwork, audience meshwork-ca, td cluster.local, 1 h, no jti", async () => {
    const run = await issue(["--ca-data-dir", "ca", "-n", "shop", "--service-account", "web"]);
    expect(run).toMatchObject({ code: 0, err: "" });
    expect(await claimsOf(run.out)).toEqual({
      ok: true,
      claims: { iss: "meshwork", aud: "meshwork-ca", iatSeconds: nowSeconds, nbfSeconds: nowSeconds, expSeconds: nowSeconds + 3600, ns: "shop", sa: "web", td: "cluster.local", jti: undefined },
    });
    expect(JSON.parse(Buffer.from(run.out.split(".")[0] ?? "", "base64url").toString())).toEqual({ alg: "ES256", typ: "JWT" });
  });

  it("takes every claim from flags, and --one-time adds a random jti", async () => {
    const run = await issue(["--ca-data-dir", "ca", "--namespace", "pay", "--service-account", "api", "--trust-domain", "prod.example", "--ttl", "10m", "--one-time", "--audience", "other-ca", "--issuer", "corp"]);
    expect(run.code).toBe(0);
    expect(await claimsOf(run.out)).toMatchObject({
      ok: true,
      claims: { iss: "corp", aud: "other-ca", expSeconds: nowSeconds + 600, ns: "pay", sa: "api", td: "prod.example", jti: "00000000-0000-4000-8000-000000000006" },
    });
  });

  it("reads its settings from MESHWORK_* variables when the flags are absent", async () => {
    const env = { MESHWORK_CA_DATA_DIR: "ca", MESHWORK_NAMESPACE: "shop", MESHWORK_SERVICE_ACCOUNT: "cart", MESHWORK_TOKEN_TTL: "90s", MESHWORK_TOKEN_ONE_TIME: "true", MESHWORK_TOKEN_AUDIENCE: "aud-env" };
    const run = await issue([], { env });
    expect(run.code).toBe(0);
    expect(await claimsOf(run.out)).toMatchObject({ ok: true, claims: { aud: "aud-env", sa: "cart", expSeconds: nowSeconds + 90, jti: expect.any(String) } });
  });

  it("signs with the data dir's key only: another key's public half refuses the token", async () => {
    const run = await issue(["--ca-data-dir", "ca", "-n", "shop", "--service-account", "web"]);
    expect(await claimsOf(run.out, otherKeys.publicKey)).toMatchObject({ ok: false, reason: "token-bad-signature" });
  });

  it("is a usage error (not runnable) without --namespace, naming the flag", () => {
    expect(tokenIssueCommand.prepare(["--ca-data-dir", "ca", "--service-account", "web"], {})).toEqual({
      type: "usage-error",
      message: expect.stringMatching(/^meshctl token issue: missing --namespace \(-n\).*\nRun "meshctl token issue --help" for usage\.\n$/s),
    });
  });

  it("exits 2 naming the key file, the flag and the fix when the key cannot be read", async () => {
    expect(await issue(["--ca-data-dir", "nowhere", "-n", "shop", "--service-account", "web"])).toEqual({
      code: 2,
      out: "",
      err:
        'meshctl token issue: cannot read the token issuer key "nowhere/token-issuer-key.pem": no such file or directory. ' +
        "Point --ca-data-dir (MESHWORK_CA_DATA_DIR) at the CA's --data-dir, which the CA fills on its first start, and run meshctl as a user that may read it.\n",
    });
  });

  it("exits 2 when the key file holds no P-256 private key", async () => {
    const run = await issue(["--ca-data-dir", "ca", "-n", "shop", "--service-account", "web"], { files: [{ path: "ca/token-issuer-key.pem", text: "hello\n" }] });
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toMatch(/^meshctl token issue: "ca\/token-issuer-key\.pem" is not a PKCS#8 PEM private key .*; it must be the token-issuer-key\.pem the CA created in its --data-dir\.\n$/);
  });

  it.each([
    [["--ttl", "0s"], 'invalid value for --ttl: "0s": expected a positive duration'],
    [["--ttl", "1w"], 'invalid value for --ttl: "1w"'],
    [["--trust-domain", "Bad_Domain"], 'invalid --trust-domain "Bad_Domain"'],
    [["-n", "a/b"], '--namespace "a/b" and --service-account "web" do not form a SPIFFE ID'],
  ])("exits 2 on %j, saying which value is wrong", async (extra, message) => {
    const run = await issue(["--ca-data-dir", "ca", "-n", "shop", "--service-account", "web", ...extra]);
    expect(run.code).toBe(2);
    expect(run.out).toBe("");
    expect(run.err).toContain(`meshctl token issue: ${message}`);
  });
});
