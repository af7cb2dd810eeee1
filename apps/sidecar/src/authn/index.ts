// The sidecar's JWT authentication (RequestAuthentication), for the inbound chain: compile the
// workload's config with @meshwork/proxy-core's compileRequestAuthentication, build an
// authenticator with createRequestAuthenticator, call authenticate() per request.
export { audiencesAllowed, claimAt, claimHeaderValue, createRequestAuthenticator, tokenCacheSize } from "./request-authenticator.ts";
export type { AuthnResult, HeaderEdits, JwtAuthnStats, RequestAuthenticator, RequestAuthenticatorDeps } from "./request-authenticator.ts";
export { createJwksFetcher } from "./fetch-jwks.ts";
export type { FetchJwksOptions } from "./fetch-jwks.ts";
export { defaultJwksCacheDurationMs, inlineJwks, RemoteJwks } from "./jwks-source.ts";
export type { FetchJwks, JwksSource, KeysNow, RemoteJwksOptions } from "./jwks-source.ts";
export { jwtStatusMessages, rejectionStatusCode } from "./jwt-status.ts";
export type { JwtStatus } from "./jwt-status.ts";
export { parseJwt } from "./parse-jwt.ts";
export type { JwtAlgorithm, ParsedJwt } from "./parse-jwt.ts";
