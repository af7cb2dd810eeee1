// Identity from the mesh CA (DESIGN.md §3.3): a WorkloadAgent keeps an SVID for
// spiffe://<td>/ns/<namespace>/sa/<service account>, proving itself with the workload token read
// from a file at every request (the token may be replaced), and follows the CA's trust bundle
// (WatchTrustBundle, reconnecting after errors). Each new SVID or bundle becomes a new identity.
// JWT-SVIDs for the Workload API come from the same CA (CreateJwtSvid, same token).
import { readFile } from "node:fs/promises";
import { splitPem, trustBundles, workloadId, type SpiffeId, type TrustDomain } from "@meshwork/pki";
import type { Logger } from "@meshwork/telemetry";
import { agentJwtSvidSource, createCaClient, createCertificate, createJwtSvid, followTrustBundle, WorkloadAgent, type CurrentSvid, type JwtSvidSource } from "@meshwork/workload-identity";
import { tlsIdentityOf, type IdentitySource, type TlsIdentity } from "./tls-identity.ts";

export interface CaIdentityOptions {
  /** `host:port` of the CA's gRPC port. */
  readonly address: string;
  /** PEM file with the roots that sign the CA's serving certificate (the mesh root). */
  readonly rootCertFile: string;
  /** The CA's SPIFFE ID; default `spiffe://<td>/ns/mesh-system/sa/ca`. */
  readonly caSpiffeId: string | undefined;
  readonly tokenFile: string;
  readonly trustDomain: string;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly validitySeconds: number;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
}

/** The CA's identity source, with the JWT-SVIDs and JWT authorities the Workload API serves. */
export interface CaIdentitySource extends IdentitySource {
  readonly jwt: JwtSvidSource;
}

/** Starts the agent; resolves once the first SVID is held (the agent retries with backoff until then). */
export async function startCaIdentity(options: CaIdentityOptions): Promise<CaIdentitySource> {
  const td = options.trustDomain as TrustDomain;
  const id = workloadId({ trustDomain: td, namespace: options.namespace, serviceAccount: options.serviceAccount });
  if (!id.ok) throw new Error(`--namespace/--service-account do not form a SPIFFE ID: ${id.detail}`);
  const caId = workloadId({ trustDomain: td, namespace: "mesh-system", serviceAccount: "ca" });
  const serverId = (options.caSpiffeId ?? (caId.ok ? caId.id : "")) as SpiffeId;
  const rootsPem = await readFile(options.rootCertFile, "utf8").catch((error: NodeJS.ErrnoException) => {
    throw new Error(`--ca-root-cert: cannot read ${options.rootCertFile} (${error.code ?? String(error)}); give the PEM file of the mesh root (the CA's root-cert.pem)`);
  });
  const split = splitPem(rootsPem);
  const roots = split.ok ? split.blocks.filter((b) => b.label === "CERTIFICATE").map((b) => b.der) : [];
  if (roots.length === 0) throw new Error(`--ca-root-cert: ${options.rootCertFile} holds no PEM certificate`);
  const bootstrap = trustBundles([[td, roots]]);
  const client = createCaClient({ address: options.address, bundles: bootstrap, rootsPem, serverId, clock: () => new Date() });
  const agent = await WorkloadAgent.start(
    {
      spiffeId: id.id,
      bundles: bootstrap,
      clock: () => new Date(),
      timers: { setTimeout: (cb, ms) => setTimeout(cb, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
      random: Math.random,
      logger: options.logger,
      requestCertificate: async (csrPem, held) => {
        const workloadToken = (await readFile(options.tokenFile, "utf8")).trim();
        const response = await createCertificate(client, { csrPem, validitySeconds: options.validitySeconds, workloadToken, trustBundleVersion: held.trustBundleVersion });
        return response.certChain;
      },
    },
    options.signal,
  );
  const toIdentity = (svid: CurrentSvid): TlsIdentity | undefined => {
    const built = tlsIdentityOf({ chain: svid.chain, keyPem: svid.material.key, bundles: agent.bundles });
    if (!built.ok) options.logger.error("the CA's certificate is not usable", { detail: built.message });
    return built.ok ? built.identity : undefined;
  };
  let current = toIdentity(agent.current);
  const listeners = new Set<(identity: TlsIdentity) => void>();
  agent.onRotate((svid) => {
    const next = toIdentity(svid);
    if (!next) return;
    current = next;
    for (const listener of listeners) listener(next);
  });
  let stopped = false;
  let unfollow = (): void => undefined;
  const follow = (): void => {
    unfollow = followTrustBundle(client, agent, (error) => {
      options.logger.warn("trust bundle stream failed; reconnecting in 1 s", { err: error });
      if (!stopped) setTimeout(() => !stopped && follow(), 1000).unref();
    });
  };
  follow();
  const jwt = agentJwtSvidSource(agent, {
    clock: () => new Date(),
    mint: async (audiences) => {
      const workloadToken = (await readFile(options.tokenFile, "utf8")).trim();
      return createJwtSvid(client, { audiences: [...audiences], spiffeId: "", workloadToken });
    },
  });
  return {
    jwt,
    current: () => current,
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    close() {
      stopped = true;
      unfollow();
      agent.stop();
      client.close();
    },
  };
}

