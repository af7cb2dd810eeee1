// The proxy side of mesh.discovery.v1.DiscoveryService/StreamConfig, for the sidecar's managed
// mode and the bench: opens the stream, subscribes to every type, hands each response to
// `apply`, ACKs or NACKs it, keeps the last good resources per type, and reconnects (to the next
// address, with backoff) when the stream ends, resubscribing with the versions it holds.
import type { PeerCertificate } from "node:tls";
import { credentials as grpcCredentials, type ChannelCredentials, type ChannelOptions, type ClientDuplexStream } from "@grpc/grpc-js";
import { DiscoveryServiceClient, type DiscoveryRequest, type DiscoveryResponse, type ProxyReport } from "./gen/mesh/discovery/v1/discovery.ts";

export type { ProxyReport, Svid, TrafficStat } from "./gen/mesh/discovery/v1/discovery.ts";
import { decodeResourceBody, pushOrder, resourceTypeOf, typeUrls, type NamedResource, type ProxyNode, type ResourceType } from "@meshwork/proxy-core";

/** What a proxy holds of one type: the last version it accepted. */
export interface AcceptedType {
  readonly version: string;
  readonly resources: readonly NamedResource[];
  readonly controlPlaneId: string;
}

export interface DiscoveryClientOptions {
  /** `host:port` of control-plane replicas; the client moves to the next one when a stream fails. */
  readonly addresses: readonly string[];
  readonly node: ProxyNode;
  /** Types to subscribe to, in this order (default: all, in push order). */
  readonly types?: readonly ResourceType[];
  /**
   * Validates and applies a type's full set of resources; returns undefined to ACK or an error
   * message to NACK (the client then keeps the previous set). Called in push order. For
   * Endpoints the set is the held one with the response's clusters merged in (mergeEndpoints).
   */
  readonly apply: (type: ResourceType, resources: readonly NamedResource[], version: string) => string | undefined;
  readonly credentials?: ChannelCredentials;
  /**
   * Mutual TLS, read at every (re)connect so a renewed certificate or a new trust bundle serves the
   * next connection: this proxy's chain and key, the roots the server must chain to, the check of
   * the server's identity (its SPIFFE ID, not its host name) and the TLS server name to send
   * (default the address's host). Takes precedence over `credentials`.
   */
  readonly tls?: () => DiscoveryTls;
  /** grpc-js channel options; default HTTP/2 keepalive pings every 30 s (a dead control plane is noticed within ~40 s). */
  readonly channelOptions?: ChannelOptions;
  /** Reconnect backoff: doubles from `initialMs` to `maxMs` (default 100 ms → 5 s), reset by a response. */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
  readonly timers?: { setTimeout(callback: () => void, ms: number): unknown; clearTimeout(handle: unknown): void };
  /** Stream events, for logs and tests. */
  readonly onEvent?: (event: DiscoveryClientEvent) => void;
}

export interface DiscoveryTls {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem: string;
  readonly checkServerIdentity: (hostname: string, cert: PeerCertificate) => Error | undefined;
  readonly serverName?: string;
}

export type DiscoveryClientEvent =
  | { readonly type: "connected"; readonly address: string }
  | { readonly type: "disconnected"; readonly address: string; readonly error: string | undefined }
  | { readonly type: "accepted"; readonly resourceType: ResourceType; readonly version: string; readonly nonce: string; readonly received: number }
  | { readonly type: "rejected"; readonly resourceType: ResourceType; readonly version: string; readonly nonce: string; readonly received: number; readonly error: string };

/** The held Endpoints updated with a response's, by cluster name (held order, new ones last). */
export function mergeEndpoints(held: readonly NamedResource[], received: readonly NamedResource[]): NamedResource[] {
  const byName = new Map(held.map((r) => [r.name, r]));
  for (const r of received) byName.set(r.name, r);
  return [...byName.values()];
}

export class DiscoveryClient {
  readonly #options: DiscoveryClientOptions;
  readonly #accepted = new Map<ResourceType, AcceptedType>();
  readonly #timers: NonNullable<DiscoveryClientOptions["timers"]>;
  #client: DiscoveryServiceClient | undefined;
  #stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  #addressIndex = 0;
  #backoffMs: number;
  #retry: unknown;
  #closed = false;
  /** Whether the current stream is up (its subscriptions written, not ended). */
  #open = false;

  constructor(options: DiscoveryClientOptions) {
    if (options.addresses.length === 0) throw new Error("DiscoveryClient: no control-plane address; pass at least one host:port in `addresses`");
    this.#options = options;
    this.#timers = options.timers ?? { setTimeout: (cb, ms) => setTimeout(cb, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
    this.#backoffMs = options.backoff?.initialMs ?? 100;
  }

  /** The last accepted set of each type. */
  get accepted(): ReadonlyMap<ResourceType, AcceptedType> {
    return this.#accepted;
  }

  start(): void {
    this.#connect();
  }

  /**
   * Sends a report on the open stream (a DiscoveryRequest with `report` and no type). Returns
   * false when no stream is open (between reconnects): the caller keeps the counts for the next.
   */
  report(report: ProxyReport): boolean {
    const stream = this.#stream;
    if (stream === undefined || this.#closed || !this.#open) return false;
    try {
      stream.write({ node: undefined, typeUrl: "", versionInfo: "", responseNonce: "", errorDetail: undefined, report });
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#retry !== undefined) this.#timers.clearTimeout(this.#retry);
    this.#stream?.cancel();
    this.#client?.close();
  }

  #connect(): void {
    if (this.#closed) return;
    const address = this.#options.addresses[this.#addressIndex % this.#options.addresses.length] ?? "";
    this.#client?.close();
    let tls: DiscoveryTls | undefined;
    try {
      tls = this.#options.tls?.();
    } catch (error) {
      // No TLS material yet (a certificate still to come): try again after the backoff.
      this.#options.onEvent?.({ type: "disconnected", address, error: error instanceof Error ? error.message : String(error) });
      this.#retry = this.#timers.setTimeout(() => this.#connect(), this.#backoffMs);
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.backoff?.maxMs ?? 5_000);
      return;
    }
    const channelCredentials = tls
      ? grpcCredentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem), { checkServerIdentity: tls.checkServerIdentity })
      : (this.#options.credentials ?? grpcCredentials.createInsecure());
    const client = new DiscoveryServiceClient(address, channelCredentials, {
      ...(tls?.serverName !== undefined ? { "grpc.ssl_target_name_override": tls.serverName } : {}),
      "grpc.keepalive_time_ms": 30_000,
      "grpc.keepalive_timeout_ms": 10_000,
      "grpc.keepalive_permit_without_calls": 1,
      ...this.#options.channelOptions,
    });
    this.#client = client;
    const stream = client.streamConfig();
    this.#stream = stream;
    let ended = false;
    const end = (error: string | undefined): void => {
      if (ended) return;
      ended = true;
      if (this.#stream === stream) this.#open = false;
      this.#options.onEvent?.({ type: "disconnected", address, error });
      if (this.#closed) return;
      this.#addressIndex += 1;
      const delay = this.#backoffMs;
      this.#backoffMs = Math.min(this.#backoffMs * 2, this.#options.backoff?.maxMs ?? 5_000);
      this.#retry = this.#timers.setTimeout(() => this.#connect(), delay);
    };
    stream.on("data", (response: DiscoveryResponse) => {
      this.#backoffMs = this.#options.backoff?.initialMs ?? 100;
      this.#onResponse(stream, response);
    });
    stream.on("error", (error: Error) => end(error.message));
    stream.on("end", () => end(undefined));
    this.#options.onEvent?.({ type: "connected", address });
    const node = this.#options.node;
    const wireNode = { id: node.id, workload: node.workload, namespace: node.namespace, serviceAccount: node.serviceAccount, labels: { ...node.labels }, version: node.version, kind: node.kind };
    let first = true;
    for (const type of this.#options.types ?? pushOrder) {
      // Resubscribing after a reconnect: say which version we run on (the server sends the full state anyway).
      stream.write({ node: first ? wireNode : undefined, typeUrl: typeUrls[type], versionInfo: this.#accepted.get(type)?.version ?? "", responseNonce: "", errorDetail: undefined });
      first = false;
    }
    this.#open = true;
  }

  #onResponse(stream: ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>, response: DiscoveryResponse): void {
    const type = resourceTypeOf(response.typeUrl);
    if (type === undefined) return;
    const resources: NamedResource[] = [];
    let error: string | undefined;
    for (const r of response.resources) {
      const decoded = decodeResourceBody(type, r.name, r.body.toString("utf8"));
      if (!decoded.ok) {
        error = decoded.error;
        break;
      }
      resources.push(decoded.resource);
    }
    // Endpoints responses carry the changed clusters only: merge them into what is held (the
    // endpoints of a removed cluster go when a Cluster set without it is accepted, below).
    const full = type === "endpoints" && error === undefined ? mergeEndpoints(this.#accepted.get("endpoints")?.resources ?? [], resources) : resources;
    error ??= this.#options.apply(type, full, response.versionInfo);
    const previous = this.#accepted.get(type)?.version ?? "";
    if (error !== undefined) {
      stream.write({ node: undefined, typeUrl: response.typeUrl, versionInfo: previous, responseNonce: response.nonce, errorDetail: { code: "invalid-resource", message: error } });
      this.#options.onEvent?.({ type: "rejected", resourceType: type, version: response.versionInfo, nonce: response.nonce, received: response.resources.length, error });
      return;
    }
    this.#accepted.set(type, { version: response.versionInfo, resources: full, controlPlaneId: response.controlPlaneId });
    const endpoints = this.#accepted.get("endpoints");
    if (type === "cluster" && endpoints !== undefined) {
      const names = new Set(full.map((r) => r.name));
      this.#accepted.set("endpoints", { ...endpoints, resources: endpoints.resources.filter((r) => names.has(r.name)) });
    }
    stream.write({ node: undefined, typeUrl: response.typeUrl, versionInfo: response.versionInfo, responseNonce: response.nonce, errorDetail: undefined });
    this.#options.onEvent?.({ type: "accepted", resourceType: type, version: response.versionInfo, nonce: response.nonce, received: response.resources.length });
  }
}
