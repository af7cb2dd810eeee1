// The gRPC binding of mesh.ca.v1.CertificateService (DESIGN.md §3.3) on the CA's node:http2 gRPC
// server (CreateCertificate, CreateJwtSvid, WatchTrustBundle): translates requests to
// CertificateAuthority calls and refusals to gRPC statuses, with the reason in the trailer
// `meshwork-refusal-reason` for clients and tests that branch on it.
import { CertificateServiceService, grpcStatusCode, type CallOutcome, type GrpcHttp2Server, type WatchTrustBundleResponse } from "@meshwork/protocol";
import type { CertificateAuthority, PublishedBundle } from "../certificate-authority.ts";
import { statusOfRefusal, type GrpcStatusName, type Refusal } from "../core/refusal.ts";

/** The trailer key carrying a refusal's reason. */
export const refusalReasonKey = "meshwork-refusal-reason";

const grpcStatus: Readonly<Record<GrpcStatusName, number>> = {
  UNAUTHENTICATED: grpcStatusCode.UNAUTHENTICATED,
  PERMISSION_DENIED: grpcStatusCode.PERMISSION_DENIED,
  INVALID_ARGUMENT: grpcStatusCode.INVALID_ARGUMENT,
  RESOURCE_EXHAUSTED: grpcStatusCode.RESOURCE_EXHAUSTED,
  UNAVAILABLE: grpcStatusCode.UNAVAILABLE,
};

function toMessage(bundle: PublishedBundle): WatchTrustBundleResponse {
  const jwtAuthoritiesJwks = bundle.jwtAuthorities.length === 0 ? "" : JSON.stringify({ keys: bundle.jwtAuthorities });
  return { bundle: { trustDomain: bundle.trustDomain, rootsPem: [...bundle.rootsPem], version: bundle.version, jwtAuthoritiesJwks } };
}

function failureOf(outcome: Refusal): CallOutcome<never> {
  return {
    ok: false,
    failure: { code: grpcStatus[statusOfRefusal[outcome.reason]], details: `${outcome.reason}: ${outcome.message}`, metadata: { [refusalReasonKey]: outcome.reason } },
  };
}

/** Adds CreateCertificate, CreateJwtSvid and WatchTrustBundle to `server`. */
export function addCertificateService(server: GrpcHttp2Server, authority: CertificateAuthority): void {
  const { createCertificate, createJwtSvid, watchTrustBundle } = CertificateServiceService;
  server.addUnary(createCertificate, async (request, call) => {
    const outcome = await authority.issue(request, call.peer);
    if (outcome.type === "issued") return { ok: true, response: { certChain: [...outcome.certChainPem] } };
    return failureOf(outcome);
  });
  server.addUnary(createJwtSvid, async (request, call) => {
    const outcome = await authority.issueJwtSvid(request, call.peer);
    if (outcome.type === "issued-jwt") return { ok: true, response: { token: outcome.token, spiffeId: outcome.spiffeId, expiresAtSeconds: outcome.expiresAt.getTime() / 1000 } };
    return failureOf(outcome);
  });
  server.addServerStream(watchTrustBundle, (_request, stream) => {
    const unsubscribe = authority.watch((bundle) => stream.write(toMessage(bundle)));
    stream.onClose(unsubscribe);
    stream.write(toMessage(authority.bundle()));
  });
}
