// Schema of Istio's RequestAuthentication (security.istio.io v1 and v1beta1): which JSON Web Tokens
// a workload or gateway accepts, where to find them and how to verify them.
// Field list: istio/api security/v1beta1/request_authentication.proto and jwt.proto.
import { Type } from "@sinclair/typebox";
import { closed, Duration, PolicyTargetReference, PolicyTargetReferences, WorkloadSelector, type Decoded } from "./common.ts";

/** `istio.security.v1beta1.JWTHeader`: a request header that may carry the token. */
export const JWTHeader = closed(
  {
    name: Type.String({ description: "The HTTP header name, e.g. x-jwt-assertion." }),
    prefix: Type.Optional(
      Type.String({
        description:
          'Text stripped from the header value before the token is decoded, e.g. "Bearer " (with the trailing space). ' +
          "A header without this exact prefix is treated as carrying no valid token.",
      }),
    ),
  },
  { description: "A header location from which the JWT is extracted." },
);
export type JWTHeader = Decoded<typeof JWTHeader>;

/** `istio.security.v1beta1.ClaimToHeader`: copy one claim of a verified token into a request header. */
export const ClaimToHeader = closed(
  {
    header: Type.String({ description: "Name of the header to set (letters, digits, '-' and '_'), e.g. x-jwt-sub." }),
    claim: Type.String({ description: "Name of the claim to copy, e.g. sub." }),
  },
  { description: "Copies a claim of a successfully verified JWT to a request header." },
);
export type ClaimToHeader = Decoded<typeof ClaimToHeader>;

/** `istio.security.v1beta1.JWTRule`: one accepted token issuer and how its tokens are verified. */
export const JWTRule = closed(
  {
    issuer: Type.Optional(
      Type.String({
        description:
          "The issuer (iss claim) of accepted tokens, e.g. https://accounts.google.com or a service-account email. " +
          "Tokens with another iss are rejected.",
      }),
    ),
    audiences: Type.Optional(
      Type.Array(Type.String(), {
        description: "Accepted aud claims; a token with any of them is accepted. When empty, the service name is the accepted audience.",
      }),
    ),
    jwksUri: Type.Optional(
      Type.String({
        maxLength: 2048,
        description:
          "http(s) URL of the issuer's JSON Web Key Set. Optional when it can be found by OpenID discovery of the issuer. " +
          "At most one of jwksUri, jwks_uri and jwks.",
      }),
    ),
    jwks_uri: Type.Optional(
      Type.String({
        maxLength: 2048,
        description: "Deprecated: the proto field name of jwksUri, still accepted. Write jwksUri instead.",
      }),
    ),
    jwks: Type.Optional(
      Type.String({
        description: 'The JSON Web Key Set itself, as a JSON string ({"keys": [...]}), instead of a URL to fetch it from.',
      }),
    ),
    fromHeaders: Type.Optional(
      Type.Array(JWTHeader, {
        description:
          "Headers from which the token is taken. With no fromHeaders, fromParams and fromCookies, " +
          "the token is read from `Authorization: Bearer <token>` or the access_token query parameter.",
      }),
    ),
    fromParams: Type.Optional(Type.Array(Type.String(), { description: "Query parameters from which the token is taken, e.g. my_token." })),
    fromCookies: Type.Optional(Type.Array(Type.String(), { description: "Cookies from which the token is taken, e.g. session." })),
    outputPayloadToHeader: Type.Optional(
      Type.String({
        description: "Header to which the verified token's payload is written (base64-encoded JSON) for the backend. Not written when unset.",
      }),
    ),
    forwardOriginalToken: Type.Optional(
      Type.Boolean({ description: "Keep the original token in the request forwarded upstream. Default false: it is removed." }),
    ),
    outputClaimToHeaders: Type.Optional(
      Type.Array(ClaimToHeader, { description: "Claims of the verified token copied to request headers." }),
    ),
    spaceDelimitedClaims: Type.Optional(
      Type.Array(Type.String(), {
        maxItems: 64,
        description: "Claims whose string value is a space-separated list (like scope) and is matched per item in authorization policies.",
      }),
    ),
    timeout: Type.Optional(
      Duration({
        description: "How long to wait for the JWKS to be fetched by the resolver chosen with PILOT_JWT_ENABLE_REMOTE_JWKS. At least 1ms.",
      }),
    ),
  },
  { description: "A JSON Web Token issuer whose tokens are accepted, and how they are found and verified (RFC 7519)." },
);
export type JWTRule = Decoded<typeof JWTRule>;

/** `istio.security.v1beta1.RequestAuthentication` spec. */
export const RequestAuthenticationSpec = closed(
  {
    selector: Type.Optional(WorkloadSelector),
    targetRef: Type.Optional(PolicyTargetReference),
    targetRefs: Type.Optional(PolicyTargetReferences),
    jwtRules: Type.Optional(
      Type.Array(JWTRule, {
        maxItems: 4096,
        description:
          "Accepted token issuers. A request without a token is let through (use an AuthorizationPolicy to require one); " +
          "a request with an invalid token is rejected.",
      }),
    ),
  },
  {
    description:
      "Which JSON Web Tokens the selected workloads accept. Requests with an invalid token are rejected; " +
      "the token's identity is then available to AuthorizationPolicy (requestPrincipals, request.auth.claims).",
  },
);
export type RequestAuthenticationSpec = Decoded<typeof RequestAuthenticationSpec>;
