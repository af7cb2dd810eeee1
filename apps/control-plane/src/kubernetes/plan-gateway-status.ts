// The Gateway API `status` the control plane owes each GatewayClass, Gateway and route, as istiod
// writes it (istio/istio pilot/pkg/config/kube/gateway, conditions.go): pure, from the objects as
// the API server holds them (generation, resourceVersion, current status), the conversion's
// decisions over the serving config, the config store's rejections and the Services that exist.
// Only objects whose status would change are returned, so an unchanged config writes nothing;
// a condition whose status did not flip keeps its lastTransitionTime (Gateway API: it moves only
// when the status does).
import { servedGatewayClasses, type BackendDecision, type GatewayApiDecisions, type ParentOutcome } from "@meshwork/config";

/** The controller whose GatewayClasses are accepted and whose name route parent status carries: Istio's, so Istio's tooling reads it. */
export const gatewayControllerName = "istio.io/gateway-controller";

/** The Gateway API kinds that get a status, as the API server names them. */
export type GatewayStatusKind = "GatewayClass" | "Gateway" | "HTTPRoute" | "GRPCRoute" | "TCPRoute" | "TLSRoute";

export const gatewayStatusKinds: readonly GatewayStatusKind[] = ["GatewayClass", "Gateway", "HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"];

export interface RawParentRef {
  readonly group?: string;
  readonly kind?: string;
  readonly namespace?: string;
  readonly name: string;
  readonly sectionName?: string;
  readonly port?: number;
}

/** An object as read from the API server (only the fields the plan reads). */
export interface GatewayApiObject {
  readonly kind: GatewayStatusKind;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly generation?: number; readonly resourceVersion?: string };
  readonly spec?: { readonly controllerName?: string; readonly gatewayClassName?: string; readonly listeners?: readonly { readonly name: string }[]; readonly parentRefs?: readonly RawParentRef[] };
  readonly status?: unknown;
}

export interface Condition {
  readonly type: string;
  readonly status: "True" | "False" | "Unknown";
  readonly reason: string;
  readonly message: string;
  readonly observedGeneration: number;
  /** RFC 3339, seconds (what the API server keeps of a metav1.Time). */
  readonly lastTransitionTime: string;
}

export interface GatewayAddress {
  readonly type: "IPAddress" | "Hostname";
  readonly value: string;
}

export interface GatewayStatusInput {
  /** Every GatewayClass, Gateway and route the API server holds (others' too: they are left alone). */
  readonly objects: readonly GatewayApiObject[];
  /** What convertGatewayApi decided over the serving config. */
  readonly decisions: GatewayApiDecisions;
  /** Objects the config store rejected, by `Kind/namespace/name` (cluster-scoped: `Kind//name`), with why. */
  readonly rejected: ReadonlyMap<string, string>;
  /** The Services that exist, as `namespace/name`: a backendRef to another is BackendNotFound. */
  readonly services: ReadonlySet<string>;
  /** What each Gateway (`namespace/name`) is reachable at, and through which Service; absent: no address known. */
  readonly addresses: ReadonlyMap<string, { readonly service: string; readonly addresses: readonly GatewayAddress[] }>;
  /** The time written into conditions that change. */
  readonly now: Date;
}

/** A status to write: the whole `status` of one object, against the resourceVersion it was planned from. */
export interface GatewayStatusWrite {
  readonly kind: GatewayStatusKind;
  readonly namespace: string | undefined;
  readonly name: string;
  readonly resourceVersion: string | undefined;
  readonly status: Record<string, unknown>;
}

type DesiredCondition = Omit<Condition, "lastTransitionTime" | "observedGeneration">;

const routeKinds = new Set<GatewayStatusKind>(["HTTPRoute", "GRPCRoute", "TCPRoute", "TLSRoute"]);

/** `Kind/namespace/name` of an object (the key of `rejected`). */
export function statusObjectKey(kind: string, namespace: string | undefined, name: string): string {
  return `${kind}/${namespace ?? ""}/${name}`;
}

/** The status writes `input` calls for, in the order of `input.objects`; none when every status is already as planned. */
export function planGatewayStatus(input: GatewayStatusInput): GatewayStatusWrite[] {
  const now = input.now.toISOString().replace(/\.\d+Z$/, "Z");
  const gateways = new Map(input.decisions.gateways.map((d) => [`${d.namespace}/${d.gateway.metadata.name}`, d]));
  const routes = new Map(input.decisions.routes.map((d) => [statusObjectKey(d.route.kind, d.namespace, d.route.metadata.name), d]));
  const gatewayObjects = new Map(input.objects.filter((o) => o.kind === "Gateway").map((o) => [`${o.metadata.namespace ?? ""}/${o.metadata.name}`, o]));
  const writes: GatewayStatusWrite[] = [];
  for (const object of input.objects) {
    const { name, namespace } = object.metadata;
    const generation = object.metadata.generation ?? 0;
    const previous = (object.status ?? {}) as { conditions?: readonly Condition[]; listeners?: readonly { name: string; conditions?: readonly Condition[] }[]; parents?: readonly RouteParentStatus[] };
    const conditions = (desired: readonly DesiredCondition[], before: readonly Condition[] | undefined): Condition[] => mergeConditions(desired, before, { generation, now });
    const rejection = input.rejected.get(statusObjectKey(object.kind, namespace, name));
    let status: Record<string, unknown> | undefined;
    if (object.kind === "GatewayClass") {
      if (!servedGatewayClasses.includes(name) || object.spec?.controllerName !== gatewayControllerName) continue;
      status = {
        ...previous,
        conditions: conditions(rejection !== undefined ? [{ type: "Accepted", status: "False", reason: "InvalidParameters", message: rejection }] : [{ type: "Accepted", status: "True", reason: "Accepted", message: "Handled by Meshwork's control plane" }], previous.conditions),
      };
    } else if (object.kind === "Gateway") {
      if (!servedGatewayClasses.includes(object.spec?.gatewayClassName ?? "")) continue; // another controller's
      const key = `${namespace ?? ""}/${name}`;
      const decision = gateways.get(key);
      if (rejection !== undefined) {
        status = {
          ...previous,
          conditions: conditions(
            [
              { type: "Accepted", status: "False", reason: "Invalid", message: rejection },
              { type: "Programmed", status: "False", reason: "Invalid", message: "the Gateway was rejected; its last accepted version, if any, keeps serving" },
            ],
            previous.conditions,
          ),
          listeners: [],
        };
      } else if (decision !== undefined) {
        status = gatewayStatus(decision, input.addresses.get(key), { previous, conditions });
      }
    } else if (routeKinds.has(object.kind)) {
      const decision = routes.get(statusObjectKey(object.kind, namespace, name));
      const ours = (ref: RawParentRef): boolean => {
        if ((ref.kind ?? "Gateway") === "Service") return true;
        const gateway = gatewayObjects.get(`${ref.namespace ?? namespace ?? ""}/${ref.name}`);
        return gateway === undefined || servedGatewayClasses.includes(gateway.spec?.gatewayClassName ?? "");
      };
      let parents: RouteParentStatus[] | undefined;
      if (rejection !== undefined) {
        parents = (object.spec?.parentRefs ?? []).filter(ours).map((ref) => ({
          parentRef: normalizedParentRef(ref),
          controllerName: gatewayControllerName,
          conditions: conditions([{ type: "Accepted", status: "False", reason: "UnsupportedValue", message: rejection }], previousParent(previous.parents, ref)?.conditions),
        }));
      } else if (decision !== undefined) {
        const resolved = resolvedRefs(decision.backends, input.services);
        parents = decision.parents.flatMap(({ parentRef, outcome }) => {
          if (outcome.type === "other-controller") return [];
          return [{ parentRef: normalizedParentRef(parentRef), controllerName: gatewayControllerName, conditions: conditions([accepted(outcome), resolved], previousParent(previous.parents, parentRef)?.conditions) }];
        });
      }
      if (parents === undefined) continue;
      // Parents other controllers wrote are theirs to keep.
      const others = (previous.parents ?? []).filter((p) => p.controllerName !== gatewayControllerName);
      status = { ...previous, parents: [...others, ...parents] };
    }
    if (status === undefined || sameJson(status, object.status ?? {})) continue;
    writes.push({ kind: object.kind, namespace, name, resourceVersion: object.metadata.resourceVersion, status });
  }
  return writes;
}

interface RouteParentStatus {
  readonly parentRef: RawParentRef;
  readonly controllerName: string;
  readonly conditions: readonly Condition[];
}

function gatewayStatus(
  decision: GatewayApiDecisions["gateways"][number],
  reachable: { readonly service: string; readonly addresses: readonly GatewayAddress[] } | undefined,
  context: { previous: { conditions?: readonly Condition[]; listeners?: readonly { name: string; conditions?: readonly Condition[] }[] }; conditions: (desired: readonly DesiredCondition[], before: readonly Condition[] | undefined) => Condition[] },
): Record<string, unknown> {
  const { previous, conditions } = context;
  const invalid = decision.listeners.filter((l) => l.refusal !== undefined);
  const acceptedCondition: DesiredCondition =
    invalid.length === 0
      ? { type: "Accepted", status: "True", reason: "Accepted", message: "Resource accepted" }
      : { type: "Accepted", status: invalid.length === decision.listeners.length ? "False" : "True", reason: "ListenersNotValid", message: `invalid listeners: ${invalid.map((l) => l.name).join(", ")}` };
  const programmed: DesiredCondition =
    reachable === undefined || reachable.addresses.length === 0
      ? {
          type: "Programmed",
          status: "False",
          reason: "AddressNotAssigned",
          message: `no address is known for the Gateway: create a Service in ${JSON.stringify(decision.namespace)} selecting gateway.networking.k8s.io/gateway-name: ${decision.gateway.metadata.name} (or name the ingress gateway's Service in spec.addresses as a Hostname)`,
        }
      : { type: "Programmed", status: "True", reason: "Programmed", message: `Resource programmed, assigned to service(s) ${reachable.service}` };
  const listeners = decision.listeners.map((listener) => {
    const before = previous.listeners?.find((l) => l.name === listener.name)?.conditions;
    const refused = listener.refusal;
    return {
      name: listener.name,
      supportedKinds: listener.supportedKinds.map((kind) => ({ group: "gateway.networking.k8s.io", kind })),
      attachedRoutes: listener.attachedRoutes,
      conditions: conditions(
        [
          { type: "Accepted", status: "True", reason: "Accepted", message: "No errors found" },
          { type: "Conflicted", status: "False", reason: "NoConflicts", message: "No errors found" },
          refused === undefined ? { type: "Programmed", status: "True", reason: "Programmed", message: "No errors found" } : { type: "Programmed", status: "False", reason: "Invalid", message: "Bad TLS configuration" },
          refused === undefined ? { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "No errors found" } : { type: "ResolvedRefs", status: "False", reason: refused.reason, message: refused.message },
        ],
        before,
      ),
    };
  });
  return {
    ...previous,
    ...(reachable !== undefined && reachable.addresses.length > 0 ? { addresses: reachable.addresses } : {}),
    conditions: conditions([acceptedCondition, programmed], previous.conditions),
    listeners,
  };
}

function accepted(outcome: Exclude<ParentOutcome, { type: "other-controller" }>): DesiredCondition {
  if (outcome.type === "rejected") return { type: "Accepted", status: "False", reason: outcome.reason, message: outcome.message };
  return { type: "Accepted", status: "True", reason: "Accepted", message: "Route was valid" };
}

/** ResolvedRefs of a route, as istiod ranks the failures: a reference not permitted, a kind not supported, then a Service that does not exist. */
function resolvedRefs(backends: readonly BackendDecision[], services: ReadonlySet<string>): DesiredCondition {
  const where = (b: BackendDecision): string => `${b.path.join(".")}: ${b.kind} ${JSON.stringify(`${b.namespace}/${b.name}`)}`;
  const notPermitted = backends.find((b) => !b.permitted);
  if (notPermitted !== undefined) return { type: "ResolvedRefs", status: "False", reason: "RefNotPermitted", message: `${where(notPermitted)} is in another namespace and no ReferenceGrant there permits it` };
  const wrongKind = backends.find((b) => b.kind !== "Service" || (b.group !== "" && b.group !== "core"));
  if (wrongKind !== undefined) return { type: "ResolvedRefs", status: "False", reason: "InvalidKind", message: `${where(wrongKind)}: only Services are supported as backends` };
  const missing = backends.find((b) => !services.has(`${b.namespace}/${b.name}`));
  if (missing !== undefined) return { type: "ResolvedRefs", status: "False", reason: "BackendNotFound", message: `${where(missing)} does not exist` };
  return { type: "ResolvedRefs", status: "True", reason: "ResolvedRefs", message: "All references resolved" };
}

/**
 * A parentRef as the API server stores it: group and kind defaulted (the CRD's defaults), so the
 * status we compare against reads the same as what we write.
 */
function normalizedParentRef(ref: RawParentRef): RawParentRef {
  const kind = ref.kind ?? "Gateway";
  return {
    group: ref.group ?? (kind === "Service" ? "" : "gateway.networking.k8s.io"),
    kind,
    ...(ref.namespace !== undefined ? { namespace: ref.namespace } : {}),
    name: ref.name,
    ...(ref.sectionName !== undefined ? { sectionName: ref.sectionName } : {}),
    ...(ref.port !== undefined ? { port: ref.port } : {}),
  };
}

function previousParent(parents: readonly RouteParentStatus[] | undefined, ref: RawParentRef): RouteParentStatus | undefined {
  const wanted = JSON.stringify(normalizedParentRef(ref));
  return parents?.find((p) => p.controllerName === gatewayControllerName && JSON.stringify(normalizedParentRef(p.parentRef)) === wanted);
}

/** Desired conditions stamped with the generation; each keeps its lastTransitionTime while its status stays the same. */
export function mergeConditions(desired: readonly DesiredCondition[], previous: readonly Condition[] | undefined, at: { readonly generation: number; readonly now: string }): Condition[] {
  return desired.map((condition) => {
    const before = previous?.find((p) => p.type === condition.type);
    const lastTransitionTime = before !== undefined && before.status === condition.status ? before.lastTransitionTime : at.now;
    return { type: condition.type, status: condition.status, reason: condition.reason, message: condition.message, observedGeneration: at.generation, lastTransitionTime };
  });
}

/** Deep equality of JSON values, ignoring key order (the API server does not keep ours). */
function sameJson(a: unknown, b: unknown): boolean {
  return stableJson(a) === stableJson(b);
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}
