// Transport security of the discovery stream and the trust bundle pushed to proxies
// (docs/design/config-push.md "Transport security", "Trust bundle"):
//
// - Trust bundle: with --ca-address, the CA's WatchTrustBundle (the current bundle, then every
//   change: a root rotation publishes {old, new}, later {new}); else the --trust-bundle file,
//   polled for changes. Every new bundle goes to listeners (the ConfigStore pushes it to the
//   proxies as the TrustBundle resource) and becomes the roots client certificates must chain to.
// - Serving certificate: --tls-cert/--tls-key (polled files), or the control plane's SVID from the
//   CA (--ca-address with --workload-token-file: spiffe://<td>/ns/<root namespace>/sa/<service
//   account>, renewed by a WorkloadAgent). With one, StreamConfig is served over TLS and requires
//   a client certificate that chains to the bundle (mutual TLS, as istiod's port 15012); without,
//   it is plain text.
import { watchFile, unwatchFile } from "node:fs";
import { readFile } from "node:fs/promises";
import { experimental, ServerCredentials } from "@grpc/grpc-js";
import { bundlesToCaPem, derToPem, parseTrustDomain, pemToDer, splitPem, trustBundles, workloadId, type SpiffeId, type TrustBundles, type TrustDomain } from "@meshwork/pki";
import type { CertificateServiceClient, WatchTrustBundleResponse } from "@meshwork/protocol";
import type { TrustBundleBody } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import { createCaClient, createCertificate, WorkloadAgent } from "@meshwork/workload-identity";
import { CertificateSlot } from "./certificate-slot.ts";

export interface DiscoverySecurityConfig {
  readonly trustDomain: string;
  /** The namespace of the control plane's own SPIFFE ID (Istio: istio-system). */
  readonly rootNamespace: string;
  readonly trustBundle: string | undefined;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly caAddress: string | undefined;
  /** Roots that sign the CA's serving certificate; default the --trust-bundle file. */
  readonly caRootCert: string | undefined;
  readonly caSpiffeId: string | undefined;
  readonly workloadTokenFile: string | undefined;
  readonly serviceAccount: string;
  readonly svidTtlSeconds: number;
  /** How often the --trust-bundle / --tls-cert files are checked for changes (default 1 s). */
  readonly filePollMs?: number;
}

export interface DiscoverySecurity {
  /** For `server.bindAsync`: mutual TLS when there is a serving certificate, else insecure. */
  readonly credentials: ServerCredentials;
  /** Whether StreamConfig is served over mutual TLS (streams are then tied to their client certificate). */
  readonly tls: boolean;
  /** The SPIFFE ID the control plane serves as, when its certificate comes from the CA. */
  readonly spiffeId: string | undefined;
  /** The trust bundle now (empty when there is none). */
  bundles(): readonly TrustBundleBody[];
  /** Calls `listener` with every new bundle. */
  onBundles(listener: (bundles: readonly TrustBundleBody[]) => void): void;
  close(): void;
}

/** A flag combination or file the control plane cannot start with (main.ts exits 2 with the message). */
export class DiscoverySecurityError extends Error {}

/** Bundles as the TrustBundle resource carries them (PEM roots per trust domain). */
export function bundleBodies(bundles: TrustBundles): TrustBundleBody[] {
  return [...bundles.byTrustDomain.entries()].map(([trustDomain, roots]) => ({ trustDomain, rootsPem: roots.map((der) => derToPem(der, "CERTIFICATE")) }));
}

/** The CERTIFICATE blocks of a PEM file as DER; `flag` names the file in errors. */
export function rootsOfPem(text: string, flag: string, file: string): Uint8Array[] {
  const split = splitPem(text);
  const roots = split.ok ? split.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.der) : [];
  if (roots.length === 0) throw new DiscoverySecurityError(`${flag} ${file}: no PEM certificate in it; give the mesh root (the CA's root-cert.pem)`);
  return roots;
}

async function readText(file: string, flag: string): Promise<string> {
  return readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new DiscoverySecurityError(`${flag} ${file}: cannot read it (${error.code ?? error.message})`);
  });
}

export async function startDiscoverySecurity(config: DiscoverySecurityConfig, logger: Logger): Promise<DiscoverySecurity> {
  if ((config.tlsCert === undefined) !== (config.tlsKey === undefined)) throw new DiscoverySecurityError("--tls-cert and --tls-key go together: give both files (PEM chain and key) or neither");
  if (config.workloadTokenFile !== undefined && config.caAddress === undefined) throw new DiscoverySecurityError("--workload-token-file needs --ca-address HOST:PORT (the CA that issues the control plane's certificate)");
  if (config.tlsCert !== undefined && config.workloadTokenFile !== undefined) throw new DiscoverySecurityError("--tls-cert/--tls-key and --workload-token-file both give a serving certificate: choose one");
  const td = parseTrustDomain(config.trustDomain);
  if (!td.ok) throw new DiscoverySecurityError(`--trust-domain ${config.trustDomain}: ${td.detail}`);
  const trustDomain = td.trustDomain;
  const pollMs = config.filePollMs ?? 1000;
  const slot = new CertificateSlot();
  const listeners: ((bundles: readonly TrustBundleBody[]) => void)[] = [];
  const stops: (() => void)[] = [];
  let current: TrustBundles = trustBundles();
  let currentBodies: readonly TrustBundleBody[] = [];
  /** The CA's version of the current bundle (undefined for a file's): acknowledged with the next CSR. */
  let currentVersion: number | undefined;
  const setBundles = (next: TrustBundles, source: string): void => {
    const bodies = bundleBodies(next);
    if (JSON.stringify(bodies) === JSON.stringify(currentBodies)) return;
    const first = currentBodies.length === 0;
    current = next;
    currentBodies = bodies;
    slot.setCa(bundlesToCaPem(next));
    logger.info(first ? "trust bundle loaded" : "trust bundle changed; pushing it to the proxies", { source, roots: bodies.reduce((n, b) => n + b.rootsPem.length, 0) });
    for (const listener of listeners) listener(bodies);
  };

  // ---- the trust bundle: the file first (also the CA's bootstrap roots), then the CA's stream
  if (config.trustBundle !== undefined) {
    const file = config.trustBundle;
    setBundles(trustBundles([[trustDomain, rootsOfPem(await readText(file, "--trust-bundle"), "--trust-bundle", file)]]), file);
    if (config.caAddress === undefined) {
      const reload = (): void => {
        readFile(file, "utf8")
          .then((text) => setBundles(trustBundles([[trustDomain, rootsOfPem(text, "--trust-bundle", file)]]), file))
          .catch((error: unknown) => logger.warn("reading --trust-bundle failed; the last bundle stays", { file, err: error }));
      };
      watchFile(file, { interval: pollMs, persistent: false }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs || now.size !== before.size) reload();
      });
      stops.push(() => unwatchFile(file));
    }
  }
  let client: CertificateServiceClient | undefined;
  let caRootsPem: string | undefined;
  if (config.caAddress !== undefined) {
    const rootFile = config.caRootCert ?? config.trustBundle;
    if (rootFile === undefined) throw new DiscoverySecurityError("--ca-address needs --ca-root-cert FILE (or --trust-bundle FILE): the roots that sign the CA's serving certificate");
    caRootsPem = await readText(rootFile, "--ca-root-cert");
    const bootstrap = trustBundles([[trustDomain, rootsOfPem(caRootsPem, "--ca-root-cert", rootFile)]]);
    if (currentBodies.length === 0) setBundles(bootstrap, rootFile);
    const defaultCaId = workloadId({ trustDomain, namespace: "mesh-system", serviceAccount: "ca" });
    const caId = config.caSpiffeId ?? (defaultCaId.ok ? defaultCaId.id : "");
    client = createCaClient({ address: config.caAddress, bundles: bootstrap, rootsPem: caRootsPem, serverId: caId as SpiffeId, clock: () => new Date() });
    stops.push(
      followCaBundle(client, logger, (bundles, version) => {
        currentVersion = version;
        setBundles(bundles, `ca ${config.caAddress ?? ""}`);
      }),
    );
  }

  // ---- the serving certificate
  let spiffeId: string | undefined;
  if (config.tlsCert !== undefined && config.tlsKey !== undefined) {
    const [certFile, keyFile] = [config.tlsCert, config.tlsKey];
    const load = async (): Promise<void> => {
      const [cert, key] = await Promise.all([readText(certFile, "--tls-cert"), readText(keyFile, "--tls-key")]);
      rootsOfPem(cert, "--tls-cert", certFile);
      slot.setIdentity(cert, key);
    };
    await load();
    const reload = (now: { mtimeMs: number }, before: { mtimeMs: number }): void => {
      if (now.mtimeMs === before.mtimeMs) return;
      load().then(
        () => logger.info("serving certificate reloaded", { file: certFile }),
        (error: unknown) => logger.warn("reloading --tls-cert/--tls-key failed; the last certificate keeps serving", { err: error }),
      );
    };
    watchFile(certFile, { interval: pollMs, persistent: false }, reload);
    watchFile(keyFile, { interval: pollMs, persistent: false }, reload);
    stops.push(() => {
      unwatchFile(certFile);
      unwatchFile(keyFile);
    });
  } else if (config.workloadTokenFile !== undefined && client !== undefined) {
    const tokenFile = config.workloadTokenFile;
    const id = workloadId({ trustDomain, namespace: config.rootNamespace, serviceAccount: config.serviceAccount });
    if (!id.ok) throw new DiscoverySecurityError(`--root-namespace/--service-account do not form a SPIFFE ID: ${id.detail}`);
    const ca = client;
    const stopped = new AbortController();
    const agent = await WorkloadAgent.start(
      {
        spiffeId: id.id,
        bundles: current,
        ...(currentVersion !== undefined ? { bundleVersion: currentVersion } : {}),
        clock: () => new Date(),
        timers: { setTimeout: (cb, ms) => setTimeout(cb, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
        random: Math.random,
        logger,
        requestCertificate: async (csrPem, held) => {
          const workloadToken = (await readFile(tokenFile, "utf8")).trim();
          const response = await createCertificate(ca, { csrPem, validitySeconds: config.svidTtlSeconds, workloadToken, trustBundleVersion: held.trustBundleVersion });
          return response.certChain;
        },
      },
      stopped.signal,
    );
    const serve = (): void => slot.setIdentity(agent.current.material.cert, agent.current.material.key);
    serve();
    agent.onRotate(serve);
    // The agent acknowledges the bundle it holds with its next CSR (the CA's rotation gate waits for it).
    listeners.push(() => agent.updateBundles(current, currentVersion));
    // A bundle that arrived while the first certificate was being issued.
    if (agent.bundles !== current || agent.bundleVersion !== currentVersion) agent.updateBundles(current, currentVersion);
    stops.push(() => {
      stopped.abort();
      agent.stop();
    });
    spiffeId = id.id;
    logger.info("serving certificate from the CA", { spiffeId, notAfter: agent.current.notAfter.toISOString() });
  }
  if (client !== undefined) {
    const ca = client;
    stops.push(() => ca.close());
  }

  const tls = config.tlsCert !== undefined || spiffeId !== undefined;
  if (tls && currentBodies.length === 0) throw new DiscoverySecurityError("serving the discovery stream over TLS needs the mesh's roots to check proxies' client certificates: add --trust-bundle FILE or --ca-address HOST:PORT");
  return {
    // The same slot gives the identity and the roots (grpc-js swaps the argument names internally).
    credentials: tls ? experimental.createCertificateProviderServerCredentials(slot, slot, true) : ServerCredentials.createInsecure(),
    tls,
    spiffeId,
    bundles: () => currentBodies,
    onBundles: (listener) => void listeners.push(listener),
    close: () => {
      for (const stop of stops.splice(0)) stop();
    },
  };
}

/** Follows the CA's WatchTrustBundle, reconnecting 1 s after an error, until the returned function is called. */
function followCaBundle(client: CertificateServiceClient, logger: Logger, onBundle: (bundles: TrustBundles, version: number) => void): () => void {
  let stopped = false;
  let cancel = (): void => undefined;
  let timer: NodeJS.Timeout | undefined;
  const open = (): void => {
    const stream = client.watchTrustBundle({});
    cancel = () => stream.cancel();
    stream.on("data", (message: WatchTrustBundleResponse) => {
      const bundle = message.bundle;
      const td = parseTrustDomain(bundle?.trustDomain ?? "");
      if (bundle === undefined || !td.ok) return;
      const roots = bundle.rootsPem.flatMap((pem) => {
        const der = pemToDer(pem, "CERTIFICATE");
        return der.ok ? [der.der] : [];
      });
      if (roots.length > 0) onBundle(trustBundles([[td.trustDomain as TrustDomain, roots]]), bundle.version);
    });
    stream.on("error", (error: Error & { code?: number }) => {
      if (stopped || error.code === 1) return;
      logger.warn("CA trust bundle stream failed; reconnecting in 1 s (the last bundle stays)", { err: error });
      timer = setTimeout(open, 1000).unref();
    });
  };
  open();
  return () => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    cancel();
  };
}
