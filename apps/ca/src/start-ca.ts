// Starts the CA with its settings and injected clock, crypto and logger: loads or creates the key
// material, builds the authority, serves gRPC over TLS and the admin endpoints. main.ts calls it;
// tests call it in-process with port 0 and a temporary data dir.
import { experimental, Server } from "@grpc/grpc-js";
import {
  describePublicKey,
  exportPrivateKeyPem,
  exportPublicKeyDer,
  generateKeyPair,
  issueSvid,
  parseTrustDomain,
  svidTlsMaterial,
  workloadId,
  type SpiffeId,
} from "@meshwork/pki";
import { CertificateServiceService } from "@meshwork/protocol";
import type { Settings } from "@meshwork/runtime";
import type { Logger } from "@meshwork/telemetry";
import { startAdminServer } from "./adapters/admin-server.ts";
import { loadOrCreateRootCa, loadOrCreateTokenIssuer, loadPluggedCa } from "./adapters/ca-material.ts";
import { certificateService } from "./adapters/certificate-service.ts";
import { KeyFileError } from "./adapters/key-files.ts";
import { ServingCertificateProvider, type ServingMaterial } from "./adapters/serving-certificate.ts";
import type { caSettings } from "./ca-settings.ts";
import { CertificateAuthority } from "./certificate-authority.ts";
import { CaMetrics } from "./core/ca-metrics.ts";

/** The CA's settings, as read from flags and environment. */
export type CaConfig = Settings<typeof caSettings>;

/** What start needs from the outside world. */
export interface CaDeps {
  readonly crypto: Crypto;
  readonly clock: () => Date;
  readonly monotonicMs: () => number;
  readonly logger: Logger;
  /** Registers a stop hook (runUntilStopped's `lifecycle.onStop`); hooks run in reverse order. */
  readonly onStop: (name: string, hook: () => Promise<void> | void) => void;
  /** Extra process metrics lines for /metrics. */
  readonly processMetrics?: () => readonly string[];
}

/** A running CA. */
export interface RunningCa {
  readonly authority: CertificateAuthority;
  readonly metrics: CaMetrics;
  readonly grpcPort: number;
  readonly adminPort: number;
  /** The CA's own SPIFFE ID, which clients expect from its TLS certificate. */
  readonly serverId: SpiffeId;
  /** Rotates the intermediate when due and renews the serving certificate past half-life; main calls it periodically. */
  maintain(): Promise<void>;
}

/** Throws KeyFileError (an operator error: main prints it and exits 1) or starts the CA. */
export async function startCa(config: CaConfig, deps: CaDeps): Promise<RunningCa> {
  const { crypto, clock, logger } = deps;
  const td = parseTrustDomain(config.trustDomain);
  if (!td.ok) throw new KeyFileError("--trust-domain", `invalid --trust-domain: ${td.detail}`);
  const trustDomain = td.trustDomain;
  const plugged = [config.caCert, config.caKey, config.rootCert];
  let parent;
  if (plugged.some((p) => p !== undefined)) {
    if (config.caCert === undefined || config.caKey === undefined || config.rootCert === undefined) {
      throw new KeyFileError("--ca-cert", "a plugged-in CA needs --ca-cert, --ca-key and --root-cert (and --cert-chain when there are intermediates)");
    }
    parent = await loadPluggedCa({ caCert: config.caCert, caKey: config.caKey, certChain: config.certChain, rootCert: config.rootCert }, trustDomain, crypto);
    logger.info("plugged-in CA loaded", { caCert: config.caCert, notAfter: parent.notAfter.toISOString() });
  } else {
    const root = await loadOrCreateRootCa({ dataDir: config.dataDir, trustDomain, ttlSeconds: config.rootTtlSeconds, crypto, now: clock() });
    parent = root.ca;
    logger.info(root.created ? "root CA created" : "root CA loaded", { dataDir: config.dataDir, notAfter: parent.notAfter.toISOString() });
  }
  const tokenIssuer = await loadOrCreateTokenIssuer(config.dataDir, crypto);
  const metrics = new CaMetrics();
  const authority = await CertificateAuthority.create({
    trustDomain,
    parent,
    intermediateTtlSeconds: config.intermediateTtlSeconds,
    policy: {
      trustDomain,
      allowedTrustDomains: [trustDomain],
      allowedNamespaces: config.allowedNamespaces,
      tokenIssuer: config.tokenIssuer,
      tokenAudience: config.tokenAudience,
      defaultTtlSeconds: config.defaultTtlSeconds,
      maxTtlSeconds: config.maxTtlSeconds,
      clockSkewSeconds: config.clockSkewSeconds,
    },
    rateLimit: { ratePerSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst },
    tokenPublicKey: tokenIssuer.publicKey,
    crypto,
    clock,
    monotonicMs: deps.monotonicMs,
    logger,
    metrics,
  });

  const serverIdResult = workloadId({ trustDomain, namespace: "mesh-system", serviceAccount: "ca" });
  if (!serverIdResult.ok) throw new Error(serverIdResult.detail);
  const serverId = serverIdResult.id;
  let servingNotAfter = 0;
  let servingRenewAt = 0;
  const issueServing = async (): Promise<ServingMaterial> => {
    const keys = await generateKeyPair("ecdsa-p256", { crypto });
    const spki = await exportPublicKeyDer(keys.publicKey, crypto);
    const key = describePublicKey(spki);
    if (!key.ok) throw new Error(key.detail);
    const now = clock();
    const issued = await issueSvid({ csr: { spki, key: key.key }, spiffeId: serverId, ttlSeconds: config.maxTtlSeconds, issuer: authority.signingCa, now, crypto });
    if (!issued.ok) throw new Error(`cannot issue the CA's serving certificate: ${issued.detail}`);
    servingNotAfter = issued.svid.notAfter.getTime();
    servingRenewAt = now.getTime() + (servingNotAfter - now.getTime()) / 2;
    return svidTlsMaterial({ chain: issued.svid.chain, privateKeyPem: await exportPrivateKeyPem(keys.privateKey, crypto), bundles: authority.trustBundles() });
  };
  const provider = new ServingCertificateProvider(await issueServing());

  // Channelz bookkeeping (per-call counters and traces) showed in bench/ca's profile; nothing reads it.
  const server = new Server({ "grpc.enable_channelz": 0 });
  const service = certificateService(authority, logger);
  server.addService(CertificateServiceService, service.implementation);
  const credentials = experimental.createCertificateProviderServerCredentials(provider, provider, false);
  const grpcPort = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${config.host}:${config.grpcPort}`, credentials, (error, port) => (error ? reject(error) : resolve(port)));
  });
  deps.onStop("grpc server", async () => {
    service.endWatches();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => server.forceShutdown(), 3000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  });

  let ready = true;
  const admin = await startAdminServer({
    host: config.host,
    port: config.adminPort,
    isReady: () => ready,
    metrics: () => metrics.render(deps.processMetrics?.() ?? []),
  });
  deps.onStop("admin server", () => admin.close());
  deps.onStop("readiness", () => {
    ready = false;
  });
  logger.info("ready", { grpcPort, adminPort: admin.port, trustDomain, serverId, tokenIssuerPublicKey: tokenIssuer.publicKeyPath });

  return {
    authority,
    metrics,
    grpcPort,
    adminPort: admin.port,
    serverId,
    async maintain() {
      await authority.rotateIntermediate();
      if (clock().getTime() >= servingRenewAt) provider.update(await issueServing());
    },
  };
}
