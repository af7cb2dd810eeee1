// Round-trips the CA messages through their wire codecs and checks the grpc-js service paths,
// which are the contract with non-TypeScript clients (DESIGN.md §3.3).
import { describe, expect, it } from "vitest";
import { CertificateServiceService, CreateCertificateRequest, CreateCertificateResponse, CreateJwtSvidRequest, SpiffeWorkloadAPIService, WatchTrustBundleResponse } from "./index.ts";

describe("mesh.ca.v1", () => {
  it("round-trips a CreateCertificateRequest", () => {
    const request = { csrPem: "-----BEGIN CERTIFICATE REQUEST-----\n", validitySeconds: 3600, workloadToken: "a.b.c" };
    expect(CreateCertificateRequest.decode(CreateCertificateRequest.encode(request).finish())).toEqual(request);
  });

  it("keeps the chain order of a CreateCertificateResponse", () => {
    const response = { certChain: ["leaf", "intermediate", "root"] };
    expect(CreateCertificateResponse.decode(CreateCertificateResponse.encode(response).finish()).certChain).toEqual(["leaf", "intermediate", "root"]);
  });

  it("round-trips a bundle update", () => {
    const update = { bundle: { trustDomain: "cluster.local", rootsPem: ["old", "new"], version: 7, jwtAuthoritiesJwks: '{"keys":[]}' } };
    expect(WatchTrustBundleResponse.decode(WatchTrustBundleResponse.encode(update).finish())).toEqual(update);
  });

  it("serves the fully qualified method paths", () => {
    expect(CertificateServiceService.createCertificate.path).toBe("/mesh.ca.v1.CertificateService/CreateCertificate");
    expect(CertificateServiceService.watchTrustBundle.path).toBe("/mesh.ca.v1.CertificateService/WatchTrustBundle");
    expect(CertificateServiceService.watchTrustBundle.responseStream).toBe(true);
    expect(CertificateServiceService.createJwtSvid.path).toBe("/mesh.ca.v1.CertificateService/CreateJwtSvid");
  });

  it("round-trips a CreateJwtSvidRequest", () => {
    const request = { audiences: ["api", "db"], spiffeId: "spiffe://cluster.local/ns/shop/sa/web", workloadToken: "a.b.c" };
    expect(CreateJwtSvidRequest.decode(CreateJwtSvidRequest.encode(request).finish())).toEqual(request);
  });
});

describe("SpiffeWorkloadAPI", () => {
  it("serves the specification's package-less method paths", () => {
    expect(Object.values(SpiffeWorkloadAPIService).map((m) => `${m.path}${m.responseStream ? " (stream)" : ""}`)).toEqual([
      "/SpiffeWorkloadAPI/FetchX509SVID (stream)",
      "/SpiffeWorkloadAPI/FetchX509Bundles (stream)",
      "/SpiffeWorkloadAPI/FetchJWTSVID",
      "/SpiffeWorkloadAPI/FetchJWTBundles (stream)",
      "/SpiffeWorkloadAPI/ValidateJWTSVID",
    ]);
  });
});
