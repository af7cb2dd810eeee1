// Parses the subset of Istio's MeshConfig the sidecar reads: for authorization rootNamespace,
// trustDomain, trustDomainAliases and the envoyExtAuthzHttp / envoyExtAuthzGrpc extensionProviders
// that CUSTOM policies name; for clusters h2UpgradePolicy; for a gateway's `remote.ip`
// defaultConfig.gatewayTopology.numTrustedProxies and proxyProtocol. Pure; the caller reads the file. Errors name the
// field and say what to write.
import { parseDurationMs } from "@meshwork/config";
import type { MeshH2UpgradePolicy } from "@meshwork/proxy-core";
import { parse } from "yaml";
import { defaultMeshAuthzConfig, type ExtAuthzGrpcProvider, type ExtAuthzHttpProvider, type ExtAuthzProvider, type ExtAuthzRequestBody, type MeshAuthzConfig } from "./mesh-authz-config.ts";

export type ParseMeshConfigResult =
  | {
      readonly ok: true;
      readonly config: MeshAuthzConfig;
      /** `h2UpgradePolicy`; undefined when the file does not set it. */
      readonly h2UpgradePolicy?: MeshH2UpgradePolicy | undefined;
      /**
       * `defaultConfig.gatewayTopology.numTrustedProxies`: proxies in front of a gateway whose
       * X-Forwarded-For entries it trusts (remote.ip); undefined when the file does not set it.
       */
      readonly numTrustedProxies?: number | undefined;
      /**
       * Whether `defaultConfig.gatewayTopology.proxyProtocol` is present (Istio's
       * ProxyProtocolConfiguration, `proxyProtocol: {}`): a gateway's listeners expect a PROXY
       * protocol header from the load balancer in front; undefined when the file does not set it.
       */
      readonly proxyProtocol?: boolean | undefined;
      readonly warnings: readonly string[];
    }
  | { readonly ok: false; readonly errors: readonly string[] };

const providerKinds = [
  "envoyExtAuthzHttp",
  "envoyExtAuthzGrpc",
  "zipkin",
  "lightstep",
  "datadog",
  "stackdriver",
  "opencensus",
  "skywalking",
  "opentelemetry",
  "prometheus",
  "envoyFileAccessLog",
  "envoyHttpAls",
  "envoyTcpAls",
  "envoyOtelAls",
  "sds",
];

const httpFields = new Set([
  "service",
  "port",
  "pathPrefix",
  "timeout",
  "includeRequestHeadersInCheck",
  "includeHeadersInCheck",
  "includeAdditionalHeadersInCheck",
  "includeRequestBodyInCheck",
  "headersToUpstreamOnAllow",
  "headersToDownstreamOnAllow",
  "headersToDownstreamOnDeny",
  "failOpen",
  "clearRouteCache",
  "statusOnError",
]);

/** Istio's EnvoyExternalAuthorizationGrpcProvider fields (clearRouteCache of newer Istio releases included). */
const grpcFields = new Set(["service", "port", "timeout", "failOpen", "statusOnError", "includeRequestBodyInCheck", "clearRouteCache"]);

const requestBodyFields = ["maxRequestBytes", "allowPartialMessage", "packAsBytes"];

/**
 * Parses MeshConfig YAML (the `mesh` key of the istio ConfigMap, or a document whose top level is
 * MeshConfig). `source` names the file in messages. Unknown top-level fields are ignored (MeshConfig
 * has many that are not about authorization); unknown fields of an envoyExtAuthzHttp or
 * envoyExtAuthzGrpc provider are errors.
 */
export function parseMeshConfig(text: string, source = "mesh config"): ParseMeshConfigResult {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    return { ok: false, errors: [`${source}: not valid YAML: ${err instanceof Error ? err.message : String(err)}`] };
  }
  if (doc === null || doc === undefined) return { ok: true, config: defaultMeshAuthzConfig, warnings: [] };
  if (!isObject(doc)) return { ok: false, errors: [`${source}: expected a mapping of MeshConfig fields at the top level`] };
  // The istio ConfigMap keeps MeshConfig as a YAML string under `mesh`.
  if (typeof doc["mesh"] === "string") return parseMeshConfig(doc["mesh"], `${source} (mesh)`);
  const root = isObject(doc["mesh"]) ? doc["mesh"] : doc;

  const errors: string[] = [];
  const warnings: string[] = [];
  const str = (value: unknown, field: string, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value === "string" && value !== "") return value;
    errors.push(`${source}: ${field} must be a non-empty string, got ${JSON.stringify(value)}`);
    return fallback;
  };
  const strings = (value: unknown, field: string): string[] => {
    if (value === undefined) return [];
    if (Array.isArray(value) && value.every((v) => typeof v === "string")) return value as string[];
    errors.push(`${source}: ${field} must be a list of strings, e.g. ["x-user", "x-auth-*"]`);
    return [];
  };

  const rootNamespace = str(root["rootNamespace"], "rootNamespace", defaultMeshAuthzConfig.rootNamespace);
  const trustDomain = str(root["trustDomain"], "trustDomain", defaultMeshAuthzConfig.trustDomain);
  const trustDomainAliases = strings(root["trustDomainAliases"], "trustDomainAliases");
  const h2 = root["h2UpgradePolicy"];
  if (h2 !== undefined && h2 !== "UPGRADE" && h2 !== "DO_NOT_UPGRADE") errors.push(`${source}: h2UpgradePolicy must be UPGRADE or DO_NOT_UPGRADE, got ${JSON.stringify(h2)}`);
  const { numTrustedProxies, proxyProtocol } = readGatewayTopology(root["defaultConfig"], source, errors);

  const providers: ExtAuthzProvider[] = [];
  const rawProviders = root["extensionProviders"];
  if (rawProviders !== undefined && !Array.isArray(rawProviders)) {
    errors.push(`${source}: extensionProviders must be a list of {name, envoyExtAuthzHttp: {...}} or {name, envoyExtAuthzGrpc: {...}}`);
  }
  const seen = new Set<string>();
  (Array.isArray(rawProviders) ? rawProviders : []).forEach((raw: unknown, i) => {
    const at = `extensionProviders[${i}]`;
    if (!isObject(raw)) {
      errors.push(`${source}: ${at} must be a mapping with name and one provider kind`);
      return;
    }
    const name = raw["name"];
    if (typeof name !== "string" || name === "") {
      errors.push(`${source}: ${at}.name is required (the name CUSTOM policies use in provider.name)`);
      return;
    }
    if (seen.has(name)) errors.push(`${source}: ${at}.name "${name}" is already used by another provider; names must be unique`);
    seen.add(name);
    const kinds = Object.keys(raw).filter((k) => k !== "name");
    const unknownKinds = kinds.filter((k) => !providerKinds.includes(k));
    if (unknownKinds.length > 0) errors.push(`${source}: ${at} (${name}): unknown provider kind ${unknownKinds.join(", ")}; expected one of ${providerKinds.join(", ")}`);
    if (kinds.length !== 1) {
      if (unknownKinds.length === 0) errors.push(`${source}: ${at} (${name}): exactly one provider kind is required, found ${kinds.length === 0 ? "none" : kinds.join(", ")}`);
      return;
    }
    const kind = kinds[0] as string;
    // Tracing, metrics and access-log providers are not the authorization layer's.
    if (kind !== "envoyExtAuthzHttp" && kind !== "envoyExtAuthzGrpc") return;
    const provider =
      kind === "envoyExtAuthzHttp"
        ? parseHttpProvider(name, raw[kind], `${source}: ${at}.envoyExtAuthzHttp`, errors, warnings)
        : parseGrpcProvider(name, raw[kind], `${source}: ${at}.envoyExtAuthzGrpc`, errors);
    if (provider) providers.push(provider);
  });

  if (errors.length > 0) return { ok: false, errors };
  const h2UpgradePolicy = h2 === "UPGRADE" || h2 === "DO_NOT_UPGRADE" ? h2 : undefined;
  return { ok: true, config: { rootNamespace, trustDomain, trustDomainAliases, extensionProviders: providers }, h2UpgradePolicy, numTrustedProxies, proxyProtocol, warnings };
}

/**
 * `defaultConfig.gatewayTopology` (Istio's ProxyConfig): numTrustedProxies, a whole number ≥ 0,
 * and proxyProtocol, on when present; each undefined when unset.
 */
function readGatewayTopology(defaultConfig: unknown, source: string, errors: string[]): { numTrustedProxies: number | undefined; proxyProtocol: boolean | undefined } {
  const unset = { numTrustedProxies: undefined, proxyProtocol: undefined };
  if (defaultConfig === undefined || defaultConfig === null) return unset;
  const topology = isObject(defaultConfig) ? defaultConfig["gatewayTopology"] : undefined;
  if (!isObject(defaultConfig) || (topology !== undefined && topology !== null && !isObject(topology))) {
    errors.push(`${source}: defaultConfig must be a mapping of ProxyConfig fields, e.g. defaultConfig: { gatewayTopology: { numTrustedProxies: 1 } }`);
    return unset;
  }
  if (!isObject(topology)) return unset;
  let numTrustedProxies: number | undefined;
  const value = topology["numTrustedProxies"];
  if (typeof value === "number" && Number.isInteger(value) && value >= 0) numTrustedProxies = value;
  else if (value !== undefined && value !== null) errors.push(`${source}: defaultConfig.gatewayTopology.numTrustedProxies must be a whole number of proxies (0 or more), got ${JSON.stringify(value)}`);
  const proxy = topology["proxyProtocol"];
  let proxyProtocol: boolean | undefined;
  // Istio's ProxyProtocolConfiguration has no fields yet: its presence ({}) turns the PROXY protocol on.
  if (isObject(proxy)) proxyProtocol = true;
  else if (proxy !== undefined && proxy !== null) errors.push(`${source}: defaultConfig.gatewayTopology.proxyProtocol must be a mapping (write proxyProtocol: {} to expect a PROXY protocol header from the load balancer), got ${JSON.stringify(proxy)}`);
  return { numTrustedProxies, proxyProtocol };
}

function parseHttpProvider(name: string, raw: unknown, at: string, errors: string[], warnings: string[]): ExtAuthzHttpProvider | undefined {
  if (!isObject(raw)) {
    errors.push(`${at} must be a mapping with at least service and port`);
    return undefined;
  }
  const before = errors.length;
  const common = parseCommonFields(raw, httpFields, at, errors);
  const pathPrefix = raw["pathPrefix"] ?? "";
  if (typeof pathPrefix !== "string" || (pathPrefix !== "" && !pathPrefix.startsWith("/"))) {
    errors.push(`${at}.pathPrefix must be a path starting with "/", got ${JSON.stringify(pathPrefix)}`);
  }
  const patterns = (field: string): string[] | undefined => {
    const value = raw[field];
    if (value === undefined) return undefined;
    if (Array.isArray(value) && value.every((v) => typeof v === "string" && v !== "")) return value as string[];
    errors.push(`${at}.${field} must be a list of header names ("x-user", "x-auth-*", "*-id")`);
    return undefined;
  };
  const additional = raw["includeAdditionalHeadersInCheck"] ?? {};
  if (!isObject(additional) || !Object.values(additional).every((v) => typeof v === "string")) {
    errors.push(`${at}.includeAdditionalHeadersInCheck must map header names to string values`);
  }
  // Istio reads the deprecated includeHeadersInCheck when includeRequestHeadersInCheck is unset (extauthz.go).
  const deprecatedHeaders = patterns("includeHeadersInCheck");
  if (deprecatedHeaders !== undefined) warnings.push(`${at}.includeHeadersInCheck is deprecated: write includeRequestHeadersInCheck instead`);
  const includeRequestHeadersInCheck = patterns("includeRequestHeadersInCheck") ?? deprecatedHeaders ?? [];
  const headersToUpstreamOnAllow = patterns("headersToUpstreamOnAllow") ?? [];
  const headersToDownstreamOnAllow = patterns("headersToDownstreamOnAllow") ?? [];
  const headersToDownstreamOnDeny = patterns("headersToDownstreamOnDeny");
  if (errors.length > before || common === undefined) return undefined;
  return {
    type: "http",
    name,
    ...common,
    pathPrefix: pathPrefix as string,
    includeRequestHeadersInCheck,
    includeAdditionalHeadersInCheck: additional as Record<string, string>,
    headersToUpstreamOnAllow,
    headersToDownstreamOnAllow,
    headersToDownstreamOnDeny,
  };
}

function parseGrpcProvider(name: string, raw: unknown, at: string, errors: string[]): ExtAuthzGrpcProvider | undefined {
  if (!isObject(raw)) {
    errors.push(`${at} must be a mapping with at least service and port`);
    return undefined;
  }
  const common = parseCommonFields(raw, grpcFields, at, errors);
  return common === undefined ? undefined : { type: "grpc", name, ...common };
}

type CommonFields = Omit<ExtAuthzGrpcProvider, "type" | "name">;

/**
 * The fields both provider kinds have (service, port, timeout, failOpen, statusOnError,
 * includeRequestBodyInCheck, clearRouteCache) and the unknown-field check against `known`.
 * Undefined when one of them is wrong (the errors say which).
 */
function parseCommonFields(raw: Record<string, unknown>, known: ReadonlySet<string>, at: string, errors: string[]): CommonFields | undefined {
  const before = errors.length;
  for (const key of Object.keys(raw)) if (!known.has(key)) errors.push(`${at}.${key}: unknown field; expected one of ${[...known].join(", ")}`);
  const service = raw["service"];
  if (typeof service !== "string" || service === "") errors.push(`${at}.service is required, e.g. "ext-authz.foo.svc.cluster.local"`);
  // Protobuf JSON accepts a uint32 written as a string, as Istio's docs do (port: "8000").
  const port = uint32(raw["port"]);
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535) {
    errors.push(`${at}.port must be a port number 1-65535, got ${JSON.stringify(port)}`);
  }
  let timeoutMs = 600_000;
  if (raw["timeout"] !== undefined) {
    const parsed = typeof raw["timeout"] === "string" ? parseDurationMs(raw["timeout"]) : undefined;
    if (parsed === undefined || parsed <= 0) errors.push(`${at}.timeout must be a positive duration such as "0.5s" or "300ms", got ${JSON.stringify(raw["timeout"])}`);
    else timeoutMs = parsed;
  }
  const failOpen = raw["failOpen"] ?? false;
  if (typeof failOpen !== "boolean") errors.push(`${at}.failOpen must be true or false`);
  const statusOnError = raw["statusOnError"] === undefined ? 403 : Number(raw["statusOnError"]);
  if (!Number.isInteger(statusOnError) || statusOnError < 100 || statusOnError > 599) {
    errors.push(`${at}.statusOnError must be an HTTP status code such as "403" or "503", got ${JSON.stringify(raw["statusOnError"])}`);
  }
  // Envoy's clear_route_cache re-routes after the authorizer changed headers; the inbound route
  // (the one local application) cannot change, so the value is checked and then has no effect.
  if (raw["clearRouteCache"] !== undefined && typeof raw["clearRouteCache"] !== "boolean") errors.push(`${at}.clearRouteCache must be true or false`);
  const includeRequestBodyInCheck = parseRequestBody(raw["includeRequestBodyInCheck"], `${at}.includeRequestBodyInCheck`, errors);
  if (errors.length > before) return undefined;
  const slash = (service as string).indexOf("/");
  return {
    service: slash < 0 ? (service as string) : (service as string).slice(slash + 1),
    port: port as number,
    timeoutMs,
    failOpen: failOpen as boolean,
    statusOnError,
    includeRequestBodyInCheck,
  };
}

/** includeRequestBodyInCheck: Envoy's BufferSettings, whose max_request_bytes must be above 0. */
function parseRequestBody(raw: unknown, at: string, errors: string[]): ExtAuthzRequestBody | undefined {
  if (raw === undefined) return undefined;
  if (!isObject(raw)) {
    errors.push(`${at} must be a mapping such as {maxRequestBytes: 8192, allowPartialMessage: true}`);
    return undefined;
  }
  const before = errors.length;
  for (const key of Object.keys(raw)) if (!requestBodyFields.includes(key)) errors.push(`${at}.${key}: unknown field; expected one of ${requestBodyFields.join(", ")}`);
  const maxRequestBytes = uint32(raw["maxRequestBytes"]);
  if (typeof maxRequestBytes !== "number" || !Number.isInteger(maxRequestBytes) || maxRequestBytes < 1 || maxRequestBytes > 0xffff_ffff) {
    errors.push(`${at}.maxRequestBytes must be a byte count of at least 1 (Envoy refuses 0), e.g. 8192, got ${JSON.stringify(raw["maxRequestBytes"])}`);
  }
  const allowPartialMessage = raw["allowPartialMessage"] ?? false;
  if (typeof allowPartialMessage !== "boolean") errors.push(`${at}.allowPartialMessage must be true or false`);
  const packAsBytes = raw["packAsBytes"] ?? false;
  if (typeof packAsBytes !== "boolean") errors.push(`${at}.packAsBytes must be true or false`);
  if (errors.length > before) return undefined;
  return { maxRequestBytes: maxRequestBytes as number, allowPartialMessage: allowPartialMessage as boolean, packAsBytes: packAsBytes as boolean };
}

/** A protobuf-JSON uint32: a number, or digits in a string ("8000"); anything else unchanged (for the message). */
function uint32(value: unknown): unknown {
  return typeof value === "string" && /^\d+$/.test(value) ? Number(value) : value;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
