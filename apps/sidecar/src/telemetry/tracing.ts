// Per-request tracing for the data path: read the incoming context, decide sampling, mint the
// proxy's span id, hand back the upstream headers, and at the end export a span over OTLP/HTTP.
// Unsampled requests stop after the headers: no span object, no attributes, no export.

import type { Attributes, HrTime, SpanContext, SpanKind, SpanStatusCode } from "@opentelemetry/api";
import { createRequire } from "node:module";
import type * as OtlpHttp from "@opentelemetry/exporter-trace-otlp-http";
import type * as Resources from "@opentelemetry/resources";
import type { Resource } from "@opentelemetry/resources";
import type * as SdkTraceBase from "@opentelemetry/sdk-trace-base";
import type { BufferConfig, ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace-base";
import { systemRandomFill } from "./system-random.ts";
import { formatResponseFlags, type ResponseFlagSet } from "./response-flags.ts";
import {
  extractTraceContext,
  formatTraceHeaderLines,
  traceHeaderEntries,
  type HeaderValues,
} from "./trace-context.ts";

/** `client` for outbound requests (reporter source), `server` for inbound ones. */
export type ProxySpanKind = "client" | "server";

/**
 * One request's trace state, filled by `Tracing.startRequest`. Reusable: pass the same object
 * back as `into` for the next request on a connection.
 */
export class RequestTrace {
  /** 32 lowercase hex digits. */
  traceId = "";
  /** The proxy's span, sent upstream as the parent: 16 lowercase hex digits. */
  spanId = "";
  /** The caller's span; "" when the proxy started the trace. */
  parentSpanId = "";
  sampled = false;
  debug = false;
  /** Validated `tracestate` to forward; "" for none. */
  traceState = "";
  /** `x-request-id`: the incoming one, or a new UUID v4. */
  requestId = "";
  /** True when `requestId` was minted here, so the data path must add the header. */
  requestIdGenerated = false;
}

/** What the data path knows at the end of a request; read only for sampled requests. */
export interface SpanEnd {
  kind: ProxySpanKind;
  /** Istio's span name: the route's operation if set, else `<host>:<port>/*`. */
  name: string;
  /** Epoch ms (fractions keep sub-ms precision): first request byte, last response byte. */
  startTimeMs: number;
  endTimeMs: number;
  method: string;
  /** The request target as sent (`/reviews/0?x=1`). */
  path: string;
  /** `:authority` / `Host`. */
  authority: string;
  /** `1.1` or `2`. */
  protocolVersion: string;
  /** Status sent downstream; 0 if none (an error). */
  statusCode: number;
  responseFlags: ResponseFlagSet;
  upstreamCluster: string;
  /** `ip:port` of the upstream endpoint, if one was picked. */
  upstreamHost?: string;
  userAgent?: string;
  /** The downstream peer's address (`ip:port` or `ip`). */
  downstreamAddress?: string;
  requestBytes?: number;
  responseBytes?: number;
  /** `http` or `https` as seen by the app (for `url.scheme`). */
  scheme?: string;
  /** Telemetry customTags: added after the proxy's own attributes (a tag of the same name replaces one). */
  customTags?: Readonly<Record<string, string>>;
}

export interface TracingOptions {
  /** Percentage of requests without an upstream decision that are sampled, 0..100 (Istio's default is 1). */
  samplingPercent: number;
  /** Envoy's node id (`sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local`), the `node_id` tag. */
  nodeId: string;
  /** The resource's `service.name`; Istio uses `<canonical service>.<namespace>`. */
  serviceName: string;
  canonicalService?: string;
  canonicalRevision?: string;
  namespace?: string;
  meshId?: string;
  /** Where spans go. Give an exporter, or an OTLP/HTTP endpoint (`http://collector:4318/v1/traces`); neither: no export. */
  exporter?: SpanExporter;
  otlpEndpoint?: string;
  /** BatchSpanProcessor settings (queue size, batch size, delay). */
  batch?: BufferConfig;
  /**
   * Longest one OTLP export may take, retries included (the exporter retries a refused
   * connection until then); also bounds `forceFlush` and `shutdown`. Default 5000 ms.
   */
  exportTimeoutMs?: number;
  /** Uniform in [0, 1), for the sampling decision; default Math.random. */
  random?: () => number;
  /** Fills a buffer with random bytes, for ids; default the system's (system-random.ts). */
  randomBytes?: (buffer: Uint8Array) => void;
  /** A UUID v4 for `x-request-id`; default: one made from the pooled random bytes of `randomBytes`. */
  uuid?: () => string;
  /** Told when a flush or shutdown fails (collector down past the export timeout). */
  onError?: (err: unknown) => void;
}

export interface Tracing {
  /**
   * Reads the incoming context from `headers`, decides sampling (an upstream decision wins; B3
   * debug forces it; otherwise `samplingPercent`), mints the proxy's span id and resolves
   * `x-request-id`. Fills and returns `into` (or a new RequestTrace). `samplingPercent` (0..100,
   * a Telemetry's randomSamplingPercentage) replaces the tracer's own for this request. Never throws.
   */
  startRequest(headers: HeaderValues, into?: RequestTrace, samplingPercent?: number): RequestTrace;
  /** The upstream trace headers as HTTP/1.1 lines (`traceparent`, `tracestate`, `x-b3-*`, `b3`). */
  headerLines(trace: RequestTrace): string;
  /** The same as `[name, value]` pairs. */
  headerEntries(trace: RequestTrace): [string, string][];
  /**
   * Ends the proxy's span; exported only if `trace.sampled`. Check `trace.sampled` before building
   * `end` so unsampled requests allocate nothing. Status is an error for 5xx or no response.
   */
  endSpan(trace: RequestTrace, end: SpanEnd): void;
  /** Sampling percentage, changeable at run time (config push). */
  samplingPercent: number;
  /** Exports what is queued. Never rejects: a failure goes to `onError`. */
  forceFlush(): Promise<void>;
  /** Exports what is queued and stops the exporter. Never rejects: a failure goes to `onError`. */
  shutdown(): Promise<void>;
}

const ID_POOL_BYTES = 16_384;
const ZERO_IDS: Record<number, string> = { 8: "0".repeat(16), 16: "0".repeat(32) };

/** Lowercase hex digits as character codes. */
const HEX_CODES = Buffer.from("0123456789abcdef", "latin1");

/** Random ids from a pooled buffer: one fill per 16 KiB (~400 requests) instead of one per id. */
export class IdSource {
  readonly #pool = Buffer.allocUnsafe(ID_POOL_BYTES);
  readonly #fill: (buffer: Uint8Array) => void;
  #offset = ID_POOL_BYTES;
  /** Where a UUID is formatted before it becomes one string (no concatenation of its parts). */
  readonly #uuidText = Buffer.allocUnsafe(36);
  constructor(fill: (buffer: Uint8Array) => void) {
    this.#fill = fill;
  }

  /** A new trace id and span id from 24 pooled bytes in one hex conversion (as `hex(16)` then `hex(8)` would draw them). */
  newTrace(into: RequestTrace): void {
    for (;;) {
      const both = this.hex(24);
      const traceId = both.slice(0, 32);
      const spanId = both.slice(32);
      // An all-zero id is invalid (W3C §3.2.2.3, §3.2.2.4); at 2^-64 odds, draw again.
      if (traceId !== ZERO_IDS[16] && spanId !== ZERO_IDS[8]) {
        into.traceId = traceId;
        into.spanId = spanId;
        return;
      }
    }
  }

  /** A random UUID v4 (RFC 9562 §5.4), lowercase, from 16 pooled bytes. */
  uuid(): string {
    if (this.#offset + 16 > ID_POOL_BYTES) {
      this.#fill(this.#pool);
      this.#offset = 0;
    }
    const pool = this.#pool;
    const text = this.#uuidText;
    const start = this.#offset;
    this.#offset += 16;
    let at = 0;
    for (let i = 0; i < 16; i++) {
      let byte = pool[start + i] as number;
      if (i === 6) byte = (byte & 0x0f) | 0x40; // version 4
      else if (i === 8) byte = (byte & 0x3f) | 0x80; // variant 10
      text[at++] = HEX_CODES[byte >> 4] as number;
      text[at++] = HEX_CODES[byte & 15] as number;
      if (i === 3 || i === 5 || i === 7 || i === 9) text[at++] = 45; // -
    }
    return text.toString("latin1", 0, 36);
  }
  hex(bytes: number): string {
    for (;;) {
      if (this.#offset + bytes > ID_POOL_BYTES) {
        this.#fill(this.#pool);
        this.#offset = 0;
      }
      const start = this.#offset;
      this.#offset += bytes;
      const id = this.#pool.toString("hex", start, start + bytes);
      // An all-zero id is invalid (W3C §3.2.2.3); at 2^-64 odds, draw again.
      if (id !== ZERO_IDS[bytes]) return id;
    }
  }
}

function hrTime(epochMs: number): HrTime {
  const seconds = Math.floor(epochMs / 1000);
  return [seconds, Math.round((epochMs - seconds * 1000) * 1e6)];
}

function hrDuration(ms: number): HrTime {
  const d = Math.max(0, ms);
  const seconds = Math.floor(d / 1000);
  return [seconds, Math.round((d - seconds * 1000) * 1e6)];
}

function validPercent(percent: number): number {
  if (!(percent >= 0 && percent <= 100)) {
    throw new RangeError(`tracing: samplingPercent ${percent} is out of range; give a number from 0 to 100 (--trace-sampling)`);
  }
  return percent;
}

const lazyRequire = createRequire(import.meta.url);

// The values of @opentelemetry/api's enums, written out: importing the package for two constants
// runs all of it at start (its CommonJS build: ~45 KB of globals, no-op providers and propagators).
const SPAN_KIND_SERVER = 1 as SpanKind.SERVER;
const SPAN_KIND_CLIENT = 2 as SpanKind.CLIENT;
const STATUS_UNSET = 0 as SpanStatusCode.UNSET;
const STATUS_ERROR = 2 as SpanStatusCode.ERROR;

/** The system's random bytes (one /dev/urandom descriptor for the process, opened by the first id). */
const systemRandom = systemRandomFill();

/** Creates the tracer. With neither `exporter` nor `otlpEndpoint`, spans are sampled but dropped. */
export function createTracing(options: TracingOptions): Tracing {
  const random = options.random ?? Math.random;
  const ids = new IdSource(options.randomBytes ?? systemRandom);
  const uuid = options.uuid ?? (() => ids.uuid());
  const exportTimeoutMs = options.exportTimeoutMs ?? 5000;
  // The OpenTelemetry SDK and exporter are loaded only when spans are exported: a proxy that only
  // propagates trace headers does not pay their memory (several MB of modules).
  const exporting = options.exporter !== undefined || options.otlpEndpoint !== undefined;
  const sdk = exporting ? (lazyRequire("@opentelemetry/sdk-trace-base") as typeof SdkTraceBase) : undefined;
  const exporter =
    options.exporter ??
    (options.otlpEndpoint !== undefined
      ? new (lazyRequire("@opentelemetry/exporter-trace-otlp-http") as typeof OtlpHttp).OTLPTraceExporter({ url: options.otlpEndpoint, timeoutMillis: exportTimeoutMs })
      : undefined);
  const processor =
    exporter === undefined || sdk === undefined
      ? undefined
      : new sdk.BatchSpanProcessor(exporter, { exportTimeoutMillis: exportTimeoutMs, ...options.batch });
  const resourceAttributes: Attributes = { "service.name": options.serviceName };
  if (options.namespace !== undefined) resourceAttributes["service.namespace"] = options.namespace;
  if (options.canonicalRevision !== undefined) resourceAttributes["service.version"] = options.canonicalRevision;
  const resource: Resource | undefined = exporting ? (lazyRequire("@opentelemetry/resources") as typeof Resources).resourceFromAttributes(resourceAttributes) : undefined;
  const scope = { name: "meshwork-sidecar" };
  const staticAttributes: Attributes = { component: "proxy", node_id: options.nodeId };
  if (options.canonicalService !== undefined) staticAttributes["istio.canonical_service"] = options.canonicalService;
  if (options.canonicalRevision !== undefined) staticAttributes["istio.canonical_revision"] = options.canonicalRevision;
  if (options.namespace !== undefined) staticAttributes["istio.namespace"] = options.namespace;
  if (options.meshId !== undefined) staticAttributes["istio.mesh_id"] = options.meshId;
  let samplingPercent = validPercent(options.samplingPercent);

  const tracing: Tracing = {
    get samplingPercent() {
      return samplingPercent;
    },
    set samplingPercent(percent: number) {
      samplingPercent = validPercent(percent);
    },

    startRequest(headers, into = new RequestTrace(), percent = samplingPercent) {
      const incoming = extractTraceContext(headers);
      if (incoming !== undefined && incoming.traceId !== "") {
        into.traceId = incoming.traceId;
        into.parentSpanId = incoming.spanId;
        into.traceState = incoming.traceState;
        into.spanId = ids.hex(8);
      } else {
        ids.newTrace(into);
        into.parentSpanId = "";
        into.traceState = "";
      }
      into.debug = incoming?.debug ?? false;
      const decided = incoming?.sampled;
      into.sampled = decided ?? (percent >= 100 || (percent > 0 && random() * 100 < percent));
      const requestId = headers["x-request-id"];
      if (typeof requestId === "string" && requestId !== "") {
        into.requestId = requestId;
        into.requestIdGenerated = false;
      } else {
        into.requestId = uuid();
        into.requestIdGenerated = true;
      }
      return into;
    },

    headerLines: (trace) => formatTraceHeaderLines(trace),
    headerEntries: (trace) => traceHeaderEntries(trace),

    endSpan(trace, end) {
      if (!trace.sampled || processor === undefined || resource === undefined) return;
      processor.onEnd(buildSpan(trace, end, resource, scope, staticAttributes));
    },

    forceFlush: () => settle(processor?.forceFlush(), exportTimeoutMs, options.onError),
    shutdown: () => settle(processor?.shutdown(), exportTimeoutMs, options.onError),
  };
  return tracing;
}

/** Waits for `work` at most `timeoutMs`; a failure or the timeout goes to `onError`, never a rejection. */
async function settle(
  work: Promise<void> | undefined,
  timeoutMs: number,
  onError: ((err: unknown) => void) | undefined,
): Promise<void> {
  if (work === undefined) return;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`tracing: span export did not finish within ${timeoutMs} ms`)), timeoutMs);
    timer.unref();
  });
  try {
    await Promise.race([work, deadline]);
  } catch (err) {
    onError?.(err);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds the finished span directly (the SDK's Tracer cannot take ids chosen by the caller). */
function buildSpan(
  trace: RequestTrace,
  end: SpanEnd,
  resource: Resource,
  instrumentationScope: { name: string },
  staticAttributes: Attributes,
): ReadableSpan {
  const context: SpanContext = { traceId: trace.traceId, spanId: trace.spanId, traceFlags: 1, isRemote: false };
  const parentSpanContext: SpanContext | undefined =
    trace.parentSpanId === ""
      ? undefined
      : { traceId: trace.traceId, spanId: trace.parentSpanId, traceFlags: 1, isRemote: true };
  const flags = formatResponseFlags(end.responseFlags);
  const isError = end.statusCode >= 500 || end.statusCode === 0;
  const [host, portText] = splitAuthority(end.authority);
  const attributes: Attributes = {
    ...staticAttributes,
    // OpenTelemetry HTTP semantic conventions (stable, v1.23+).
    "http.request.method": end.method,
    "http.response.status_code": end.statusCode,
    "url.path": pathOnly(end.path),
    "server.address": host,
    "network.protocol.name": "http",
    "network.protocol.version": end.protocolVersion,
    // Envoy/Istio's tags, which Istio's dashboards and Jaeger/Zipkin users search by.
    "guid:x-request-id": trace.requestId,
    "http.method": end.method,
    "http.url": `${end.scheme ?? "http"}://${end.authority}${end.path}`,
    "http.protocol": `HTTP/${end.protocolVersion}`,
    "http.status_code": end.statusCode,
    response_flags: flags,
    upstream_cluster: end.upstreamCluster,
    "upstream_cluster.name": end.upstreamCluster,
  };
  if (portText !== "") attributes["server.port"] = Number(portText);
  if (end.scheme !== undefined) attributes["url.scheme"] = end.scheme;
  if (end.kind === "client") attributes["url.full"] = attributes["http.url"];
  if (end.userAgent !== undefined) {
    attributes["user_agent.original"] = end.userAgent;
    attributes["user_agent"] = end.userAgent;
  }
  if (end.downstreamAddress !== undefined) {
    attributes["client.address"] = end.downstreamAddress;
    attributes["peer.address"] = end.downstreamAddress;
  }
  if (end.upstreamHost !== undefined) attributes["network.peer.address"] = end.upstreamHost;
  if (end.requestBytes !== undefined) attributes["request_size"] = end.requestBytes;
  if (end.responseBytes !== undefined) attributes["response_size"] = end.responseBytes;
  if (isError) attributes["error.type"] = end.statusCode === 0 ? flags : String(end.statusCode);
  if (end.customTags !== undefined) for (const [name, value] of Object.entries(end.customTags)) attributes[name] = value;

  return {
    name: end.name,
    kind: end.kind === "client" ? SPAN_KIND_CLIENT : SPAN_KIND_SERVER,
    spanContext: () => context,
    parentSpanContext,
    startTime: hrTime(end.startTimeMs),
    endTime: hrTime(end.endTimeMs),
    duration: hrDuration(end.endTimeMs - end.startTimeMs),
    status: isError ? { code: STATUS_ERROR } : { code: STATUS_UNSET },
    attributes,
    links: [],
    events: [],
    ended: true,
    resource,
    instrumentationScope,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function splitAuthority(authority: string): [string, string] {
  // `[::1]:8080`, `host:80`, `host`
  const close = authority.lastIndexOf("]");
  const colon = authority.lastIndexOf(":");
  if (colon > close) return [authority.slice(0, colon), authority.slice(colon + 1)];
  return [authority, ""];
}

function pathOnly(target: string): string {
  const q = target.indexOf("?");
  return q === -1 ? target : target.slice(0, q);
}
