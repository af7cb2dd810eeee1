// Managed mode: the sidecar's config comes from the control plane over
// mesh.discovery.v1.DiscoveryService/StreamConfig (docs/design/config-push.md). The discovery
// client ACKs or NACKs each response; this module decides which: a type's new set is assembled
// with the other types held into a ProxyConfig, and a set that does not assemble is NACKed (the
// proxy keeps serving the last good config). Responses of one push arrive back to back, so the
// assembled config is applied once per turn of the event loop, not once per type.
import { DiscoveryClient, type DiscoveryClientEvent, type DiscoveryRequest, type DiscoveryTls } from "@meshwork/protocol";
import { assembleProxyConfig, pushOrder, type AssembledProxyConfig, type NamedResource, type ProxyConfig, type ProxyNode, type ProxyResources, type ResourceType } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";

/** What the proxy reports as its software version in DiscoveryRequest.node (admin pages only). */
export const proxyVersion = "meshwork-sidecar/0.1.0";

export interface ManagedConfigOptions {
  /** `host:port` of the control-plane replicas. */
  readonly addresses: readonly string[];
  /** Mutual TLS material, read at every (re)connect (discovery-tls.ts); plain text without. */
  readonly tls?: () => DiscoveryTls;
  readonly node: ProxyNode;
  readonly domainSuffix: string;
  /** Auto-allocate addresses for pushed services without any (--dns-auto-allocate; assembleProxyConfig). */
  readonly autoAllocateAddresses?: boolean | undefined;
  readonly logger: Logger;
  /** Called with each config assembled from a complete set of types (the first once every type arrived). */
  readonly onConfig: (config: ProxyConfig, issues: readonly string[]) => void;
  /** Called when the control plane sent a set that was NACKed (the last good config keeps serving). */
  readonly onRejected?: (type: ResourceType, error: string) => void;
}

export interface ManagedConfig {
  /** Sends a report (traffic, SVID) on the open discovery stream; false when none is open. */
  report(report: NonNullable<DiscoveryRequest["report"]>): boolean;
  close(): void;
}

/** A complete set when every type has arrived; undefined while some are missing. */
function complete(held: ReadonlyMap<ResourceType, readonly NamedResource[]>): ProxyResources | undefined {
  if (!pushOrder.every((type) => held.has(type))) return undefined;
  return Object.fromEntries(pushOrder.map((type) => [type, held.get(type) ?? []])) as unknown as ProxyResources;
}

export type OfferResult = { readonly ok: true; readonly assembled: AssembledProxyConfig | undefined } | { readonly ok: false; readonly error: string };

/**
 * The resources a proxy holds per type. `offer` a type's new set: it is assembled with the held
 * others into a ProxyConfig (once every type has arrived) and kept, or refused with the reason
 * (the held set stays). The config's version is the types' versions in push order.
 */
export class HeldResources {
  readonly #held = new Map<ResourceType, readonly NamedResource[]>();
  readonly #versions = new Map<ResourceType, string>();
  readonly #options: { readonly namespace: string; readonly domainSuffix: string; readonly autoAllocateAddresses?: boolean | undefined };

  constructor(options: { readonly namespace: string; readonly domainSuffix: string; readonly autoAllocateAddresses?: boolean | undefined }) {
    this.#options = options;
  }

  /** The held set of `type`; undefined before its first push. */
  get(type: ResourceType): readonly NamedResource[] | undefined {
    return this.#held.get(type);
  }

  offer(type: ResourceType, resources: readonly NamedResource[], version: string): OfferResult {
    const set = complete(new Map(this.#held).set(type, resources));
    let assembled: AssembledProxyConfig | undefined;
    if (set !== undefined) {
      const versions = new Map(this.#versions).set(type, version);
      try {
        assembled = assembleProxyConfig(set, { ...this.#options, version: pushOrder.map((t) => versions.get(t) ?? "").join("/") });
      } catch (error) {
        return { ok: false, error: `${type} version ${version} does not assemble with the held config: ${(error as Error).message}` };
      }
    }
    this.#held.set(type, resources);
    this.#versions.set(type, version);
    // As the discovery client does: the endpoints of a cluster that is gone go with it.
    const endpoints = this.#held.get("endpoints");
    if (type === "cluster" && endpoints !== undefined) {
      const names = new Set(resources.map((r) => r.name));
      this.#held.set("endpoints", endpoints.filter((r) => names.has(r.name)));
    }
    return { ok: true, assembled };
  }
}

export function startManagedConfig(options: ManagedConfigOptions): ManagedConfig {
  const held = new HeldResources({ namespace: options.node.namespace, domainSuffix: options.domainSuffix, autoAllocateAddresses: options.autoAllocateAddresses });
  let pending: AssembledProxyConfig | undefined;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const next = pending;
    pending = undefined;
    if (next) options.onConfig(next.config, next.issues);
  };
  const apply = (type: ResourceType, resources: readonly NamedResource[], version: string): string | undefined => {
    const result = held.offer(type, resources, version);
    if (!result.ok) {
      options.onRejected?.(type, result.error);
      return result.error;
    }
    if (result.assembled) {
      pending = result.assembled;
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    }
    return undefined;
  };
  const log = (event: DiscoveryClientEvent): void => {
    const logger = options.logger;
    switch (event.type) {
      case "connected":
        logger.info("discovery stream open", { address: event.address, node: options.node.id });
        break;
      case "disconnected":
        logger.warn("discovery stream closed; serving the last config while reconnecting", { address: event.address, error: event.error ?? null });
        break;
      case "accepted":
        logger.debug("discovery push accepted", { type: event.resourceType, version: event.version, resources: event.received });
        break;
      case "rejected":
        logger.error("discovery push rejected (NACK); the last good config keeps serving", { type: event.resourceType, version: event.version, error: event.error });
        break;
    }
  };
  // Start at a random replica so that proxies spread over the control planes (Istio gets this
  // from the Service in front of istiod); the client moves on to the next one when a stream ends.
  const offset = Math.floor(Math.random() * options.addresses.length);
  const client = new DiscoveryClient({
    addresses: [...options.addresses.slice(offset), ...options.addresses.slice(0, offset)],
    node: options.node,
    ...(options.tls !== undefined ? { tls: options.tls } : {}),
    apply,
    onEvent: log,
  });
  client.start();
  return {
    report: (report) => client.report(report),
    close: () => client.close(),
  };
}
