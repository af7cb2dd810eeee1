// planGatewayStatus as data: each case gives the objects as the API server holds them (with
// metadata.generation), runs the real conversion over them, and checks the status planned.
import { convertGatewayApi, loadResources } from "@meshwork/config";
import { describe, expect, it } from "vitest";
import { planGatewayStatus, statusObjectKey, type GatewayApiObject, type GatewayStatusInput, type GatewayStatusWrite } from "./plan-gateway-status.ts";

const t1 = new Date("2025-03-01T10:00:00.000Z");
const t2 = new Date("2025-03-01T11:30:00.000Z");

type Raw = GatewayApiObject & { apiVersion: string; spec: Record<string, unknown> };

const gateway = (name: string, listeners: { name: string; [field: string]: unknown }[], extra: Record<string, unknown> = {}): Raw => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "Gateway",
  metadata: { name, namespace: "infra", generation: 3, resourceVersion: "10" },
  spec: { gatewayClassName: "istio", listeners, ...extra },
});
const httpRoute = (name: string, spec: Record<string, unknown>, namespace = "infra"): Raw => ({
  apiVersion: "gateway.networking.k8s.io/v1",
  kind: "HTTPRoute",
  metadata: { name, namespace, generation: 7, resourceVersion: "20" },
  spec: { rules: [{ backendRefs: [{ name: "web", port: 8080 }] }], ...spec },
});
const toGateway = (name: string, sectionName?: string) => ({ name, namespace: "infra", ...(sectionName !== undefined ? { sectionName } : {}) });

/** The input for `objects`: the conversion runs over them as the config store would admit them. */
function inputOf(objects: readonly Raw[], options: { services?: readonly string[]; now?: Date; addresses?: GatewayStatusInput["addresses"] } = {}): GatewayStatusInput {
  const loaded = loadResources([{ path: "case.json", text: JSON.stringify({ apiVersion: "v1", kind: "List", items: objects.map(({ apiVersion, kind, metadata, spec }) => ({ apiVersion, kind, metadata: { name: metadata.name, namespace: metadata.namespace }, spec })) }) }]);
  expect(loaded.issues.filter((i) => i.severity === "error")).toEqual([]);
  const { decisions } = convertGatewayApi(loaded.resources, { defaultNamespace: "default", domainSuffix: "cluster.local" });
  return { objects, decisions, rejected: new Map(), services: new Set(options.services ?? ["infra/web"]), addresses: options.addresses ?? new Map(), now: options.now ?? t1 };
}

const writeOf = (writes: readonly GatewayStatusWrite[], kind: string, name: string): GatewayStatusWrite | undefined => writes.find((w) => w.kind === kind && w.name === name);
const conditionsOf = (status: unknown): { type: string; status: string; reason: string }[] => ((status as { conditions: { type: string; status: string; reason: string }[] }).conditions ?? []).map(({ type, status: s, reason }) => ({ type, status: s, reason }));
const parentConditions = (write: GatewayStatusWrite | undefined) => ((write?.status["parents"] ?? []) as { conditions: unknown[] }[]).map((p) => conditionsOf(p));

interface RouteCase {
  readonly name: string;
  readonly objects: readonly Raw[];
  readonly services?: readonly string[];
  /** Accepted and ResolvedRefs of the route `r`'s one parent. */
  readonly expected: { accepted: [string, string]; resolvedRefs: [string, string] };
}

const listenerHttp = { name: "http", port: 80, protocol: "HTTP", hostname: "*.example.com" };

const routeCases: RouteCase[] = [
  {
    name: "a parentRef to a Gateway that does not exist is NoMatchingParent",
    objects: [httpRoute("r", { parentRefs: [toGateway("missing")] })],
    expected: { accepted: ["False", "NoMatchingParent"], resolvedRefs: ["True", "ResolvedRefs"] },
  },
  {
    name: "a sectionName no listener has is NoMatchingParent",
    objects: [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw", "nope")] })],
    expected: { accepted: ["False", "NoMatchingParent"], resolvedRefs: ["True", "ResolvedRefs"] },
  },
  {
    name: "hostnames outside every listener's are NoMatchingListenerHostname",
    objects: [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")], hostnames: ["shop.other.org"] })],
    expected: { accepted: ["False", "NoMatchingListenerHostname"], resolvedRefs: ["True", "ResolvedRefs"] },
  },
  {
    name: "a route from a namespace the listener does not admit is NotAllowedByListeners",
    objects: [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")] }, "apps")],
    services: ["apps/web"],
    expected: { accepted: ["False", "NotAllowedByListeners"], resolvedRefs: ["True", "ResolvedRefs"] },
  },
  {
    name: "a backend in another namespace without a ReferenceGrant is RefNotPermitted",
    objects: [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")], rules: [{ backendRefs: [{ name: "web", namespace: "shop", port: 8080 }] }] })],
    services: ["shop/web"],
    expected: { accepted: ["True", "Accepted"], resolvedRefs: ["False", "RefNotPermitted"] },
  },
  {
    name: "a backend in another namespace with a ReferenceGrant there resolves",
    objects: [
      gateway("gw", [listenerHttp]),
      httpRoute("r", { parentRefs: [toGateway("gw")], rules: [{ backendRefs: [{ name: "web", namespace: "shop", port: 8080 }] }] }),
      { apiVersion: "gateway.networking.k8s.io/v1beta1", kind: "ReferenceGrant" as never, metadata: { name: "grant", namespace: "shop" }, spec: { from: [{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", namespace: "infra" }], to: [{ group: "", kind: "Service" }] } },
    ],
    services: ["shop/web"],
    expected: { accepted: ["True", "Accepted"], resolvedRefs: ["True", "ResolvedRefs"] },
  },
  {
    name: "a backend Service that does not exist is BackendNotFound",
    objects: [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")], rules: [{ backendRefs: [{ name: "gone", port: 8080 }] }] })],
    expected: { accepted: ["True", "Accepted"], resolvedRefs: ["False", "BackendNotFound"] },
  },
];

describe("planGatewayStatus: route parents", () => {
  for (const c of routeCases) {
    it(c.name, () => {
      const input = inputOf(c.objects, { services: c.services ?? ["infra/web"] });
      // Only GatewayClass, Gateway and route objects get a status (the ReferenceGrant is input only).
      const writes = planGatewayStatus({ ...input, objects: input.objects.filter((o) => o.kind !== ("ReferenceGrant" as never)) });
      const route = writeOf(writes, "HTTPRoute", "r");
      expect(parentConditions(route)).toEqual([
        [
          { type: "Accepted", status: c.expected.accepted[0], reason: c.expected.accepted[1] },
          { type: "ResolvedRefs", status: c.expected.resolvedRefs[0], reason: c.expected.resolvedRefs[1] },
        ],
      ]);
      const parent = (route?.status["parents"] as { controllerName: string; parentRef: unknown; conditions: { observedGeneration: number; lastTransitionTime: string }[] }[])[0];
      expect(parent?.controllerName).toBe("istio.io/gateway-controller");
      // The parentRef as the API server stores it: group and kind defaulted.
      expect(parent?.parentRef).toMatchObject({ group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra" });
      expect(parent?.conditions.map((x) => [x.observedGeneration, x.lastTransitionTime])).toEqual([
        [7, "2025-03-01T10:00:00Z"],
        [7, "2025-03-01T10:00:00Z"],
      ]);
      expect(route?.resourceVersion).toBe("20");
    });
  }
});

describe("planGatewayStatus: gateways and classes", () => {
  const objects: Raw[] = [
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "istio", generation: 1, resourceVersion: "5" }, spec: { controllerName: "istio.io/gateway-controller" } },
    { apiVersion: "gateway.networking.k8s.io/v1", kind: "GatewayClass", metadata: { name: "other", generation: 1, resourceVersion: "6" }, spec: { controllerName: "example.com/other" } },
    gateway("gw", [listenerHttp, { name: "admin", port: 8080, protocol: "HTTP", hostname: "admin.test" }]),
    httpRoute("shop", { parentRefs: [toGateway("gw")], hostnames: ["shop.example.com"] }),
    httpRoute("any", { parentRefs: [toGateway("gw", "http"), toGateway("gw", "admin")] }),
    httpRoute("twice", { parentRefs: [toGateway("gw", "admin"), { ...toGateway("gw"), port: 8080 }] }),
  ];

  it("accepts the istio class, accepts and programs a Gateway with 2 listeners and counts the routes attached to each", () => {
    const writes = planGatewayStatus(inputOf(objects, { addresses: new Map([["infra/gw", { service: "gw-istio.infra", addresses: [{ type: "IPAddress" as const, value: "10.0.0.7" }] }]]) }));
    expect(writes.map((w) => `${w.kind}/${w.name}`)).toEqual(["GatewayClass/istio", "Gateway/gw", "HTTPRoute/shop", "HTTPRoute/any", "HTTPRoute/twice"]);
    expect(conditionsOf(writeOf(writes, "GatewayClass", "istio")?.status)).toEqual([{ type: "Accepted", status: "True", reason: "Accepted" }]);
    const status = writeOf(writes, "Gateway", "gw")?.status as { addresses: unknown; listeners: { name: string; attachedRoutes: number; supportedKinds: unknown; conditions: unknown }[] };
    expect(conditionsOf(status)).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted" },
      { type: "Programmed", status: "True", reason: "Programmed" },
    ]);
    expect(status.addresses).toEqual([{ type: "IPAddress", value: "10.0.0.7" }]);
    // shop and any on http; any and twice (once, though two parentRefs name it) on admin.
    expect(status.listeners.map((l) => [l.name, l.attachedRoutes])).toEqual([
      ["http", 2],
      ["admin", 2],
    ]);
    expect(status.listeners[0]?.supportedKinds).toEqual([
      { group: "gateway.networking.k8s.io", kind: "HTTPRoute" },
      { group: "gateway.networking.k8s.io", kind: "GRPCRoute" },
    ]);
    expect(conditionsOf(status.listeners[0])).toEqual([
      { type: "Accepted", status: "True", reason: "Accepted" },
      { type: "Conflicted", status: "False", reason: "NoConflicts" },
      { type: "Programmed", status: "True", reason: "Programmed" },
      { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs" },
    ]);
  });

  it("reports AddressNotAssigned while no Service fronts the Gateway", () => {
    const status = writeOf(planGatewayStatus(inputOf(objects)), "Gateway", "gw")?.status;
    expect(conditionsOf(status)).toContainEqual({ type: "Programmed", status: "False", reason: "AddressNotAssigned" });
    expect(status).not.toHaveProperty("addresses");
  });

  it("reports a listener whose certificate is in another namespace without a ReferenceGrant as RefNotPermitted", () => {
    const tls = { name: "https", port: 443, protocol: "HTTPS", hostname: "shop.example.com", tls: { mode: "Terminate", certificateRefs: [{ name: "cert", namespace: "secrets" }] } };
    const status = writeOf(planGatewayStatus(inputOf([gateway("gw", [listenerHttp, tls])])), "Gateway", "gw")?.status as { listeners: unknown[] };
    expect(conditionsOf(status)).toContainEqual({ type: "Accepted", status: "True", reason: "ListenersNotValid" });
    expect(conditionsOf(status.listeners[1])).toEqual(expect.arrayContaining([{ type: "ResolvedRefs", status: "False", reason: "RefNotPermitted" }, { type: "Programmed", status: "False", reason: "Invalid" }]));
  });

  it("leaves another class's Gateway and another controller's parent status alone", () => {
    const foreign = { ...gateway("theirs", [listenerHttp]), spec: { gatewayClassName: "other", listeners: [listenerHttp] } };
    const theirParent = { parentRef: { group: "gateway.networking.k8s.io", kind: "Gateway", namespace: "infra", name: "theirs" }, controllerName: "example.com/other", conditions: [] };
    const route = { ...httpRoute("r", { parentRefs: [toGateway("theirs"), toGateway("gw")] }), status: { parents: [theirParent] } };
    const writes = planGatewayStatus(inputOf([foreign, gateway("gw", [listenerHttp]), route]));
    expect(writeOf(writes, "Gateway", "theirs")).toBeUndefined();
    const parents = writeOf(writes, "HTTPRoute", "r")?.status["parents"] as { controllerName: string; parentRef: { name: string } }[];
    expect(parents.map((p) => [p.controllerName, p.parentRef.name])).toEqual([
      ["example.com/other", "theirs"],
      ["istio.io/gateway-controller", "gw"],
    ]);
  });

  it("marks a Gateway and a route the config store rejected as not accepted, with the reason", () => {
    const input = inputOf([gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")] })]);
    const rejected = new Map([
      [statusObjectKey("Gateway", "infra", "gw"), "spec.listeners.0.protocol: protocol \"UDP\" is not served"],
      [statusObjectKey("HTTPRoute", "infra", "r"), "spec.rules.0.backendRefs.0.kind: backend kind \"Pod\" is not supported"],
    ]);
    const writes = planGatewayStatus({ ...input, rejected });
    expect(conditionsOf(writeOf(writes, "Gateway", "gw")?.status)).toEqual([
      { type: "Accepted", status: "False", reason: "Invalid" },
      { type: "Programmed", status: "False", reason: "Invalid" },
    ]);
    expect(parentConditions(writeOf(writes, "HTTPRoute", "r"))).toEqual([[{ type: "Accepted", status: "False", reason: "UnsupportedValue" }]]);
  });
});

describe("planGatewayStatus: only changes are written", () => {
  /** `objects` with the planned statuses applied, as the API server would hold them after the writes. */
  const applied = (objects: readonly Raw[], writes: readonly GatewayStatusWrite[]): Raw[] =>
    objects.map((o) => {
      const write = writes.find((w) => w.kind === o.kind && w.name === o.metadata.name && w.namespace === o.metadata.namespace);
      return write === undefined ? o : { ...o, status: JSON.parse(JSON.stringify(write.status)) as unknown };
    });
  const objects = [gateway("gw", [listenerHttp]), httpRoute("r", { parentRefs: [toGateway("gw")] })];

  it("plans nothing when every status already reads as planned, whatever the time", () => {
    const written = applied(objects, planGatewayStatus(inputOf(objects)));
    expect(planGatewayStatus(inputOf(written, { now: t2 }))).toEqual([]);
  });

  it("keeps lastTransitionTime of conditions whose status did not change, and moves it for the one that did", () => {
    const written = applied(objects, planGatewayStatus(inputOf(objects)));
    // The backend Service goes away: ResolvedRefs flips, Accepted does not.
    const writes = planGatewayStatus(inputOf(written, { now: t2, services: [] }));
    expect(writes.map((w) => `${w.kind}/${w.name}`)).toEqual(["HTTPRoute/r"]);
    const conditions = (writes[0]?.status["parents"] as { conditions: { type: string; status: string; lastTransitionTime: string }[] }[])[0]?.conditions;
    expect(conditions?.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ["Accepted", "True", "2025-03-01T10:00:00Z"],
      ["ResolvedRefs", "False", "2025-03-01T11:30:00Z"],
    ]);
  });

  it("rewrites the status with the new observedGeneration when only the generation moved", () => {
    const written = applied(objects, planGatewayStatus(inputOf(objects)));
    const bumped = written.map((o) => (o.kind === "HTTPRoute" ? { ...o, metadata: { ...o.metadata, generation: 8 } } : o));
    const writes = planGatewayStatus(inputOf(bumped, { now: t2 }));
    const conditions = (writes[0]?.status["parents"] as { conditions: { observedGeneration: number; lastTransitionTime: string }[] }[])[0]?.conditions;
    expect(conditions?.map((c) => [c.observedGeneration, c.lastTransitionTime])).toEqual([
      [8, "2025-03-01T10:00:00Z"],
      [8, "2025-03-01T10:00:00Z"],
    ]);
  });
});
