// authorizeConnection: CUSTOM (envoyExtAuthzGrpc only) → DENY → ALLOW for TCP connections, with a
// compiled engine and a recording authorizer; HTTP providers never apply to TCP.
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileAuthorization, type AuthzRequest } from "@meshwork/proxy-core";
import { describe, expect, it } from "vitest";
import { authorizeConnection, type ConnectionOutcome } from "./authorize-connection.ts";
import type { ConnectionCheckRequest, ExternalAuthorizer, ExternalCheckResult } from "./check-external.ts";
import type { ExtAuthzGrpcProvider, ExtAuthzHttpProvider, ExtAuthzProvider } from "./mesh-authz-config.ts";

const grpcProvider: ExtAuthzGrpcProvider = { type: "grpc", name: "opa", service: "opa", port: 9191, timeoutMs: 1_000, failOpen: false, statusOnError: 403, includeRequestBodyInCheck: undefined };
const httpProvider: ExtAuthzHttpProvider = {
  type: "http",
  name: "http-authz",
  service: "authz",
  port: 8000,
  pathPrefix: "",
  timeoutMs: 1_000,
  failOpen: false,
  statusOnError: 403,
  includeRequestBodyInCheck: undefined,
  includeRequestHeadersInCheck: [],
  includeAdditionalHeadersInCheck: {},
  headersToUpstreamOnAllow: [],
  headersToDownstreamOnAllow: [],
  headersToDownstreamOnDeny: undefined,
};
const providers = new Map<string, ExtAuthzProvider>([
  ["opa", grpcProvider],
  ["http-authz", httpProvider],
]);

const policy = (name: string, body: string) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${name}, namespace: foo }
spec:
${body}`;

function engineFor(...docs: string[]) {
  const policies = loadResources([{ path: "p.yaml", text: docs.join("---\n") }]).resources as MeshResource<"AuthorizationPolicy">[];
  return compileAuthorization(policies, { namespace: "foo", labels: { app: "db" } }, { rootNamespace: "istio-system", trustDomain: "cluster.local", extensionProviders: [...providers.keys()], tcpExtensionProviders: ["opa"] });
}

/** An authorizer that allows the connections of service account `sleep` and records what it was asked. */
function recordingAuthorizer(answer?: ExternalCheckResult): { authorizer: ExternalAuthorizer; asked: ConnectionCheckRequest[] } {
  const asked: ConnectionCheckRequest[] = [];
  const authorizer: ExternalAuthorizer = {
    check: () => Promise.reject(new Error("a TCP connection is not an HTTP request")),
    checkConnection: (request) => {
      asked.push(request);
      const allowed = request.source.principal?.endsWith("/sa/sleep") === true;
      return Promise.resolve(
        answer ??
          (allowed
            ? { allowed: true, upstreamHeaders: [], upstreamHeadersToRemove: [], downstreamHeaders: [], downstreamHeadersToSet: [] }
            : { allowed: false, status: 403, headers: [], body: Buffer.alloc(0), flag: "UAEX", failed: false, reason: "denied by opa with 403" }),
      );
    },
    close: () => undefined,
  };
  return { authorizer, asked };
}

const fromSleep: AuthzRequest = { protocol: "tcp", sourceIp: "10.0.0.5", destinationPort: 5432, sourcePrincipal: "cluster.local/ns/foo/sa/sleep" };
const fromOther: AuthzRequest = { ...fromSleep, sourcePrincipal: "cluster.local/ns/foo/sa/other" };
const describeConnection = (request: AuthzRequest) => (): ConnectionCheckRequest => ({
  source: { address: request.sourceIp ?? "", port: 40512, principal: request.sourcePrincipal === undefined ? undefined : `spiffe://${request.sourcePrincipal}` },
  destination: { address: "10.0.0.9", port: 5432 },
});

async function authorize(engine: ReturnType<typeof engineFor>, authorizer: ExternalAuthorizer | undefined, request: AuthzRequest): Promise<ConnectionOutcome> {
  return authorizeConnection({ engine, providers, ...(authorizer ? { grpcAuthorizers: new Map([["opa", authorizer]]) } : {}) }, request, describeConnection(request));
}

const customOpa = policy("ext-authz", "  action: CUSTOM\n  provider: { name: opa }\n  rules: [{ to: [{ operation: { ports: ['5432'] } }] }]\n");

describe("authorizeConnection", () => {
  it("asks a gRPC provider about the connections its CUSTOM rules match, and closes the ones it denies (UAEX)", async () => {
    const { authorizer, asked } = recordingAuthorizer();
    const engine = engineFor(customOpa);
    expect(await authorize(engine, authorizer, fromSleep)).toMatchObject({ type: "allow" });
    expect(await authorize(engine, authorizer, fromOther)).toEqual({ type: "deny", flag: "UAEX", details: "ext_authz_denied", reason: "CUSTOM policy foo/ext-authz: denied by opa with 403", policy: "foo/ext-authz" });
    expect(asked.map((a) => a.source.principal)).toEqual(["spiffe://cluster.local/ns/foo/sa/sleep", "spiffe://cluster.local/ns/foo/sa/other"]);
    const otherPort = authorizeConnection({ engine, providers, grpcAuthorizers: new Map([["opa", authorizer]]) }, { ...fromOther, destinationPort: 3306 }, describeConnection(fromOther));
    expect(otherPort).toMatchObject({ type: "allow" });
    expect(asked).toHaveLength(2);
  });

  it("still applies DENY policies after the provider allowed", async () => {
    const { authorizer } = recordingAuthorizer();
    const denyPlain = policy("deny-sleep", "  action: DENY\n  rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] }]\n");
    expect(await authorize(engineFor(customOpa, denyPlain), authorizer, fromSleep)).toEqual({
      type: "deny",
      flag: undefined,
      details: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-sleep]-rule[0]]",
      reason: "denied by DENY policy foo/deny-sleep rule 0",
      policy: "foo/deny-sleep",
    });
  });

  it("closes the connection when the provider fails (ext_authz_error), unless it is failOpen", async () => {
    const failing = recordingAuthorizer({ allowed: false, status: 403, headers: [], body: Buffer.alloc(0), flag: "UAEX", failed: true, reason: "opa unreachable" });
    expect(await authorize(engineFor(customOpa), failing.authorizer, fromSleep)).toMatchObject({ type: "deny", flag: "UAEX", details: "ext_authz_error" });
    expect(await authorize(engineFor(customOpa), undefined, fromSleep)).toMatchObject({ type: "deny", details: "ext_authz_error", reason: expect.stringContaining("no gRPC client") });
  });

  it("never asks an HTTP provider about a TCP connection (Istio ignores it on TCP), and answers at once", () => {
    const { authorizer, asked } = recordingAuthorizer();
    const customHttp = policy("ext-authz", "  action: CUSTOM\n  provider: { name: http-authz }\n  rules: [{}]\n");
    const outcome = authorizeConnection({ engine: engineFor(customHttp), providers, grpcAuthorizers: new Map([["opa", authorizer]]) }, fromOther, describeConnection(fromOther));
    expect(outcome).toMatchObject({ type: "allow" });
    expect(asked).toEqual([]);
  });

  it("applies DENY and ALLOW on TCP attributes synchronously without CUSTOM policies", () => {
    const onlySleep = policy("only-sleep", "  rules: [{ from: [{ source: { principals: ['cluster.local/ns/foo/sa/sleep'] } }] }]\n");
    const engine = engineFor(onlySleep);
    expect(authorizeConnection({ engine, providers }, fromSleep, describeConnection(fromSleep))).toMatchObject({ type: "allow" });
    expect(authorizeConnection({ engine, providers }, fromOther, describeConnection(fromOther))).toMatchObject({ type: "deny", flag: undefined, details: "rbac_access_denied_matched_policy[none]" });
  });
});
