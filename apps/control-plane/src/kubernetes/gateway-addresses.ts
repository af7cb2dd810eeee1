// Where each Gateway API Gateway is reachable, for its status.addresses and Programmed condition
// (istiod reports the addresses of the Service in front of the gateway's proxies). Pure. The
// Service is the one named by a Hostname address `<name>.<namespace>.svc...` (Istio's manual
// deployment, e.g. istio-ingressgateway), else one in the Gateway's namespace selecting
// gateway.networking.k8s.io/gateway-name: <gateway> (how the converted Gateway selects proxies).
import { gatewayNameLabel } from "@meshwork/config";
import type { GatewayAddress } from "./plan-gateway-status.ts";

export interface GatewayLike {
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec?: { readonly addresses?: readonly { readonly type?: string; readonly value: string }[] };
}

export interface GatewayServiceLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly selector?: Readonly<Record<string, string>>; readonly clusterIP?: string };
  readonly status?: { readonly loadBalancer?: { readonly ingress?: readonly { readonly ip?: string; readonly hostname?: string }[] } };
}

/** `namespace/name` of each Gateway with a Service in front → that Service (`name.namespace`) and its addresses (load-balancer ingress, else cluster IP). */
export function gatewayAddresses(gateways: readonly GatewayLike[], services: readonly GatewayServiceLike[]): Map<string, { service: string; addresses: GatewayAddress[] }> {
  const byKey = new Map(services.map((s) => [`${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`, s]));
  const out = new Map<string, { service: string; addresses: GatewayAddress[] }>();
  for (const gateway of gateways) {
    const namespace = gateway.metadata.namespace ?? "";
    const named = (gateway.spec?.addresses ?? []).find((a) => a.type === "Hostname" && a.value.split(".")[2] === "svc");
    const service = named !== undefined ? byKey.get(`${named.value.split(".")[1] ?? ""}/${named.value.split(".")[0] ?? ""}`) : services.find((s) => s.metadata?.namespace === namespace && s.spec?.selector?.[gatewayNameLabel] === gateway.metadata.name);
    if (service === undefined) continue;
    const ingress = service.status?.loadBalancer?.ingress ?? [];
    const addresses: GatewayAddress[] = ingress.flatMap((i): GatewayAddress[] => (i.ip !== undefined ? [{ type: "IPAddress", value: i.ip }] : i.hostname !== undefined ? [{ type: "Hostname", value: i.hostname }] : []));
    const clusterIp = service.spec?.clusterIP;
    if (addresses.length === 0 && clusterIp !== undefined && clusterIp !== "" && clusterIp !== "None") addresses.push({ type: "IPAddress", value: clusterIp });
    out.set(`${namespace}/${gateway.metadata.name}`, { service: `${service.metadata?.name ?? ""}.${service.metadata?.namespace ?? ""}`, addresses });
  }
  return out;
}
