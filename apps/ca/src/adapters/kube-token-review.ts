// Kubernetes attestation (issue 6): a projected service-account token is checked by the
// Kubernetes API server through a TokenReview (authentication.k8s.io/v1, POST
// /apis/authentication.k8s.io/v1/tokenreviews) with the CA's audience. An authenticated
// `system:serviceaccount:<ns>:<sa>` becomes the claims of a mesh token for ns/sa, so decideIssue
// applies the same policy (trust domain, namespaces, TTL) to both kinds of token. Tokens the mesh
// token issuer minted (their `iss` is --token-issuer) never go to Kubernetes.
import { request as httpsRequest } from "node:https";
import type { TokenVerification } from "@meshwork/workload-identity";
import { refuse, type Refusal } from "../core/refusal.ts";

/** How to reach the API server and what to ask it. */
export interface KubeTokenReviewOptions {
  /** e.g. "https://kubernetes.default.svc" (--kube-api-server). */
  readonly apiServer: string;
  /** The CA's own credential for the API server (--kube-token-file); needs `create` on tokenreviews. */
  readonly bearerToken: string;
  /** PEM roots that sign the API server's certificate (--kube-ca-file). */
  readonly caPem: string;
  /** The audience the token must be for (the CA's --token-audience). */
  readonly audience: string;
  /** The mesh token issuer's `iss` (--token-issuer): such tokens are not Kubernetes ones. */
  readonly meshIssuer: string;
  readonly timeoutMs?: number;
}

/** The TokenReview a client POSTs, as Kubernetes documents it. */
export interface TokenReviewRequest {
  readonly apiVersion: "authentication.k8s.io/v1";
  readonly kind: "TokenReview";
  readonly spec: { readonly token: string; readonly audiences: readonly string[] };
}

/** The fields of a TokenReview response the CA reads. */
interface TokenReviewResponse {
  readonly kind?: string;
  readonly status?: {
    readonly authenticated?: boolean;
    readonly user?: { readonly username?: string };
    readonly audiences?: readonly string[];
    readonly error?: string;
  };
}

const serviceAccountUser = /^system:serviceaccount:([^:]+):([^:]+)$/;

/** The JWT payload's claims, unverified (the API server verifies), or undefined. */
function unverifiedPayload(token: string): Record<string, unknown> | undefined {
  const parts = token.split(".");
  if (parts.length !== 3) return undefined;
  try {
    const payload = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8")) as unknown;
    return typeof payload === "object" && payload !== null ? (payload as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

function post(url: URL, options: KubeTokenReviewOptions, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      url,
      {
        method: "POST",
        ca: options.caPem,
        headers: { authorization: `Bearer ${options.bearerToken}`, "content-type": "application/json", accept: "application/json", "content-length": Buffer.byteLength(body) },
        timeout: options.timeoutMs ?? 5000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        response.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${options.timeoutMs ?? 5000} ms`)));
    req.on("error", reject);
    req.end(body);
  });
}

/** The CA's external attestor (AuthorityOptions.externalAttestor) for Kubernetes tokens. */
export function kubeTokenReviewAttestor(options: KubeTokenReviewOptions): { accepts(token: string): boolean; verify(token: string): Promise<TokenVerification | Refusal> } {
  const url = new URL("/apis/authentication.k8s.io/v1/tokenreviews", options.apiServer);
  return {
    accepts(token) {
      const payload = unverifiedPayload(token);
      return payload !== undefined && payload["iss"] !== options.meshIssuer;
    },
    async verify(token) {
      const review: TokenReviewRequest = { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token, audiences: [options.audience] } };
      let answer: { status: number; text: string };
      try {
        answer = await post(url, options, JSON.stringify(review));
      } catch (error) {
        return refuse("token-review-unavailable", `cannot reach the Kubernetes API server at ${url.origin} for a TokenReview: ${(error as Error).message}`);
      }
      if (answer.status !== 200 && answer.status !== 201) {
        return refuse("token-review-unavailable", `the Kubernetes API server answered the TokenReview with HTTP ${answer.status}; check the CA's --kube-token-file may create tokenreviews`);
      }
      let parsed: TokenReviewResponse;
      try {
        parsed = JSON.parse(answer.text) as TokenReviewResponse;
      } catch {
        return refuse("token-review-unavailable", "the Kubernetes API server's TokenReview answer is not JSON");
      }
      const status = parsed.status;
      if (status?.authenticated !== true) {
        return refuse("token-review-rejected", `Kubernetes did not authenticate the service-account token${status?.error ? `: ${status.error}` : ""}`);
      }
      if (!(status.audiences ?? []).includes(options.audience)) {
        return refuse("token-wrong-audience", `Kubernetes authenticated the token for ${JSON.stringify(status.audiences ?? [])}, not for "${options.audience}"; project the token with audience "${options.audience}"`);
      }
      const username = status.user?.username ?? "";
      const match = serviceAccountUser.exec(username);
      if (!match) return refuse("token-review-rejected", `Kubernetes authenticated "${username}", which is not a service account (system:serviceaccount:<ns>:<sa>)`);
      const payload = unverifiedPayload(token) ?? {};
      const seconds = (key: string): number | undefined => (typeof payload[key] === "number" ? (payload[key] as number) : undefined);
      const expSeconds = seconds("exp");
      if (expSeconds === undefined) return refuse("token-malformed", "the Kubernetes token has no numeric exp claim; use a projected (bound) service-account token");
      return {
        ok: true,
        claims: {
          // Attested by the API server: the claims of a mesh token for this ns/sa.
          iss: options.meshIssuer,
          aud: options.audience,
          expSeconds,
          nbfSeconds: seconds("nbf"),
          iatSeconds: seconds("iat"),
          ns: match[1] ?? "",
          sa: match[2] ?? "",
          td: undefined,
          jti: undefined,
        },
      };
    },
  };
}
