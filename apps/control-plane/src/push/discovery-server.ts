// mesh.discovery.v1.DiscoveryService/StreamConfig (DESIGN.md §3.2, docs/design/config-push.md):
// one bidi stream per proxy, state of the world per type. Config changes are debounced into
// pushes; a push recomputes every connected proxy's resources and sends, in push order, only the
// types whose version (content hash) changed. ACKs and NACKs update the proxy's status; a NACK
// leaves the proxy on its last good version and is not retried until the config changes again.
// Endpoints are the exception to state of the world: a push carries the changed clusters only.
import { status as grpcStatus, type ServerDuplexStream } from "@grpc/grpc-js";
import type { DiscoveryNode, DiscoveryRequest, DiscoveryResponse, DiscoveryServiceServer } from "@meshwork/protocol";
import { pushOrder, resourceTypeOf, typeUrls, type ComputedProxyConfig, type ProxyNode, type ResourceType } from "@meshwork/proxy-core";
import type { Logger } from "@meshwork/telemetry";
import type { ControlPlaneMetrics } from "../admin/control-plane-metrics.ts";
import { Debouncer, type DebounceOptions, type DebounceTimers } from "./debouncer.ts";
import { changedEndpoints } from "./changed-endpoints.ts";
import { encodeProxyResources, type EncodedResources } from "./encode-proxy-resources.ts";
import { syncState, worstState, type ProxyStatus, type TypeStatus } from "./proxy-status.ts";

export interface DiscoveryServerOptions {
  /** This replica's id, sent in every response. */
  readonly controlPlaneId: string;
  /** The current config of a proxy (computeProxyConfig over the current snapshot and catalog). */
  readonly compute: (node: ProxyNode) => ComputedProxyConfig;
  /** The revision of the config `compute` reads; each proxy's status names the one its last computation saw. */
  readonly revision?: () => string;
  /** Whether there is a config to serve yet; streams opened before get their state once there is. */
  readonly isReady: () => boolean;
  readonly timers: DebounceTimers;
  readonly debounce: DebounceOptions;
  readonly logger: Logger;
  readonly metrics: ControlPlaneMetrics;
  /**
   * Whether `stream` may receive `node`'s config (over mutual TLS: the client certificate names the
   * node's workload): undefined to serve it, else the reason, sent as PERMISSION_DENIED.
   */
  readonly authorize?: (stream: Stream, node: ProxyNode) => string | undefined;
  /** A proxy's report (DiscoveryRequest.report: traffic since its last report, its SVID); ignored when unset. */
  readonly onReport?: (node: ProxyNode, report: NonNullable<DiscoveryRequest["report"]>) => void;
}

type Stream = ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

/** Proxies synced per event-loop turn during a push. */
const pushBatch = 64;

interface Connection {
  readonly stream: Stream;
  readonly node: ProxyNode;
  readonly connectedAtMs: number;
  readonly subscribed: Set<ResourceType>;
  readonly types: Map<ResourceType, TypeStatus & { readonly changeAtMs: number }>;
  /**
   * Endpoints the proxy holds, by cluster: the body digests of the last Endpoints response, merged.
   * Undefined when unknown (new subscription, after a NACK): the next response carries them all.
   */
  endpointDigests: ReadonlyMap<string, string> | undefined;
  /** The last computation and the push generation it belongs to. */
  current: { computed: ComputedProxyConfig; encoded: EncodedResources; generation: number; revision: string | undefined } | undefined;
}

/** The parsed node of a first request; an error message when it lacks what the server needs. */
export function parseNode(node: DiscoveryNode | undefined): ProxyNode | string {
  if (node === undefined || node.id === "") return "the first DiscoveryRequest of a stream must carry node.id (the proxy's unique id)";
  if (node.kind !== "" && node.kind !== "sidecar" && node.kind !== "gateway") return `node.kind "${node.kind}" is not "sidecar" or "gateway"`;
  return {
    id: node.id,
    workload: node.workload,
    namespace: node.namespace === "" ? "default" : node.namespace,
    serviceAccount: node.serviceAccount === "" ? "default" : node.serviceAccount,
    labels: { ...node.labels },
    version: node.version,
    kind: node.kind === "gateway" ? "gateway" : "sidecar",
  };
}

export class DiscoveryServer {
  readonly #options: DiscoveryServerOptions;
  readonly #connections = new Set<Connection>();
  readonly #debouncer: Debouncer;
  #nonce = 0;
  /** Bumped by every push: a computation of the same generation is reused (a proxy's five subscriptions compute once). */
  #generation = 0;
  /** When the first change of the pending burst happened (convergence is measured from it). */
  #changeAtMs: number | undefined;
  #closed = false;
  #pending: { connections: Connection[]; changeAtMs: number } | undefined;
  #pumping = false;

  constructor(options: DiscoveryServerOptions) {
    this.#options = options;
    this.#debouncer = new Debouncer(() => this.push(), options.debounce, options.timers);
  }

  /** The grpc-js implementation to `server.addService(DiscoveryServiceService, ...)`. */
  get service(): DiscoveryServiceServer {
    return { streamConfig: (stream: Stream) => this.#open(stream) };
  }

  /** The config or catalog changed: push after the debounce. */
  changed(): void {
    this.#changeAtMs ??= this.#options.timers.now();
    this.#debouncer.trigger();
  }

  /**
   * Recomputes every connected proxy and sends the types that changed (the debouncer calls this).
   * Proxies are synced in batches of `pushBatch`, yielding to the event loop between batches so
   * ACKs, new streams and keepalives are served during a long push; a push that starts while one
   * is running replaces the rest of it (its generation is newer).
   */
  push(): void {
    const changeAtMs = this.#changeAtMs ?? this.#options.timers.now();
    this.#changeAtMs = undefined;
    this.#generation += 1;
    if (!this.#options.isReady()) return;
    this.#pending = { connections: [...this.#connections], changeAtMs };
    if (!this.#pumping) this.#pump();
  }

  #pump(): void {
    const pending = this.#pending;
    if (pending === undefined || this.#closed) {
      this.#pumping = false;
      return;
    }
    this.#pumping = true;
    for (const connection of pending.connections.splice(0, pushBatch)) {
      if (this.#connections.has(connection)) this.#sync(connection, pending.changeAtMs);
    }
    if (pending.connections.length === 0 && this.#pending === pending) this.#pending = undefined;
    if (this.#pending === undefined) {
      this.#pumping = false;
      return;
    }
    setImmediate(() => this.#pump());
  }

  /** Status of every connected proxy, by proxy id. */
  status(): ProxyStatus[] {
    return [...this.#connections].map((c) => {
      const types: Partial<Record<ResourceType, TypeStatus>> = {};
      for (const [type, s] of c.types) types[type] = { sentVersion: s.sentVersion, sentNonce: s.sentNonce, sentAtMs: s.sentAtMs, ackedVersion: s.ackedVersion, nackError: s.nackError, state: s.state };
      return { node: c.node, controlPlaneId: this.#options.controlPlaneId, connectedAtMs: c.connectedAtMs, revision: c.current?.revision, types, state: worstState(Object.values(types).map((t) => t.state)) };
    });
  }

  /** What was last computed for a connected proxy (config_dump); undefined when it is not connected here. */
  configOf(proxyId: string): ComputedProxyConfig | undefined {
    for (const c of this.#connections) if (c.node.id === proxyId) return c.current?.computed;
    return undefined;
  }

  get connectedProxies(): number {
    return this.#connections.size;
  }

  /** Ends every stream with UNAVAILABLE (proxies reconnect to another replica) and stops pushing. */
  close(): void {
    this.#closed = true;
    this.#debouncer.cancel();
    for (const c of this.#connections) c.stream.emit("error", { code: grpcStatus.UNAVAILABLE, details: "control plane stopping; reconnect to another replica" });
    this.#connections.clear();
    this.#options.metrics.connected.set(0);
  }

  #open(stream: Stream): void {
    let connection: Connection | undefined;
    const log = this.#options.logger;
    const drop = (): void => {
      if (connection && this.#connections.delete(connection)) {
        this.#options.metrics.connected.set(this.#connections.size);
        log.info("proxy disconnected", { proxy: connection.node.id });
      }
    };
    stream.on("data", (request: DiscoveryRequest) => {
      if (this.#closed) return;
      if (connection === undefined) {
        const node = parseNode(request.node);
        if (typeof node === "string") {
          stream.emit("error", { code: grpcStatus.INVALID_ARGUMENT, details: node });
          return;
        }
        const refused = this.#options.authorize?.(stream, node);
        if (refused !== undefined) {
          log.warn("proxy refused: its client certificate does not match the node it claims", { proxy: node.id, namespace: node.namespace, serviceAccount: node.serviceAccount, error: refused });
          stream.emit("error", { code: grpcStatus.PERMISSION_DENIED, details: refused });
          return;
        }
        connection = { stream, node, connectedAtMs: this.#options.timers.now(), subscribed: new Set(), types: new Map(), current: undefined, endpointDigests: undefined };
        this.#connections.add(connection);
        this.#options.metrics.connected.set(this.#connections.size);
        log.info("proxy connected", { proxy: node.id, namespace: node.namespace, workload: node.workload });
      }
      this.#onRequest(connection, request);
    });
    stream.on("end", () => {
      drop();
      stream.end();
    });
    stream.on("error", drop);
    stream.on("close", drop);
  }

  #onRequest(connection: Connection, request: DiscoveryRequest): void {
    if (request.report !== undefined) {
      try {
        this.#options.onReport?.(connection.node, request.report);
      } catch (error) {
        this.#options.logger.warn("a proxy's report could not be kept", { proxy: connection.node.id, err: error });
      }
      // A report alone (no type) is neither a subscription nor an ACK.
      if (request.typeUrl === "") return;
    }
    const type = resourceTypeOf(request.typeUrl);
    if (type === undefined) {
      this.#options.logger.warn("request for an unknown type ignored", { proxy: connection.node.id, typeUrl: request.typeUrl });
      return;
    }
    if (request.responseNonce === "") {
      // A subscription: a new stream (or a new type) gets the full state of the type.
      connection.subscribed.add(type);
      connection.types.delete(type);
      if (type === "endpoints") connection.endpointDigests = undefined;
      if (this.#options.isReady()) this.#sync(connection, this.#options.timers.now(), type);
      return;
    }
    const sent = connection.types.get(type);
    // An answer to an older response: superseded by one in flight (Envoy ignores those too).
    if (sent === undefined || sent.sentNonce !== request.responseNonce) return;
    const now = this.#options.timers.now();
    if (request.errorDetail !== undefined) {
      const error = request.errorDetail.message || request.errorDetail.code || "rejected without a reason";
      connection.types.set(type, { ...sent, ackedVersion: request.versionInfo, nackError: error, state: "NACKED" });
      // The proxy kept its previous endpoints: which ones is not known here, so the next push sends all.
      if (type === "endpoints") connection.endpointDigests = undefined;
      this.#options.metrics.rejects.inc({ type });
      this.#options.logger.warn("proxy rejected config (NACK); it keeps its last good version", { proxy: connection.node.id, type, version: sent.sentVersion, kept: request.versionInfo, error });
      return;
    }
    const acked = { ...sent, ackedVersion: request.versionInfo, nackError: undefined };
    connection.types.set(type, { ...acked, state: syncState(acked) });
    if (request.versionInfo === sent.sentVersion) this.#options.metrics.convergence.observe(Math.max(0, now - sent.changeAtMs) / 1000);
  }

  /** Recomputes `connection` and sends the subscribed types (or `only`) whose version differs from the last sent. */
  #sync(connection: Connection, changeAtMs: number, only?: ResourceType): void {
    let encoded: EncodedResources;
    if (connection.current !== undefined && connection.current.generation === this.#generation) {
      encoded = connection.current.encoded;
    } else {
      let computed: ComputedProxyConfig;
      const revision = this.#options.revision?.();
      try {
        computed = this.#options.compute(connection.node);
      } catch (error) {
        this.#options.metrics.pushErrors.inc({ reason: "compute" });
        this.#options.logger.error("computing a proxy's config failed; it keeps its last config", { proxy: connection.node.id, err: error });
        return;
      }
      encoded = encodeProxyResources(computed.resources);
      connection.current = { computed, encoded, generation: this.#generation, revision };
    }
    for (const type of pushOrder) {
      if (only !== undefined && type !== only) continue;
      if (!connection.subscribed.has(type)) continue;
      const wire = encoded[type];
      const previous = connection.types.get(type);
      if (previous !== undefined && previous.sentVersion === wire.version) continue;
      this.#nonce += 1;
      const nonce = `${this.#options.controlPlaneId}-${this.#nonce}`;
      let resources = wire.resources;
      if (type === "endpoints") {
        // Endpoints are Envoy EDS-like, not state of the world: only the clusters whose endpoints
        // changed are sent; a cluster's endpoints end with the cluster (the Cluster push removes it).
        const held = connection.endpointDigests;
        if (held !== undefined) resources = changedEndpoints(held, wire);
        connection.endpointDigests = wire.digests;
      }
      // The shared list itself, not a copy: the serializer (encodeDiscoveryResponse) encodes a list once for every proxy it goes to.
      const response: DiscoveryResponse = { typeUrl: typeUrls[type], versionInfo: wire.version, nonce, resources: resources as DiscoveryResponse["resources"], controlPlaneId: this.#options.controlPlaneId };
      const now = this.#options.timers.now();
      connection.types.set(type, {
        sentVersion: wire.version,
        sentNonce: nonce,
        sentAtMs: now,
        ackedVersion: previous?.ackedVersion ?? "",
        nackError: undefined,
        state: "STALE",
        changeAtMs: previous === undefined ? now : changeAtMs,
      });
      try {
        connection.stream.write(response);
        this.#options.metrics.pushes.inc({ type });
      } catch (error) {
        this.#options.metrics.pushErrors.inc({ reason: "write" });
        this.#options.logger.warn("writing a push failed", { proxy: connection.node.id, type, err: error });
      }
    }
  }
}
