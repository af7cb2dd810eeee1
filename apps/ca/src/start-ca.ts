// Starts the CA with its settings and injected clock, crypto and logger: loads or creates the key
// material, builds the authority, serves gRPC over TLS and the admin endpoints. main.ts calls it;
// tests call it in-process with port 0 and a temporary data dir.
import { readFile } from "node:fs/promises";
import {
  describePublicKey,
  exportPrivateKeyPem,
  exportPublicKeyDer,
  generateKeyPair,
  issueSvid,
  parseTrustDomain,
  pemToDer,
  svidTlsMaterial,
  workloadId,
  type SigningCa,
  type SpiffeId,
} from "@meshwork/pki";
import type { Settings } from "@meshwork/runtime";
import type { Logger } from "@meshwork/telemetry";
import { adminApi } from "./adapters/admin-api.ts";
import { startAdminServer } from "./adapters/admin-server.ts";
import { loadOrCreateRootCa, loadOrCreateTokenIssuer, loadPluggedCa } from "./adapters/ca-material.ts";
import { addCertificateService } from "./adapters/certificate-service.ts";
import { GrpcHttp2Server } from "@meshwork/protocol";
import { IssuancePool } from "./adapters/issuance-pool.ts";
import { checkKeyFilePermissions, KeyFileError } from "./adapters/key-files.ts";
import { loadOrCreateJwtKeys, saveJwtKeys } from "./adapters/jwt-keys.ts";
import { kubeTokenReviewAttestor } from "./adapters/kube-token-review.ts";
import { answerOidcDiscovery } from "./adapters/oidc-discovery.ts";
import { readNextRoot, readRotationState, recoverRotation, type RotationState } from "./adapters/rotation-store.ts";
import { servingContext, type ServingMaterial } from "./adapters/serving-certificate.ts";
import type { caSettings } from "./ca-settings.ts";
import { CertificateAuthority } from "./certificate-authority.ts";
import { CaMetrics } from "./core/ca-metrics.ts";
import { RootRotation } from "./root-rotation.ts";

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
  /** The root rotation (also driven by the admin API). */
  readonly rotation: RootRotation;
  /** Rotates the intermediate when due, drops expired retired JWT keys and renews the serving certificate past half-life; main calls it periodically. */
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
  let resumed: { state: RotationState; nextRoot: SigningCa } | undefined;
  let rotationState: RotationState | undefined;
  if (plugged.some((p) => p !== undefined)) {
    if (config.caCert === undefined || config.caKey === undefined || config.rootCert === undefined) {
      throw new KeyFileError("--ca-cert", "a plugged-in CA needs --ca-cert, --ca-key and --root-cert (and --cert-chain when there are intermediates)");
    }
    parent = await loadPluggedCa({ caCert: config.caCert, caKey: config.caKey, certChain: config.certChain, rootCert: config.rootCert }, trustDomain, crypto);
    logger.info("plugged-in CA loaded", { caCert: config.caCert, notAfter: parent.notAfter.toISOString() });
  } else {
    await recoverRotation(config.dataDir);
    const root = await loadOrCreateRootCa({ dataDir: config.dataDir, trustDomain, ttlSeconds: config.rootTtlSeconds, crypto, now: clock() });
    parent = root.ca;
    logger.info(root.created ? "root CA created" : "root CA loaded", { dataDir: config.dataDir, notAfter: parent.notAfter.toISOString() });
    rotationState = await readRotationState(config.dataDir);
    if (rotationState?.phase === "published" || rotationState?.phase === "switched") {
      const nextRoot = await readNextRoot(config.dataDir, trustDomain, crypto);
      resumed = { state: rotationState, nextRoot };
      if (rotationState.phase === "switched") parent = nextRoot;
      logger.info("root rotation resumed", { phase: rotationState.phase, bundleVersion: rotationState.bundleVersion });
    }
  }
  const initialBundle = rotationState === undefined ? undefined : bundleOf(rotationState, resumed === undefined ? [rootOfCa(parent)] : undefined);
  const external = await kubeAttestor(config);
  const adminToken = await readAdminToken(config);
  const tokenIssuer = await loadOrCreateTokenIssuer(config.dataDir, crypto);
  const metrics = new CaMetrics();
  if (config.jwtTtlSeconds < 0) throw new KeyFileError("--jwt-ttl-seconds", `--jwt-ttl-seconds must be 0 (no JWT-SVIDs) or more, got ${config.jwtTtlSeconds}`);
  const jwtKeys = config.jwtTtlSeconds > 0 ? await loadOrCreateJwtKeys(config.dataDir, crypto) : undefined;
  if (jwtKeys) logger.info(jwtKeys.created ? "JWT signing key created" : "JWT signing key loaded", { kid: jwtKeys.keys.signing.kid, retired: jwtKeys.keys.retired.length });
  if (config.issuanceWorkers < 0) throw new KeyFileError("--issuance-workers", `--issuance-workers must be 0 or more, got ${config.issuanceWorkers}`);
  const issuancePool = config.issuanceWorkers > 0 ? await IssuancePool.start({ size: config.issuanceWorkers, tokenPublicKeyPem: await readFile(tokenIssuer.publicKeyPath, "utf8") }) : undefined;
  if (issuancePool) {
    deps.onStop("issuance workers", () => issuancePool.close());
    logger.info("issuance workers started", { workers: issuancePool.size });
  }
  // Created after the authority (it needs it); the authority's onIssued reaches it through this.
  const late: { rotation?: RootRotation } = {};
  const authority = await CertificateAuthority.create({
    ...(issuancePool ? { issuanceCrypto: issuancePool } : {}),
    trustDomain,
    parent,
    ...(initialBundle ? { initialBundle } : {}),
    ...(external ? { externalAttestor: external } : {}),
    ...(jwtKeys ? { jwt: { keys: jwtKeys.keys, ttlSeconds: config.jwtTtlSeconds, issuer: config.jwtIssuer, persist: (keys) => saveJwtKeys(config.dataDir, keys) } } : {}),
    onIssued: (issued, request) => late.rotation?.recordIssued(issued, request),
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
  const server = new GrpcHttp2Server({ tls: servingContext(await issueServing()), onError: (error, path) => logger.error("gRPC call failed", { err: error, path }) });
  const rootRotation = new RootRotation({
    authority,
    trustDomain,
    dataDir: config.dataDir,
    supported: !plugged.some((p) => p !== undefined),
    rootTtlSeconds: config.rootTtlSeconds,
    crypto,
    clock,
    logger,
    onSwitched: async () => server.setSecureContext(servingContext(await issueServing())),
    ...(resumed ? { resumed: { ...resumed, blindUntilMs: clock().getTime() + config.maxTtlSeconds * 1000 } } : {}),
  });
  late.rotation = rootRotation;
  // The rotation takes its next step as soon as the workloads allow it.
  const rotationTimer = setInterval(() => {
    if (rootRotation.phase !== "idle") rootRotation.advance().catch((error: unknown) => logger.error("root rotation step failed", { err: error }));
  }, 1000);
  rotationTimer.unref();
  deps.onStop("root rotation timer", () => clearInterval(rotationTimer));

  addCertificateService(server, authority);
  const grpcPort = await server.listen(config.host, config.grpcPort);
  deps.onStop("grpc server", () => server.close(3000));

  let ready = true;
  const admin = await startAdminServer({
    api: adminApi(rootRotation, { token: adminToken, allowRemote: config.adminAllowRemote === true, ...(jwtKeys ? { rotateJwtKey: () => authority.rotateJwtKey() } : {}) }),
    publicJson: (request) => answerOidcDiscovery(request, { issuer: config.jwtIssuer, keys: () => authority.jwtKeySet() }),
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
    rotation: rootRotation,
    async maintain() {
      await authority.rotateIntermediate();
      await authority.pruneJwtKeys();
      if (clock().getTime() >= servingRenewAt) server.setSecureContext(servingContext(await issueServing()));
    },
  };
}

function rootOfCa(ca: SigningCa): Uint8Array {
  return ca.chain[ca.chain.length - 1] as Uint8Array;
}

/** The bundle recorded in rotation-state.json (or `roots` with its version when idle). */
function bundleOf(state: RotationState, roots: readonly Uint8Array[] | undefined): { roots: readonly Uint8Array[]; version: number } {
  const recorded = state.bundleRootsPem.map((pem) => {
    const der = pemToDer(pem, "CERTIFICATE");
    if (!der.ok) throw new KeyFileError("rotation-state.json", `rotation-state.json holds a root that is not a PEM certificate: ${der.detail}`);
    return der.der;
  });
  return { roots: roots ?? recorded, version: state.bundleVersion };
}

/** The admin bearer token from --admin-token-file (0600, non-empty), if set. */
async function readAdminToken(config: CaConfig): Promise<string | undefined> {
  if (config.adminAllowRemote === true && config.adminTokenFile === undefined) {
    throw new KeyFileError("--admin-allow-remote", "--admin-allow-remote needs --admin-token-file: a remote admin API must authenticate its callers");
  }
  if (config.adminTokenFile === undefined) return undefined;
  const path = config.adminTokenFile;
  const text = await readFile(path, "utf8").catch((error: unknown) => {
    throw new KeyFileError(path, `cannot read --admin-token-file ${path}: ${(error as Error).message}`);
  });
  await checkKeyFilePermissions(path);
  const token = text.trim();
  if (token === "" || /\s/.test(token)) throw new KeyFileError(path, `--admin-token-file ${path} must hold one token without spaces (e.g. \`openssl rand -hex 32 > ${path}\`)`);
  return token;
}

/** The TokenReview attestor when --kube-api-server is set (with --kube-token-file and --kube-ca-file). */
async function kubeAttestor(config: CaConfig): Promise<ReturnType<typeof kubeTokenReviewAttestor> | undefined> {
  const { kubeApiServer, kubeTokenFile, kubeCaFile } = config;
  if (kubeApiServer === undefined && kubeTokenFile === undefined && kubeCaFile === undefined) return undefined;
  if (kubeApiServer === undefined || kubeTokenFile === undefined || kubeCaFile === undefined) {
    throw new KeyFileError("--kube-api-server", "Kubernetes attestation needs --kube-api-server, --kube-token-file and --kube-ca-file together");
  }
  let url: URL;
  try {
    url = new URL(kubeApiServer);
  } catch {
    throw new KeyFileError("--kube-api-server", `--kube-api-server "${kubeApiServer}" is not a URL; use https://HOST[:PORT]`);
  }
  if (url.protocol !== "https:") throw new KeyFileError("--kube-api-server", `--kube-api-server must be https://, got "${kubeApiServer}"`);
  const read = (path: string, flag: string) =>
    readFile(path, "utf8").catch((error: unknown) => {
      throw new KeyFileError(path, `cannot read ${flag} ${path}: ${(error as Error).message}`);
    });
  return kubeTokenReviewAttestor({
    apiServer: kubeApiServer,
    bearerToken: (await read(kubeTokenFile, "--kube-token-file")).trim(),
    caPem: await read(kubeCaFile, "--kube-ca-file"),
    audience: config.tokenAudience,
    meshIssuer: config.tokenIssuer,
  });
}
