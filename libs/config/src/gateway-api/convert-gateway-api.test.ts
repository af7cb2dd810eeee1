// convertGatewayApi's decisions (what Gateway API status reports): the listeners each parentRef
// attached to or why it did not, listeners' attached-route counts, and backends' ReferenceGrants.
import { describe, expect, it } from "vitest";
import { loadResources } from "../load-resources.ts";
import { convertGatewayApi } from "./convert-gateway-api.ts";

const convert = (items: readonly object[]) => {
  const loaded = loadResources([{ path: "test.json", text: JSON.stringify({ apiVersion: "v1", kind: "List", items }) }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  return convertGatewayApi(loaded.resources, { defaultNamespace: "default", domainSuffix: "cluster.local" });
};
const gateway = (name: string, className = "istio") => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name, namespace: "infra" },
  spec: {
    gatewayClassName: className,
    listeners: [
      { name: "web", port: 80, protocol: "HTTP", hostname: "*.example.com" },
      { name: "tcp", port: 9000, protocol: "TCP" },
      { name: "tls", port: 443, protocol: "HTTPS", hostname: "a.example.com", tls: { certificateRefs: [{ name: "cert", namespace: "vault" }] } },
    ],
  },
});
const route = (name: string, spec: object, namespace = "infra") => ({ apiVersion: "gateway.networking.k8s.io/v1", kind: "HTTPRoute", metadata: { name, namespace }, spec: { rules: [{ backendRefs: [{ name: "web", port: 80 }] }], ...spec } });

describe("convertGatewayApi decisions", () => {
  it("records per parentRef where a route attached, or the Gateway API reason it did not", () => {
    const { decisions } = convert([
      gateway("gw"),
      gateway("theirs", "other"),
      route("ok", { parentRefs: [{ name: "gw" }, { name: "missing" }, { name: "theirs" }, { name: "web", kind: "Service", group: "", port: 80 }] }),
      route("host", { parentRefs: [{ name: "gw", sectionName: "web" }], hostnames: ["shop.other.org"] }),
      route("ns", { parentRefs: [{ name: "gw", namespace: "infra" }] }, "apps"),
    ]);
    const outcomes = decisions.routes.map((r) => [r.route.metadata.name, r.parents.map((p) => (p.outcome.type === "rejected" ? p.outcome.reason : p.outcome.type === "attached" ? `attached:${p.outcome.listeners.join(",")}` : p.outcome.type))]);
    expect(outcomes).toEqual([
      ["ok", ["attached:web", "NoMatchingParent", "other-controller", "mesh"]],
      ["host", ["NoMatchingListenerHostname"]],
      ["ns", ["NotAllowedByListeners"]],
    ]);
  });

  it("counts attached routes per listener and says which listener a certificate reference keeps from being served", () => {
    const { decisions, resources } = convert([gateway("gw"), route("a", { parentRefs: [{ name: "gw" }, { name: "gw", sectionName: "web" }] }), route("b", { parentRefs: [{ name: "gw" }] })]);
    expect(decisions.gateways.map((g) => g.gateway.metadata.name)).toEqual(["gw"]);
    const listeners = decisions.gateways[0]?.listeners ?? [];
    expect(listeners.map((l) => [l.name, l.attachedRoutes, l.supportedKinds, l.refusal?.reason])).toEqual([
      ["web", 2, ["HTTPRoute", "GRPCRoute"], undefined],
      ["tcp", 0, ["TCPRoute"], undefined],
      ["tls", 0, ["HTTPRoute", "GRPCRoute"], "RefNotPermitted"],
    ]);
    // The outputs it always had are unchanged by the decisions: two served listeners, one VirtualService.
    expect(resources.map((r) => r.kind)).toEqual(["Gateway", "Gateway", "VirtualService"]);
  });

  it("lists every backendRef with whether a ReferenceGrant permits it", () => {
    const grant = { apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "ReferenceGrant", metadata: { name: "g", namespace: "granted" }, spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "infra" }], to: [{ group: "", kind: "Service" }] } };
    const backends = [
      { name: "local", port: 80 },
      { name: "far", namespace: "granted", port: 80 },
      { name: "far", namespace: "closed", port: 80 },
    ];
    const { decisions } = convert([grant, route("r", { rules: [{ backendRefs: backends, filters: [{ type: "RequestMirror", requestMirror: { backendRef: { name: "copy", namespace: "closed", port: 80 } } }] }] })]);
    expect(decisions.routes[0]?.backends.map((b) => [b.path.join("."), `${b.namespace}/${b.name}`, b.permitted])).toEqual([
      ["spec.rules.0.filters.0.requestMirror.backendRef", "closed/copy", false],
      ["spec.rules.0.backendRefs.0", "infra/local", true],
      ["spec.rules.0.backendRefs.1", "granted/far", true],
      ["spec.rules.0.backendRefs.2", "closed/far", false],
    ]);
  });
});
