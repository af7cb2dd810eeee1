// The CA's admin API (/v1/ca/...) on the admin listener: GET /v1/ca/status,
// POST /v1/ca/rotate-root ({"force": true} to skip the acknowledgement checks) and
// POST /v1/ca/rotate-jwt-key (a new JWT-SVID signing key; the old one stays published). Authenticated:
// only loopback peers unless --admin-allow-remote, and, with --admin-token-file, an
// `Authorization: Bearer <token>` that matches the file. Missing token → 401, wrong token or a
// remote peer → 403, each with a message naming the fix.
import { timingSafeEqual } from "node:crypto";
import { isIP } from "node:net";
import { RotationConflict, type RootRotation } from "../root-rotation.ts";
import type { AdminApiRequest, AdminApiResponse } from "./admin-server.ts";

/** Who may call the admin API. */
export interface AdminAuth {
  /** The bearer token (the content of --admin-token-file, trimmed); undefined: no token needed. */
  readonly token: string | undefined;
  /** Accept peers other than loopback (--admin-allow-remote; needs a token). */
  readonly allowRemote: boolean;
}

/** Whether `address` (as node:net reports it) is a loopback address. */
export function isLoopback(address: string): boolean {
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith("127.");
  return address === "::1";
}

/** 401/403 for a request the API must not answer, or undefined when it may. */
export function authorize(request: AdminApiRequest, auth: AdminAuth): AdminApiResponse | undefined {
  if (!auth.allowRemote && !isLoopback(request.remoteAddress)) {
    return {
      status: 403,
      body: { error: `the CA admin API answers loopback clients only, not ${request.remoteAddress}; call it from the CA's host, or start the CA with --admin-allow-remote and --admin-token-file` },
    };
  }
  if (auth.token === undefined) return undefined;
  const header = request.headers.authorization;
  const match = typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  if (!match) {
    return {
      status: 401,
      headers: { "www-authenticate": 'Bearer realm="meshwork-ca"' },
      body: { error: "the CA admin API needs `Authorization: Bearer <token>`, the content of the CA's --admin-token-file (meshctl: --token-file FILE)" },
    };
  }
  const given = Buffer.from(match[1] ?? "");
  const expected = Buffer.from(auth.token);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { status: 403, body: { error: "the bearer token does not match the CA's --admin-token-file; pass that file's content (meshctl: --token-file FILE)" } };
  }
  return undefined;
}

/** The API handler for startAdminServer's `api`; `rotateJwtKey` absent: 404 for /v1/ca/rotate-jwt-key. */
export function adminApi(rotation: RootRotation, auth: AdminAuth & { readonly rotateJwtKey?: () => Promise<unknown> }): (request: AdminApiRequest) => Promise<AdminApiResponse> {
  return async (request) => {
    const refused = authorize(request, auth);
    if (refused) return refused;
    if (request.path === "/v1/ca/status") {
      if (request.method !== "GET") return { status: 405, headers: { allow: "GET" }, body: { error: "use GET /v1/ca/status" } };
      await rotation.advance();
      return { status: 200, body: rotation.status() };
    }
    if (request.path === "/v1/ca/rotate-root") {
      if (request.method !== "POST") return { status: 405, headers: { allow: "POST" }, body: { error: 'use POST /v1/ca/rotate-root with {} or {"force": true}' } };
      let force = false;
      if (request.body.trim() !== "") {
        let body: unknown;
        try {
          body = JSON.parse(request.body);
        } catch {
          return { status: 400, body: { error: 'the body of POST /v1/ca/rotate-root must be JSON: {} or {"force": true}' } };
        }
        const value = (body as { force?: unknown } | null)?.force;
        if (value !== undefined && typeof value !== "boolean") return { status: 400, body: { error: `"force" must be true or false, got ${JSON.stringify(value)}` } };
        force = value === true;
      }
      try {
        return { status: 202, body: await rotation.start(force) };
      } catch (error) {
        if (error instanceof RotationConflict) return { status: 409, body: { error: error.message } };
        throw error;
      }
    }
    if (request.path === "/v1/ca/rotate-jwt-key" && auth.rotateJwtKey !== undefined) {
      if (request.method !== "POST") return { status: 405, headers: { allow: "POST" }, body: { error: "use POST /v1/ca/rotate-jwt-key" } };
      return { status: 200, body: await auth.rotateJwtKey() };
    }
    return { status: 404, body: { error: `no admin endpoint ${request.path}; the CA has GET /v1/ca/status, POST /v1/ca/rotate-root and POST /v1/ca/rotate-jwt-key` } };
  };
}
