// parseMeshConfig on Istio's documented MeshConfig for external authorization
// (https://istio.io/latest/docs/tasks/security/authorization/authz-custom/) and on mistakes.
import { describe, expect, it } from "vitest";
import { defaultMeshAuthzConfig } from "./mesh-authz-config.ts";
import { parseMeshConfig } from "./parse-mesh-config.ts";

const istioExample = `
mesh: |-
  rootNamespace: mesh-system
  trustDomain: example.org
  h2UpgradePolicy: UPGRADE
  trustDomainAliases: [old.example.org]
  extensionProviders:
  - name: "sample-ext-authz-http"
    envoyExtAuthzHttp:
      service: "foo/ext-authz.foo.svc.cluster.local"
      port: "8000"
      includeRequestHeadersInCheck: ["x-ext-authz"]
  - name: "sample-ext-authz-grpc"
    envoyExtAuthzGrpc:
      service: "ext-authz.foo.svc.cluster.local"
      port: "9000"
  - name: otel
    opentelemetry:
      service: otel.istio-system.svc.cluster.local
      port: 4317
`;

describe("parseMeshConfig", () => {
  it("reads the istio ConfigMap's mesh string with an HTTP and a gRPC authorizer; other provider kinds are not the authorizer's", () => {
    const result = parseMeshConfig(istioExample, "istio.yaml");
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.rootNamespace).toBe("mesh-system");
    expect(result.config.trustDomain).toBe("example.org");
    expect(result.config.trustDomainAliases).toEqual(["old.example.org"]);
    expect(result.h2UpgradePolicy).toBe("UPGRADE");
    expect(result.config.extensionProviders).toEqual([
      {
        type: "http",
        name: "sample-ext-authz-http",
        service: "ext-authz.foo.svc.cluster.local",
        port: 8000,
        pathPrefix: "",
        timeoutMs: 600_000,
        includeRequestHeadersInCheck: ["x-ext-authz"],
        includeAdditionalHeadersInCheck: {},
        headersToUpstreamOnAllow: [],
        headersToDownstreamOnAllow: [],
        headersToDownstreamOnDeny: undefined,
        failOpen: false,
        statusOnError: 403,
        includeRequestBodyInCheck: undefined,
      },
      {
        type: "grpc",
        name: "sample-ext-authz-grpc",
        service: "ext-authz.foo.svc.cluster.local",
        port: 9000,
        timeoutMs: 600_000,
        failOpen: false,
        statusOnError: 403,
        includeRequestBodyInCheck: undefined,
      },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("decodes every envoyExtAuthzHttp field", () => {
    const result = parseMeshConfig(`
extensionProviders:
- name: authz
  envoyExtAuthzHttp:
    service: authz.sec.svc.cluster.local
    port: 9000
    pathPrefix: /check
    timeout: 0.5s
    includeRequestHeadersInCheck: ["authorization", "x-*"]
    includeAdditionalHeadersInCheck: { x-from: sidecar }
    headersToUpstreamOnAllow: ["x-user"]
    headersToDownstreamOnAllow: ["set-cookie"]
    headersToDownstreamOnDeny: ["www-authenticate"]
    failOpen: true
    statusOnError: "503"
`);
    expect(result.ok && result.config.extensionProviders[0]).toMatchObject({
      pathPrefix: "/check",
      timeoutMs: 500,
      includeAdditionalHeadersInCheck: { "x-from": "sidecar" },
      headersToDownstreamOnDeny: ["www-authenticate"],
      failOpen: true,
      statusOnError: 503,
    });
  });

  it("names the field and the fix in every error", () => {
    const result = parseMeshConfig(
      `
trustDomain: ""
h2UpgradePolicy: upgrade
extensionProviders:
- name: a
  envoyExtAuthzHttp:
    port: 70000
    timeout: soon
    failOpen: "yes"
    statusOnError: "4040"
    pathPrefix: check
    headersToUpstreamOnAllow: x-user
    servce: typo
- envoyExtAuthzHttp: {}
- name: a
  envoyExtAuthzHttp: { service: s, port: 1 }
- name: b
  envoyExtAuthzHttp: { service: s, port: 1 }
  zipkin: { service: z, port: 1 }
`,
      "mesh.yaml",
    );
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([
      'mesh.yaml: trustDomain must be a non-empty string, got ""',
      'mesh.yaml: h2UpgradePolicy must be UPGRADE or DO_NOT_UPGRADE, got "upgrade"',
      "mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.servce: unknown field; expected one of service, port, pathPrefix, timeout, includeRequestHeadersInCheck, includeHeadersInCheck, includeAdditionalHeadersInCheck, includeRequestBodyInCheck, headersToUpstreamOnAllow, headersToDownstreamOnAllow, headersToDownstreamOnDeny, failOpen, clearRouteCache, statusOnError",
      'mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.service is required, e.g. "ext-authz.foo.svc.cluster.local"',
      "mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.port must be a port number 1-65535, got 70000",
      'mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.timeout must be a positive duration such as "0.5s" or "300ms", got "soon"',
      "mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.failOpen must be true or false",
      'mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.statusOnError must be an HTTP status code such as "403" or "503", got "4040"',
      'mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.pathPrefix must be a path starting with "/", got "check"',
      'mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.headersToUpstreamOnAllow must be a list of header names ("x-user", "x-auth-*", "*-id")',
      "mesh.yaml: extensionProviders[1].name is required (the name CUSTOM policies use in provider.name)",
      'mesh.yaml: extensionProviders[2].name "a" is already used by another provider; names must be unique',
      "mesh.yaml: extensionProviders[3] (b): exactly one provider kind is required, found envoyExtAuthzHttp, zipkin",
    ]);
  });

  it("decodes every envoyExtAuthzGrpc field (Istio's EnvoyExternalAuthorizationGrpcProvider)", () => {
    const result = parseMeshConfig(
      `
extensionProviders:
- name: opa
  envoyExtAuthzGrpc:
    service: "opa/opa.opa.svc.cluster.local"
    port: 9191
    timeout: 250ms
    failOpen: true
    statusOnError: "503"
    clearRouteCache: true
    includeRequestBodyInCheck: { maxRequestBytes: "8192", allowPartialMessage: true, packAsBytes: true }
`,
      "mesh.yaml",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.extensionProviders).toEqual([
      {
        type: "grpc",
        name: "opa",
        service: "opa.opa.svc.cluster.local",
        port: 9191,
        timeoutMs: 250,
        failOpen: true,
        statusOnError: 503,
        includeRequestBodyInCheck: { maxRequestBytes: 8192, allowPartialMessage: true, packAsBytes: true },
      },
    ]);
    expect(result.warnings).toEqual([]);
  });

  it("reads Istio's deprecated includeHeadersInCheck when includeRequestHeadersInCheck is unset, with a warning", () => {
    const result = parseMeshConfig(
      `
extensionProviders:
- name: old
  envoyExtAuthzHttp: { service: s, port: 8000, includeHeadersInCheck: ["x-ext-authz"] }
- name: both
  envoyExtAuthzHttp: { service: s, port: 8000, includeHeadersInCheck: ["x-old"], includeRequestHeadersInCheck: ["x-new"] }
`,
      "mesh.yaml",
    );
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.config.extensionProviders.map((p) => p.type === "http" && p.includeRequestHeadersInCheck)).toEqual([["x-ext-authz"], ["x-new"]]);
    expect(result.warnings).toEqual([
      "mesh.yaml: extensionProviders[0].envoyExtAuthzHttp.includeHeadersInCheck is deprecated: write includeRequestHeadersInCheck instead",
      "mesh.yaml: extensionProviders[1].envoyExtAuthzHttp.includeHeadersInCheck is deprecated: write includeRequestHeadersInCheck instead",
    ]);
  });

  it("names the field and the fix in every envoyExtAuthzGrpc error", () => {
    const result = parseMeshConfig(
      `
extensionProviders:
- name: a
  envoyExtAuthzGrpc:
    service: ""
    port: "9000x"
    timeout: 0s
    failOpen: 1
    statusOnError: "OK"
    clearRouteCache: "no"
    pathPrefix: /check
    includeRequestBodyInCheck: { maxRequestBytes: 0, allowPartialMessage: "yes", packAsBytes: 1, maxBytes: 10 }
- name: b
  envoyExtAuthzGrpc: ext-authz:9000
- name: c
  envoyExtAuthzGrpc: { service: s, port: 9000, includeRequestBodyInCheck: 8192 }
- name: d
  envoyExtAuthzGrpc: { service: s, port: 9000, includeRequestBodyInCheck: { maxRequestBytes: -1 } }
`,
      "mesh.yaml",
    );
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.errors).toEqual([
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.pathPrefix: unknown field; expected one of service, port, timeout, failOpen, statusOnError, includeRequestBodyInCheck, clearRouteCache",
      'mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.service is required, e.g. "ext-authz.foo.svc.cluster.local"',
      'mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.port must be a port number 1-65535, got "9000x"',
      'mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.timeout must be a positive duration such as "0.5s" or "300ms", got "0s"',
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.failOpen must be true or false",
      'mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.statusOnError must be an HTTP status code such as "403" or "503", got "OK"',
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.clearRouteCache must be true or false",
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.includeRequestBodyInCheck.maxBytes: unknown field; expected one of maxRequestBytes, allowPartialMessage, packAsBytes",
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.includeRequestBodyInCheck.maxRequestBytes must be a byte count of at least 1 (Envoy refuses 0), e.g. 8192, got 0",
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.includeRequestBodyInCheck.allowPartialMessage must be true or false",
      "mesh.yaml: extensionProviders[0].envoyExtAuthzGrpc.includeRequestBodyInCheck.packAsBytes must be true or false",
      "mesh.yaml: extensionProviders[1].envoyExtAuthzGrpc must be a mapping with at least service and port",
      "mesh.yaml: extensionProviders[2].envoyExtAuthzGrpc.includeRequestBodyInCheck must be a mapping such as {maxRequestBytes: 8192, allowPartialMessage: true}",
      "mesh.yaml: extensionProviders[3].envoyExtAuthzGrpc.includeRequestBodyInCheck.maxRequestBytes must be a byte count of at least 1 (Envoy refuses 0), e.g. 8192, got -1",
    ]);
  });

  it("reads a gateway's numTrustedProxies from defaultConfig.gatewayTopology (Istio's ingress remote.ip setup)", () => {
    const cases: readonly (readonly [string, number | undefined | string])[] = [
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 2\n", 2],
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 0\n", 0],
      ["defaultConfig:\n  concurrency: 2\n", undefined],
      ["trustDomain: example.org\n", undefined],
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: -1\n", "mesh.yaml: defaultConfig.gatewayTopology.numTrustedProxies must be a whole number of proxies (0 or more), got -1"],
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: \"2\"\n", 'mesh.yaml: defaultConfig.gatewayTopology.numTrustedProxies must be a whole number of proxies (0 or more), got "2"'],
      ["defaultConfig:\n  gatewayTopology: 2\n", "mesh.yaml: defaultConfig must be a mapping of ProxyConfig fields, e.g. defaultConfig: { gatewayTopology: { numTrustedProxies: 1 } }"],
    ];
    for (const [yaml, expected] of cases) {
      const result = parseMeshConfig(yaml, "mesh.yaml");
      if (typeof expected === "string") expect(result).toEqual({ ok: false, errors: [expected] });
      else expect(result).toMatchObject({ ok: true, numTrustedProxies: expected });
    }
  });

  it("turns the gateway's PROXY protocol on when defaultConfig.gatewayTopology.proxyProtocol is present", () => {
    const cases: readonly (readonly [string, boolean | undefined | string])[] = [
      ["defaultConfig:\n  gatewayTopology:\n    proxyProtocol: {}\n", true],
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 1\n    proxyProtocol: {}\n", true],
      ["defaultConfig:\n  gatewayTopology:\n    numTrustedProxies: 1\n", undefined],
      ["defaultConfig:\n  gatewayTopology:\n    proxyProtocol: null\n", undefined],
      [
        "defaultConfig:\n  gatewayTopology:\n    proxyProtocol: true\n",
        "mesh.yaml: defaultConfig.gatewayTopology.proxyProtocol must be a mapping (write proxyProtocol: {} to expect a PROXY protocol header from the load balancer), got true",
      ],
    ];
    for (const [yaml, expected] of cases) {
      const result = parseMeshConfig(yaml, "mesh.yaml");
      if (typeof expected === "string") expect(result).toEqual({ ok: false, errors: [expected] });
      else expect(result.ok && result.proxyProtocol).toBe(expected);
    }
  });

  it("gives Istio's defaults for an empty file and refuses non-YAML", () => {
    expect(parseMeshConfig("")).toEqual({ ok: true, config: defaultMeshAuthzConfig, warnings: [] });
    expect(parseMeshConfig("a: [1", "m.yaml")).toMatchObject({ ok: false });
    expect(parseMeshConfig("- 1", "m.yaml")).toEqual({ ok: false, errors: ["m.yaml: expected a mapping of MeshConfig fields at the top level"] });
  });
});
