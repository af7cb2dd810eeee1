// The SPIFFE Workload API (SPIFFE_Workload_API.md) on a Unix domain socket, as the SPIRE agent and
// istio-agent serve it: FetchX509SVID and FetchX509Bundles stream the workload's SVID and bundles
// again at every rotation or bundle change, FetchJWTSVID and FetchJWTBundles serve JWT-SVIDs from
// the CA and its JWT authorities, ValidateJWTSVID checks a token locally. Every call must carry
// the metadata `workload.spiffe.io: true` (§4.1). Attestation is the socket itself: it is mounted
// into one workload's pod only, so whoever connects is that workload (docs/design/identity.md).
import { chmod, lstat, mkdir, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { Server, ServerCredentials, status, type Metadata, type ServerWritableStream, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { allRoots, rootsOf, type TrustBundles, type TrustDomain } from "@meshwork/pki";
import {
  SpiffeWorkloadAPIService,
  type JWTBundlesResponse,
  type JWTSVIDRequest,
  type JWTSVIDResponse,
  type SpiffeWorkloadAPIServer,
  type ValidateJWTSVIDRequest,
  type ValidateJWTSVIDResponse,
  type X509BundlesResponse,
  type X509SVIDResponse,
} from "@meshwork/protocol";
import type { Logger } from "@meshwork/telemetry";
import type { JwtSvidSource } from "./jwt-svid-source.ts";
import { validateJwtSvid } from "./validate-jwt-svid.ts";

/** The workload's X.509-SVID as the Workload API hands it out. */
export interface WorkloadX509Svid {
  readonly spiffeId: string;
  /** DER, leaf first, then intermediates. */
  readonly chain: readonly Uint8Array[];
  /** The private key, PKCS#8 DER (unencrypted, as §5.3 requires). */
  readonly privateKeyPkcs8: Uint8Array;
  readonly bundles: TrustBundles;
}

/** What the server serves. */
export interface WorkloadApiSource {
  readonly x509: {
    /** The SVID now; undefined until the first one is held. */
    current(): WorkloadX509Svid | undefined;
    /** Calls `listener` after every rotation or bundle change; returns the unsubscribe function. */
    onChange(listener: () => void): () => void;
  };
  /** Undefined when the identity comes from files (no CA to mint JWT-SVIDs): the JWT methods answer UNAVAILABLE. */
  readonly jwt: JwtSvidSource | undefined;
}

/** A running server; `close` ends open streams and removes the socket file. */
export interface RunningWorkloadApi {
  readonly socketPath: string;
  close(): Promise<void>;
}

/** The security header every request must carry (SPIFFE Workload Endpoint §4.1, against SSRF). */
export const workloadApiSecurityHeader = "workload.spiffe.io";

type ServiceError = { readonly code: number; readonly details: string };

function concat(chunks: readonly Uint8Array[]): Buffer {
  return Buffer.concat(chunks.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
}

/** `spiffe://<td>`: the Workload API keys bundles by the trust domain's SPIFFE ID. */
const trustDomainKey = (td: string): string => `spiffe://${td}`;

/** The X509SVIDResponse for `svid`: its bundle, the other trust domains as federated bundles. */
export function x509SvidResponse(svid: WorkloadX509Svid): X509SVIDResponse {
  const own = new URL(svid.spiffeId).host as TrustDomain;
  const federatedBundles: Record<string, Buffer> = {};
  for (const [td, roots] of svid.bundles.byTrustDomain) if (td !== own) federatedBundles[trustDomainKey(td)] = concat(roots);
  return {
    svids: [{ spiffeId: svid.spiffeId, x509Svid: concat(svid.chain), x509SvidKey: Buffer.from(svid.privateKeyPkcs8), bundle: concat(rootsOf(svid.bundles, own)), hint: "" }],
    crl: [],
    federatedBundles,
  };
}

/** The X509BundlesResponse of `bundles`. */
export function x509BundlesResponse(bundles: TrustBundles): X509BundlesResponse {
  return { crl: [], bundles: Object.fromEntries([...bundles.byTrustDomain].map(([td, roots]) => [trustDomainKey(td), concat(roots)])) };
}

/** Ends a server stream with `error`'s status (grpc-js turns an 'error' event into the status). */
function refuseStream(call: ServerWritableStream<unknown, unknown>, error: ServiceError): void {
  call.emit("error", Object.assign(new Error(error.details), error));
}

/** Refuses a call without `workload.spiffe.io: true`, as SPIRE does (INVALID_ARGUMENT). */
function missingSecurityHeader(metadata: Metadata): ServiceError | undefined {
  return metadata.get(workloadApiSecurityHeader)[0] === "true" ? undefined : { code: status.INVALID_ARGUMENT, details: "security header missing from request" };
}

/**
 * Serves the Workload API on `socketPath`: creates the parent directory if needed, replaces a
 * stale socket (refuses to replace anything else), makes the socket 0777 (who may connect is
 * decided by who can reach the directory: the pod it is mounted into), and resolves once bound.
 */
export async function startWorkloadApiServer(options: { readonly socketPath: string; readonly source: WorkloadApiSource; readonly clock: () => Date; readonly logger?: Logger }): Promise<RunningWorkloadApi> {
  const { socketPath, source, clock, logger } = options;
  await mkdir(dirname(socketPath), { recursive: true });
  const existing = await lstat(socketPath).catch(() => undefined);
  if (existing?.isSocket()) await unlink(socketPath);
  else if (existing) throw new Error(`--workload-api-socket ${socketPath} exists and is not a socket; remove it or choose another path`);
  const server = new Server({ "grpc.enable_channelz": 0 });
  const closers = new Set<() => void>();

  /** Writes `build()` now (when defined) and again after every change whose answer differs; ends with the call. */
  const streamUpdates = <T>(call: ServerWritableStream<unknown, T>, subscribe: (listener: () => void) => () => void, build: () => { readonly message: T; readonly fingerprint: string } | undefined): void => {
    let last: string | undefined;
    const send = (): void => {
      const next = build();
      if (next === undefined || next.fingerprint === last) return;
      last = next.fingerprint;
      call.write(next.message);
    };
    const unsubscribe = subscribe(send);
    const end = (): void => {
      unsubscribe();
      closers.delete(end);
    };
    closers.add(end);
    call.on("cancelled", end);
    call.on("close", end);
    send();
  };

  const jwtAuthorities = (): ReadonlyMap<string, string> => source.jwt?.authorities() ?? new Map();
  const implementation: SpiffeWorkloadAPIServer = {
    fetchX509Svid(call: ServerWritableStream<unknown, X509SVIDResponse>) {
      const refused = missingSecurityHeader(call.metadata);
      if (refused) return refuseStream(call, refused);
      streamUpdates(call, (l) => source.x509.onChange(l), () => {
        const svid = source.x509.current();
        if (svid === undefined) return undefined;
        const message = x509SvidResponse(svid);
        return { message, fingerprint: `${concat(svid.chain).toString("base64")}|${concat(allRoots(svid.bundles)).toString("base64")}` };
      });
    },
    fetchX509Bundles(call: ServerWritableStream<unknown, X509BundlesResponse>) {
      const refused = missingSecurityHeader(call.metadata);
      if (refused) return refuseStream(call, refused);
      streamUpdates(call, (l) => source.x509.onChange(l), () => {
        const svid = source.x509.current();
        if (svid === undefined) return undefined;
        const message = x509BundlesResponse(svid.bundles);
        return { message, fingerprint: JSON.stringify(Object.entries(message.bundles).map(([td, der]) => [td, der.toString("base64")])) };
      });
    },
    fetchJwtBundles(call: ServerWritableStream<unknown, JWTBundlesResponse>) {
      const refused = missingSecurityHeader(call.metadata) ?? (source.jwt ? undefined : noJwt);
      if (refused) return refuseStream(call, refused);
      const jwt = source.jwt as JwtSvidSource;
      streamUpdates(call, (l) => jwt.onAuthoritiesChange(l), () => {
        const authorities = jwtAuthorities();
        if (authorities.size === 0) return undefined;
        const bundles = Object.fromEntries([...authorities].map(([td, jwks]) => [trustDomainKey(td), Buffer.from(jwks)]));
        return { message: { bundles }, fingerprint: JSON.stringify([...authorities]) };
      });
    },
    fetchJwtsvid(call: ServerUnaryCall<JWTSVIDRequest, JWTSVIDResponse>, callback: sendUnaryData<JWTSVIDResponse>) {
      const refused = missingSecurityHeader(call.metadata) ?? (call.request.audience.length === 0 || call.request.audience.every((a) => a === "") ? { code: status.INVALID_ARGUMENT, details: "audience must be specified" } : undefined) ?? (source.jwt ? undefined : noJwt);
      if (refused) return callback(refused);
      const own = source.x509.current()?.spiffeId;
      if (call.request.spiffeId !== "" && call.request.spiffeId !== own) return callback({ code: status.PERMISSION_DENIED, details: "no identity issued" });
      (source.jwt as JwtSvidSource).fetch(call.request.audience.filter((a) => a !== "")).then(
        (svid) => callback(null, { svids: [{ spiffeId: svid.spiffeId, svid: svid.token, hint: "" }] }),
        (error: unknown) => {
          logger?.warn("Workload API: JWT-SVID request failed", { err: error });
          const detail = (error as { details?: string }).details ?? (error as Error).message;
          callback({ code: status.UNAVAILABLE, details: `could not fetch JWT-SVID: ${detail}` });
        },
      );
    },
    validateJwtsvid(call: ServerUnaryCall<ValidateJWTSVIDRequest, ValidateJWTSVIDResponse>, callback: sendUnaryData<ValidateJWTSVIDResponse>) {
      const { audience, svid } = call.request;
      const refused =
        missingSecurityHeader(call.metadata) ??
        (audience === "" ? { code: status.INVALID_ARGUMENT, details: "audience must be specified" } : undefined) ??
        (svid === "" ? { code: status.INVALID_ARGUMENT, details: "svid must be specified" } : undefined);
      if (refused) return callback(refused);
      const validated = validateJwtSvid(svid, { audience, authorities: jwtAuthorities(), nowSeconds: clock().getTime() / 1000 });
      if (!validated.ok) return callback({ code: status.INVALID_ARGUMENT, details: validated.detail });
      callback(null, { spiffeId: validated.spiffeId, claims: { ...validated.claims } });
    },
  };
  server.addService(SpiffeWorkloadAPIService, implementation);
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), (error) => (error ? reject(error) : resolve())));
  await chmod(socketPath, 0o777);
  logger?.info("SPIFFE Workload API serving", { socket: socketPath });
  return {
    socketPath,
    async close() {
      for (const close of [...closers]) close();
      server.forceShutdown();
      await unlink(socketPath).catch(() => undefined);
    },
  };
}

const noJwt: ServiceError = { code: status.UNAVAILABLE, details: "this agent issues no JWT-SVIDs: its identity comes from files (--cert-dir), not from the mesh CA (--ca-address)" };
