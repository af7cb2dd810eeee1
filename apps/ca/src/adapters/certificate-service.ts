// The grpc-js binding of mesh.ca.v1.CertificateService (DESIGN.md §3.3): translates requests to
// CertificateAuthority calls and refusals to gRPC statuses, with the reason in the trailer
// `meshwork-refusal-reason` for clients and tests that branch on it.
import { Metadata, status, type sendUnaryData, type ServerUnaryCall, type ServerWritableStream } from "@grpc/grpc-js";
import type { CertificateServiceServer, CreateCertificateRequest, CreateCertificateResponse, WatchTrustBundleRequest, WatchTrustBundleResponse } from "@meshwork/protocol";
import type { Logger } from "@meshwork/telemetry";
import type { CertificateAuthority, PublishedBundle } from "../certificate-authority.ts";
import { statusOfRefusal, type GrpcStatusName } from "../core/refusal.ts";

/** The trailer key carrying a refusal's reason. */
export const refusalReasonKey = "meshwork-refusal-reason";

const grpcStatus: Readonly<Record<GrpcStatusName, status>> = {
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  UNAVAILABLE: status.UNAVAILABLE,
};

function toMessage(bundle: PublishedBundle): WatchTrustBundleResponse {
  return { bundle: { trustDomain: bundle.trustDomain, rootsPem: [...bundle.rootsPem], version: bundle.version } };
}

/**
 * The service implementation. Open watch streams are tracked so `endWatches` can finish them on
 * shutdown (grpc-js `tryShutdown` waits for open streams).
 */
export function certificateService(authority: CertificateAuthority, logger: Logger): { readonly implementation: CertificateServiceServer; endWatches(): void } {
  const watches = new Set<ServerWritableStream<WatchTrustBundleRequest, WatchTrustBundleResponse>>();
  const implementation: CertificateServiceServer = {
    createCertificate(call: ServerUnaryCall<CreateCertificateRequest, CreateCertificateResponse>, callback: sendUnaryData<CreateCertificateResponse>): void {
      authority.issue(call.request, call.getPeer()).then(
        (outcome) => {
          if (outcome.type === "issued") return callback(null, { certChain: [...outcome.certChainPem] });
          const metadata = new Metadata();
          metadata.set(refusalReasonKey, outcome.reason);
          callback({ code: grpcStatus[statusOfRefusal[outcome.reason]], details: `${outcome.reason}: ${outcome.message}`, metadata });
        },
        (error: unknown) => {
          logger.error("certificate request failed", { err: error, caller: call.getPeer() });
          callback({ code: status.INTERNAL, details: "internal error while issuing; see the CA's log" });
        },
      );
    },
    watchTrustBundle(call: ServerWritableStream<WatchTrustBundleRequest, WatchTrustBundleResponse>): void {
      watches.add(call);
      const unsubscribe = authority.watch((bundle) => call.write(toMessage(bundle)));
      const done = (): void => {
        unsubscribe();
        watches.delete(call);
      };
      call.on("cancelled", done);
      call.on("close", done);
      call.on("error", done);
      call.write(toMessage(authority.bundle()));
    },
  };
  return {
    implementation,
    endWatches(): void {
      for (const call of watches) call.end();
      watches.clear();
    },
  };
}
