// Public entry of @meshwork/workload-identity: the workload agent a sidecar embeds to keep its SVID
// fresh (DESIGN.md §3.3), its renewal schedule, the CA client it talks through, the SPIFFE Workload
// API it serves to its workload (X.509 and JWT-SVIDs, bundles, JWT-SVID validation), and the workload
// tokens (minting, verifying, the token issuer's key file) that meshctl and apps/ca share.
export { createCaClient, createCertificate, createJwtSvid } from "./ca-client.ts";
export { followTrustBundle } from "./follow-trust-bundle.ts";
export { agentJwtSvidSource } from "./jwt-svid-source.ts";
export type { JwtSvidSource, JwtSvidToken, MintedJwtSvid } from "./jwt-svid-source.ts";
export { validateJwtSvid } from "./validate-jwt-svid.ts";
export type { JwtSvidValidation } from "./validate-jwt-svid.ts";
export { startWorkloadApiServer, workloadApiSecurityHeader, x509BundlesResponse, x509SvidResponse } from "./workload-api-server.ts";
export type { RunningWorkloadApi, WorkloadApiSource, WorkloadX509Svid } from "./workload-api-server.ts";
export { renewalDelayMs, retryDelayMs } from "./renewal-schedule.ts";
export type { Backoff } from "./renewal-schedule.ts";
export { WorkloadAgent } from "./workload-agent.ts";
export type { AgentTimers, CurrentSvid, SecureContextTarget, WorkloadAgentOptions } from "./workload-agent.ts";
export { importTokenIssuerKey, tokenIssuerFiles } from "./token-issuer-key.ts";
export type { TokenIssuerKeyResult } from "./token-issuer-key.ts";
export { base64UrlEncode, mintWorkloadToken, signEs256Jwt, verifyWorkloadToken } from "./workload-token.ts";
export type { TokenFormatProblem, TokenVerification, WorkloadTokenClaims } from "./workload-token.ts";
