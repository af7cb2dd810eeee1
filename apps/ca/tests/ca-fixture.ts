// Test fixture: a CA started in-process (real gRPC over TLS, real admin HTTP, temporary data dir),
// a client that authenticates it by SPIFFE ID, and helpers to mint tokens and CSRs.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ServiceError } from "@grpc/grpc-js";
import { createCsr, generateKeyPair, pemToDer, type SpiffeId } from "@meshwork/pki";
import { readSettings } from "@meshwork/runtime";
import { createLogger } from "@meshwork/telemetry";
import { createCaClient, createCertificate, mintWorkloadToken, tokenIssuerFiles } from "@meshwork/workload-identity";
import { refusalReasonKey } from "../src/adapters/certificate-service.ts";
import { readPrivateKeyFile } from "../src/adapters/key-files.ts";
import { nodeCrypto } from "../src/adapters/node-crypto.ts";
import { caSettings } from "../src/ca-settings.ts";
import { startCa, type RunningCa } from "../src/start-ca.ts";

/** A running CA plus what tests need around it. */
export interface CaFixture {
  readonly ca: RunningCa;
  readonly dataDir: string;
  readonly logLines: string[];
  readonly crypto: Crypto;
  readonly tokenKey: CryptoKey;
  /** A fresh client trusting the CA's current bundle. */
  client(): ReturnType<typeof createCaClient>;
  /** Mints a token for ns/sa (defaults: right issuer and audience, 10 min). */
  token(options: { ns: string; sa: string; audience?: string; now?: Date; ttlSeconds?: number; jti?: string; key?: CryptoKey }): Promise<string>;
  /** Runs the stop hooks and removes the data dir when the fixture created it. */
  stop(): Promise<void>;
}

/** Starts a CA with `args` as extra flags (data dir, ports 0 and a strict rate limit preset). */
export async function startCaFixture(args: readonly string[] = [], dataDir?: string): Promise<CaFixture> {
  const dir = dataDir ?? (await mkdtemp(join(tmpdir(), "meshwork-ca-")));
  const read = readSettings(caSettings, {
    argv: ["--data-dir", dir, "--grpc-port", "0", "--admin-port", "0", "--rate-limit-per-second", "0.001", "--rate-limit-burst", "3", ...args],
    env: {},
  });
  if (read.type !== "settings") throw new Error(`bad test settings: ${JSON.stringify(read)}`);
  const logLines: string[] = [];
  const hooks: (() => Promise<void> | void)[] = [];
  const crypto = nodeCrypto();
  const ca = await startCa(read.settings, {
    crypto,
    clock: () => new Date(),
    monotonicMs: () => performance.now(),
    logger: createLogger({ name: "ca", level: "info", write: (line) => void logLines.push(line) }),
    onStop: (_name, hook) => void hooks.push(hook),
  });
  const tokenKey = await readPrivateKeyFile(join(dir, tokenIssuerFiles.privateKey), crypto);
  return {
    ca,
    dataDir: dir,
    logLines,
    crypto,
    tokenKey,
    client: () =>
      createCaClient({
        address: `127.0.0.1:${ca.grpcPort}`,
        bundles: ca.authority.trustBundles(),
        rootsPem: ca.authority.bundle().rootsPem.join(""),
        serverId: ca.serverId,
        clock: () => new Date(),
      }),
    token: (o) =>
      mintWorkloadToken({
        privateKey: o.key ?? tokenKey,
        issuer: "meshwork",
        audience: o.audience ?? "meshwork-ca",
        namespace: o.ns,
        serviceAccount: o.sa,
        now: o.now ?? new Date(),
        ttlSeconds: o.ttlSeconds ?? 600,
        ...(o.jti !== undefined ? { jti: o.jti } : {}),
        crypto,
      }),
    async stop() {
      for (const hook of hooks.reverse()) await hook();
      if (dataDir === undefined) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** A CSR (PEM) for `spiffeId` with a fresh P-256 key. */
export async function csrFor(spiffeId: string): Promise<string> {
  return (await createCsr({ keys: await generateKeyPair(), spiffeId: spiffeId as SpiffeId })).pem;
}

/** The DER chain of a CreateCertificate response. */
export function chainDer(certChain: readonly string[]): Uint8Array[] {
  return certChain.map((pem) => {
    const der = pemToDer(pem, "CERTIFICATE");
    if (!der.ok) throw new Error(der.detail);
    return der.der;
  });
}

/** Calls CreateCertificate and returns the error's code and refusal reason (throws if it succeeded). */
export async function refusalOf(promise: Promise<unknown>): Promise<{ code: number; reason: string; details: string }> {
  try {
    await promise;
  } catch (error) {
    const e = error as ServiceError;
    return { code: e.code, reason: String(e.metadata?.get(refusalReasonKey)[0] ?? ""), details: e.details };
  }
  throw new Error("the request was not refused");
}

export { createCertificate };
