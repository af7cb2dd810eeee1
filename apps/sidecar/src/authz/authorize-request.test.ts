// authorizeRequest: the whole CUSTOM → DENY → ALLOW flow with a compiled engine and a real local
// external authorizer (port 0), and the local replies it asks the data path to send.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { loadResources, type MeshResource } from "@meshwork/config";
import { compileAuthorization } from "@meshwork/proxy-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authorizeRequest, type AuthorizeOutcome } from "./authorize-request.ts";
import type { ExtAuthzProvider } from "./mesh-authz-config.ts";
import { parseMeshConfig } from "./parse-mesh-config.ts";

let server: Server;
let providers: Map<string, ExtAuthzProvider>;
/** Checks the authorizer received. */
let checks = 0;

const policiesYaml = `
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ext-authz, namespace: foo }
spec:
  action: CUSTOM
  provider: { name: sample-ext-authz-http }
  rules:
  - to:
    - operation: { paths: ["/headers"] }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-delete, namespace: foo }
spec:
  action: DENY
  rules:
  - to:
    - operation: { methods: ["DELETE"] }
`;

beforeAll(async () => {
  // The sample authorizer of Istio's task: allows when x-ext-authz is "allow".
  // With includeRequestBodyInCheck the body is read too: "let me in" is allowed.
  server = createServer((req, res) => {
    checks += 1;
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      if (req.headers["x-ext-authz"] === "allow" || Buffer.concat(chunks).toString() === "let me in") res.writeHead(200, { "x-ext-authz-check-result": "allowed" }).end();
      else res.writeHead(403, { "x-ext-authz-check-result": "denied" }).end("denied by ext_authz for not found header `x-ext-authz: allow` in the request");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const mesh = parseMeshConfig(`
extensionProviders:
- name: sample-ext-authz-http
  envoyExtAuthzHttp:
    service: 127.0.0.1
    port: ${port}
    includeRequestHeadersInCheck: ["x-ext-authz"]
    headersToUpstreamOnAllow: ["x-ext-authz-check-result"]
- name: ext-authz-body
  envoyExtAuthzHttp:
    service: 127.0.0.1
    port: ${port}
    includeRequestBodyInCheck: { maxRequestBytes: 64 }
`);
  if (!mesh.ok) throw new Error(mesh.errors.join("\n"));
  providers = new Map(mesh.config.extensionProviders.map((p) => [p.name, p]));
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function engineFor(yaml: string) {
  const policies = loadResources([{ path: "p.yaml", text: yaml }]).resources as MeshResource<"AuthorizationPolicy">[];
  return compileAuthorization(policies, { namespace: "foo", labels: { app: "httpbin" } }, {
    rootNamespace: "istio-system",
    trustDomain: "cluster.local",
    extensionProviders: [...providers.keys()],
  });
}

async function authorize(method: string, path: string, headers: Record<string, string> = {}): Promise<AuthorizeOutcome> {
  const engine = engineFor(policiesYaml);
  return authorizeRequest({ engine, providers }, { method, path, headers: (n) => headers[n] }, () => ({ method, path, host: "httpbin.foo:8000", headers }));
}

describe("authorizeRequest", () => {
  it("answers synchronously when no CUSTOM policy matches", () => {
    const engine = engineFor(policiesYaml);
    const outcome = authorizeRequest({ engine, providers }, { method: "GET", path: "/ip" }, () => {
      throw new Error("the external authorizer must not be asked");
    });
    expect(outcome).not.toBeInstanceOf(Promise);
    expect((outcome as AuthorizeOutcome).type).toBe("allow");
  });

  it("asks the external authorizer for matching requests and forwards its headers on allow", async () => {
    const outcome = await authorize("GET", "/headers", { "x-ext-authz": "allow" });
    expect(outcome).toMatchObject({ type: "allow", upstreamHeaders: [["x-ext-authz-check-result", "allowed"]] });
  });

  it("relays the authorizer's denial (status, body, headers, UAEX)", async () => {
    const outcome = await authorize("GET", "/headers", { "x-ext-authz": "deny" });
    expect(outcome).toMatchObject({ type: "deny", status: 403, grpcStatus: 7, flag: "UAEX", responseCodeDetails: "ext_authz_denied" });
    expect(outcome.type === "deny" && outcome.body.toString()).toContain("denied by ext_authz");
    expect(outcome.type === "deny" && outcome.headers).toContainEqual(["x-ext-authz-check-result", "denied"]);
  });

  it("still applies DENY policies after the authorizer allowed", async () => {
    const outcome = await authorize("DELETE", "/headers", { "x-ext-authz": "allow" });
    expect(outcome).toMatchObject({
      type: "deny",
      status: 403,
      body: "RBAC: access denied",
      grpcStatus: 7,
      flag: undefined,
      policy: "foo/deny-delete",
      responseCodeDetails: "rbac_access_denied_matched_policy[ns[foo]-policy[deny-delete]-rule[0]]",
    });
  });

  it("checks with the body the data path read for a provider that asks for it", async () => {
    const engine = engineFor(policiesYaml.replace("sample-ext-authz-http", "ext-authz-body"));
    const asked: string[] = [];
    const describe = (provider: ExtAuthzProvider) => {
      asked.push(provider.name);
      return Promise.resolve({ method: "POST", path: "/headers", host: "h", headers: {}, body: Buffer.from("let me in"), bodyComplete: true });
    };
    expect(await authorizeRequest({ engine, providers }, { method: "POST", path: "/headers" }, describe)).toMatchObject({ type: "allow" });
    expect(asked).toEqual(["ext-authz-body"]);
    const wrong = () => Promise.resolve({ method: "POST", path: "/headers", host: "h", headers: {}, body: Buffer.from("let me out"), bodyComplete: true });
    expect(await authorizeRequest({ engine, providers }, { method: "POST", path: "/headers" }, wrong)).toMatchObject({ type: "deny", status: 403, flag: "UAEX" });
  });

  it("answers 413 without asking the provider when the body is too large, 400 when it could not be read", async () => {
    const engine = engineFor(policiesYaml.replace("sample-ext-authz-http", "ext-authz-body"));
    const before = checks;
    const tooLarge = await authorizeRequest({ engine, providers }, { method: "POST", path: "/headers" }, () => Promise.resolve({ refused: "payload-too-large" as const }));
    expect(tooLarge).toMatchObject({ type: "deny", status: 413, body: "Payload Too Large", grpcStatus: 2, flag: undefined, policy: "foo/ext-authz", responseCodeDetails: "request_payload_too_large" });
    const unreadable = await authorizeRequest({ engine, providers }, { method: "POST", path: "/headers" }, () => Promise.resolve({ refused: "unreadable" as const, details: "downstream_remote_disconnect" }));
    expect(unreadable).toMatchObject({ type: "deny", status: 400, responseCodeDetails: "downstream_remote_disconnect" });
    expect(checks).toBe(before);
  });

  it("denies with 403 'RBAC: access denied' for a CUSTOM policy naming an unknown provider", () => {
    const engine = engineFor(policiesYaml.replace("sample-ext-authz-http", "missing"));
    const outcome = authorizeRequest({ engine, providers }, { method: "GET", path: "/headers" }, () => ({ method: "GET", path: "/headers", host: "h", headers: {} }));
    expect(outcome).toMatchObject({ type: "deny", status: 403, body: "RBAC: access denied" });
  });
});
