// Where a service sends its call to another bookinfo service: straight to a URL (tests, runs
// without a mesh), or to the sidecar's outbound listener, naming the service as Istio's sample
// does (`http://reviews:9080`), either as an explicit HTTP proxy (absolute-form request target,
// what HTTP_PROXY gives) or Host-based (origin-form target, `Host: reviews:9080`).

export type UpstreamService = "details" | "reviews" | "ratings";

/** Istio's bookinfo services all listen on 9080. */
export const SERVICE_PORT = 9080;

export type UpstreamTarget =
  | { readonly type: "direct"; readonly service: UpstreamService; readonly url: URL }
  | { readonly type: "proxy"; readonly service: UpstreamService; readonly proxy: URL; readonly style: "absolute" | "host"; readonly authority: string };

export interface UpstreamTargetOptions {
  /** A URL that bypasses the proxy for this service (`--reviews-url`). */
  readonly directUrl: string | undefined;
  /** The sidecar's outbound listener (`--outbound-proxy`). */
  readonly proxyUrl: string | undefined;
  readonly style: "absolute" | "host";
  /** Appended to the service name (Istio's SERVICES_DOMAIN): `reviews.default.svc.cluster.local`. */
  readonly servicesDomain: string | undefined;
}

export type UpstreamTargetResult = { readonly ok: true; readonly target: UpstreamTarget } | { readonly ok: false; readonly message: string };

/**
 * Chooses the target for `service`: its direct URL if given, else the proxy if given, else a direct
 * call to `http://<service>[.<domain>]:9080` (name resolution by DNS, as on Kubernetes with iptables
 * capture). A URL that does not parse is an error naming the flag.
 */
export function resolveUpstreamTarget(service: UpstreamService, options: UpstreamTargetOptions): UpstreamTargetResult {
  const domain = options.servicesDomain === undefined || options.servicesDomain === "" ? "" : `.${options.servicesDomain}`;
  const authority = `${service}${domain}:${SERVICE_PORT}`;
  if (options.directUrl !== undefined) {
    const url = parseHttpUrl(options.directUrl);
    if (url === undefined) return { ok: false, message: `invalid value "${options.directUrl}" for --${service}-url: expected an http:// URL such as http://127.0.0.1:9080` };
    return { ok: true, target: { type: "direct", service, url } };
  }
  if (options.proxyUrl !== undefined) {
    const proxy = parseHttpUrl(options.proxyUrl);
    if (proxy === undefined) return { ok: false, message: `invalid value "${options.proxyUrl}" for --outbound-proxy: expected the sidecar's outbound listener as an http:// URL such as http://127.0.0.1:15001` };
    return { ok: true, target: { type: "proxy", service, proxy, style: options.style, authority } };
  }
  return { ok: true, target: { type: "direct", service, url: new URL(`http://${authority}`) } };
}

function parseHttpUrl(text: string): URL | undefined {
  try {
    const url = new URL(text);
    return url.protocol === "http:" ? url : undefined;
  } catch {
    return undefined;
  }
}

/** How to reach `target` for `path` (`/reviews/0`): the socket address, request target and Host. */
export interface UpstreamRequestLine {
  readonly host: string;
  readonly port: number;
  readonly requestTarget: string;
  readonly hostHeader: string;
}

export function upstreamRequestLine(target: UpstreamTarget, path: string): UpstreamRequestLine {
  if (target.type === "direct") {
    const base = target.url.pathname.replace(/\/+$/, "");
    return { host: hostOf(target.url), port: portOf(target.url), requestTarget: `${base}${path}`, hostHeader: target.url.host };
  }
  return {
    host: hostOf(target.proxy),
    port: portOf(target.proxy),
    requestTarget: target.style === "absolute" ? `http://${target.authority}${path}` : path,
    hostHeader: target.authority,
  };
}

/** URL.hostname keeps the brackets of an IPv6 literal; sockets want the bare address. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, "$1");
}

function portOf(url: URL): number {
  return url.port === "" ? 80 : Number(url.port);
}

/** A short description for logs: `reviews via http://127.0.0.1:15001 (absolute)`. */
export function describeUpstreamTarget(target: UpstreamTarget): string {
  return target.type === "direct" ? `${target.service} at ${target.url.href}` : `${target.service} via ${target.proxy.href} (${target.style}, ${target.authority})`;
}
