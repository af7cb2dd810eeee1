// Renders a compiled route as stable text: the output of route-selection test cases and a
// readable form for the admin config dump.
import { describeStringMatcher } from "./compile-string-match.ts";
import { describeRetryOn } from "./parse-retry-on.ts";
import type { CompiledRoute, HeaderOps, RouteDestination } from "./route-table.ts";

/** Multi-line description of `route`: identity, action, then each filter that is configured. */
export function describeRoute(route: CompiledRoute): string[] {
  const origin = route.delegate ? ` delegate=${route.delegate.virtualService} http[${route.delegate.routeIndex}]` : "";
  const lines = [`route ${route.name} vs=${route.virtualService} http[${route.routeIndex}]${origin} match[${route.matchIndex}]${route.match.name ? ` (${route.match.name})` : ""}`];
  const action = route.action;
  switch (action.type) {
    case "forward":
      for (const d of action.destinations) lines.push(`  forward ${describeDestination(d)} weight=${d.weight}/${action.totalWeight}`);
      break;
    case "redirect": {
      const r = action.redirect;
      const parts = [`status=${r.status}`, r.scheme && `scheme=${r.scheme}`, r.authority && `authority=${r.authority}`, r.port !== undefined && `port=${r.port}`, r.derivePort && `derive-port=${r.derivePort}`, r.uri && (r.replacesPrefix !== undefined ? `prefix ${JSON.stringify(r.replacesPrefix)}→${JSON.stringify(r.uri)}` : `uri=${r.uri}`)];
      lines.push(`  redirect ${parts.filter(Boolean).join(" ")}`);
      break;
    }
    case "direct-response":
      lines.push(`  direct-response status=${action.response.status}${action.response.body !== undefined ? ` body=${JSON.stringify(action.response.body)}` : ""}${action.response.bodyBase64 !== undefined ? ` bytes=${action.response.bodyBase64}` : ""}`);
      break;
  }
  const rw = route.rewrite;
  if (rw) {
    const parts = [
      rw.uri !== undefined && (rw.replacesPrefix !== undefined ? `prefix ${JSON.stringify(rw.replacesPrefix)}→${JSON.stringify(rw.uri)}` : `uri=${rw.uri}`),
      rw.regex && `regex /${rw.regex.pattern.source}/→${JSON.stringify(rw.regex.substitution)}`,
      rw.authority !== undefined && `authority=${rw.authority}`,
    ];
    lines.push(`  rewrite ${parts.filter(Boolean).join(" ")}`);
  }
  pushHeaderOps(lines, "request-headers", route.requestHeaders);
  pushHeaderOps(lines, "response-headers", route.responseHeaders);
  if (action.type === "forward") {
    for (const d of action.destinations) {
      pushHeaderOps(lines, `request-headers[${d.subset ?? d.host}]`, d.requestHeaders);
      pushHeaderOps(lines, `response-headers[${d.subset ?? d.host}]`, d.responseHeaders);
    }
  }
  if (route.timeoutMs !== undefined) lines.push(`  timeout ${route.timeoutMs}ms`);
  const r = route.retries;
  // Retries only apply to forwarded requests; redirects and direct responses never reach an upstream.
  if (action.type === "forward") lines.push(
    r.attempts === 0
      ? "  retries none"
      : `  retries attempts=${r.attempts}${r.perTryTimeoutMs !== undefined ? ` per-try=${r.perTryTimeoutMs}ms` : ""} on=${describeRetryOn(r)}${r.retriableStatusCodes.length > 0 ? ` codes=${r.retriableStatusCodes.join(",")}` : ""}`,
  );
  if (route.fault?.delay) lines.push(`  fault delay=${route.fault.delay.fixedDelayMs}ms ${route.fault.delay.percentage}%`);
  if (route.fault?.abort) {
    const a = route.fault.abort;
    lines.push(`  fault abort=${a.httpStatus !== undefined ? `http:${a.httpStatus}` : `grpc:${a.grpcStatus}`} ${a.percentage}%`);
  }
  for (const m of route.mirrors) lines.push(`  mirror ${describeDestination(m.destination)} ${m.percentage}%`);
  if (route.cors) {
    const c = route.cors;
    lines.push(
      `  cors origins=${c.allowOrigins.map(describeStringMatcher).join(",")}${c.allowMethods ? ` methods=${c.allowMethods}` : ""}${c.allowHeaders ? ` headers=${c.allowHeaders}` : ""}${c.exposeHeaders ? ` expose=${c.exposeHeaders}` : ""}${c.maxAgeSeconds ? ` max-age=${c.maxAgeSeconds}` : ""}${c.allowCredentials ? " credentials" : ""}`,
    );
  }
  return lines;
}

function describeDestination(d: RouteDestination): string {
  const labels = d.subsetLabels === undefined ? " subset-undefined" : Object.keys(d.subsetLabels).length > 0 ? ` labels=${Object.entries(d.subsetLabels).map(([k, v]) => `${k}=${v}`).join(",")}` : "";
  return `${d.cluster}${labels}`;
}

function pushHeaderOps(lines: string[], label: string, ops: HeaderOps | undefined): void {
  if (!ops) return;
  const parts = [
    ...ops.remove.map((n) => `-${n}`),
    ...ops.set.map(([n, v]) => `${n}=${v}`),
    ...ops.add.map(([n, v]) => `+${n}=${v}`),
  ];
  lines.push(`  ${label} ${parts.join(" ")}`);
}
