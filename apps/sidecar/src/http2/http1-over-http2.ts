// Header blocks between an HTTP/1.1 client and an HTTP/2 upstream (h2UpgradePolicy UPGRADE, or a
// cluster whose port speaks http2/grpc): the request's fields as node:http2 takes them, without
// what describes the client's HTTP/1.1 connection (RFC 9113 §8.2.2) or what the proxy consumes;
// and the HTTP/1.1 response head built from the upstream's HTTP/2 one, framed for the client.
import { STATUS_CODES } from "node:http";
import type { IncomingHttpHeaders } from "node:http2";
import type { HeaderOps } from "@meshwork/proxy-core";
import type { RequestHead } from "../http1/parse-request-head.ts";
import { applyHeaderOps, proxyControlHeaders } from "../proxy/exchange.ts";
import { connectionSpecific } from "./convert-headers.ts";
import { PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER } from "../proxy/peer-metadata.ts";

/**
 * HTTP/1.1 request fields upstreamRequestHeaders does not drop by itself (its `connectionSpecific`
 * covers the others): the framing's `trailer`, and `expect` (the proxy answers 100-continue).
 */
const http1Only = new Set(["trailer", "expect"]);

/**
 * The request's header fields as an object for upstreamRequestHeaders (which drops the fields
 * specific to a connection): lowercase names, a repeated field as an array in received order;
 * without the fields the Connection header names, `trailer`, `expect` and the headers the proxy
 * consumes.
 */
export function http1RequestFields(head: RequestHead): IncomingHttpHeaders {
  const names = head.names;
  const values = head.values;
  let connectionNamed: Set<string> | undefined;
  if (head.hasHopByHop) {
    for (let i = 0; i < names.length; i++) {
      if (names[i] !== "connection") continue;
      for (const token of (values[i] as string).toLowerCase().split(",")) (connectionNamed ??= new Set()).add(token.trim());
    }
  }
  const out: IncomingHttpHeaders = {};
  for (let i = 0; i < names.length; i++) {
    const name = names[i] as string;
    if (http1Only.has(name) || proxyControlHeaders.has(name) || connectionNamed?.has(name) === true) continue;
    // A chunked request has no length; a Content-Length beside Transfer-Encoding is not forwarded (RFC 9112 §6.3).
    if (name === "content-length" && head.chunked) continue;
    const value = values[i] as string;
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  return out;
}

/**
 * Fields of the upstream's HTTP/2 response never sent to the HTTP/1.1 client as they are: those
 * specific to a connection (as for an HTTP/2 client, downstreamResponseHeaders), the metadata
 * exchange, and the service time (this proxy sets its own, as Envoy's router does).
 */
const notForwarded = new Set([...connectionSpecific, "x-envoy-upstream-service-time", PEER_METADATA_HEADER, PEER_METADATA_ID_HEADER]);

export interface Http1ResponseParts {
  readonly ops: readonly HeaderOps[];
  /** `name: value\r\n` lines the proxy adds after the upstream's (x-envoy-upstream-service-time, metadata exchange). */
  readonly extraLines: string;
  /** The request was HEAD: the head describes a body that is not sent. */
  readonly headRequest: boolean;
  /** The client connection closes after this response. */
  readonly close: boolean;
}

/**
 * The HTTP/1.1 head (status line to blank line) for an upstream HTTP/2 response, and whether its
 * body goes chunked: it does when the upstream gave no content-length and the status has a body.
 */
export function http1ResponseHead(status: number, received: IncomingHttpHeaders, parts: Http1ResponseParts): { readonly head: string; readonly chunked: boolean } {
  const names: string[] = [];
  const values: string[] = [];
  let hasLength = false;
  for (const name in received) {
    if (name.charCodeAt(0) === 58 /* ":" */ || notForwarded.has(name)) continue;
    const value = received[name];
    if (value === undefined) continue;
    if (name === "content-length") hasLength = true;
    if (Array.isArray(value)) {
      for (const one of value) {
        names.push(name);
        values.push(one);
      }
    } else {
      names.push(name);
      values.push(value);
    }
  }
  const bodiless = parts.headRequest || status === 204 || status === 304 || status < 200;
  const chunked = !hasLength && !bodiless;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Unknown"}\r\n${applyHeaderOps(names, values, parts.ops)}${parts.extraLines}`;
  if (chunked) head += "transfer-encoding: chunked\r\n";
  if (parts.close) head += "connection: close\r\n";
  return { head: `${head}\r\n`, chunked };
}

/** One chunk of a chunked body (RFC 9112 §7.1): size line, data, CRLF. */
export function encodeChunk(data: Buffer): Buffer {
  const size = `${data.length.toString(16)}\r\n`;
  const out = Buffer.allocUnsafe(size.length + data.length + 2);
  out.write(size, 0, "latin1");
  data.copy(out, size.length);
  out[out.length - 2] = 13;
  out[out.length - 1] = 10;
  return out;
}

/** The last chunk of a chunked body, without trailers (Envoy's HTTP/1.1 codec sends none unless enabled). */
export const lastChunk = Buffer.from("0\r\n\r\n", "latin1");
