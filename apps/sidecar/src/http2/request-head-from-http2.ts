// The RequestHead the route decision reads, built from an HTTP/2 stream's header block, so HTTP/2
// requests are routed by exactly the same code as HTTP/1.1 ones (routeOutbound, headerRecord).
import type { IncomingHttpHeaders } from "node:http2";
import type { RequestHead } from "../http1/parse-request-head.ts";
import { TRACE_HEADER_NAMES } from "../telemetry/trace-context.ts";

const traceHeaders = new Set(TRACE_HEADER_NAMES);

/**
 * A RequestHead for an HTTP/2 request: method, target and authority from the pseudo-headers
 * (`:authority`, else `host`), the regular headers in received order with repeated values kept
 * as separate entries, `contentLength` from content-length (-1 without one). `headBytes` is the
 * decoded size of the header block (names + values + 4 per field, HPACK's accounting minus 28),
 * for request-size telemetry; the offset fields are 0 as there is no raw head.
 */
const proxyControlHeaders = new Set([
  "x-envoy-upstream-rq-timeout-ms",
  "x-envoy-upstream-rq-per-try-timeout-ms",
  "x-envoy-expected-rq-timeout-ms",
  "x-envoy-retry-on",
  "x-envoy-max-retries",
]);

export function requestHeadFromHttp2(headers: IncomingHttpHeaders): RequestHead {
  const method = stringHeader(headers[":method"]) ?? "GET";
  const target = stringHeader(headers[":path"]) ?? "/";
  const authority = stringHeader(headers[":authority"]) ?? stringHeader(headers.host) ?? "";
  const question = target.indexOf("?");
  const path = question < 0 ? target : target.slice(0, question);
  const query = question < 0 ? "" : target.slice(question + 1);
  const names: string[] = [];
  const values: string[] = [];
  let headBytes = 0;
  let contentLength = -1;
  let hasTraceHeaders = false;
  let hasProxyControlHeaders = false;
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined) continue;
    if (name.charCodeAt(0) === 58 /* ":" */) {
      headBytes += name.length + (value as string).length + 4;
      continue;
    }
    if (typeof value === "string") {
      names.push(name);
      values.push(value);
      headBytes += name.length + value.length + 4;
    } else {
      for (const one of value) {
        names.push(name);
        values.push(one);
        headBytes += name.length + one.length + 4;
      }
    }
    if (traceHeaders.has(name)) hasTraceHeaders = true;
    if (proxyControlHeaders.has(name)) hasProxyControlHeaders = true;
    if (name === "content-length") {
      const n = Number(value);
      if (Number.isInteger(n) && n >= 0) contentLength = n;
    }
  }
  return {
    method,
    target,
    path: path === "" ? "/" : path,
    query,
    authority,
    absoluteForm: false,
    minorVersion: 1,
    names,
    values,
    contentLength,
    chunked: false,
    keepAlive: true,
    upgrade: undefined,
    expectContinue: false,
    hasHopByHop: false,
    hasTraceHeaders,
    hasProxyControlHeaders,
    headerMap: undefined,
    headersStart: 0,
    headBytes,
  };
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === "string" ? value : undefined;
}
