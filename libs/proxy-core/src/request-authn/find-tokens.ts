// Finds the JSON Web Tokens a request carries in the locations RequestAuthentication rules name
// (headers with a prefix, query parameters, cookies), the way Envoy's jwt_authn extractor does.
// Runs on every inbound request, so a request without a token allocates nothing.
import type { RequestAuthnConfig, TokenLocation } from "./compile-request-authentication.ts";

/**
 * The request as the JWT layer sees it; the HTTP/1.1 and HTTP/2 paths both fill it cheaply.
 * `header` takes a lowercase name and returns the value, or undefined; repeated fields joined with
 * ", " (HTTP/2's split `cookie` fields with "; ", RFC 9113 §8.2.3). Only called for the names the
 * rules use, `cookie` when a rule reads cookies, `origin` for OPTIONS requests, and `host`,
 * `:authority` and `x-forwarded-proto` to build a rejection's realm.
 */
export interface AuthnRequest {
  header(name: string): string | undefined;
  /** Path with the query, as received (`/a?b=c`). */
  readonly path: string;
  /** Used to let CORS preflights through unauthenticated (Istio sets bypass_cors_preflight). */
  readonly method?: string;
  /** Host for the `www-authenticate` realm; defaults to the `host` / `:authority` header. */
  readonly authority?: string;
  /** Scheme for the realm; defaults to `x-forwarded-proto`, else "http". */
  readonly scheme?: string;
}

/** A token found in a request: the text and the index of the location (RequestAuthnConfig.locations) it came from. */
export interface FoundToken {
  readonly token: string;
  readonly location: number;
}

/**
 * Tokens in `request` at the config's locations, in location order; undefined when there are none
 * (the common case, which allocates nothing). A header with a prefix yields the text after the
 * first occurrence of the prefix, from its first base64url-or-dot character (Envoy: extractJWT);
 * a header whose value lacks the prefix yields nothing. A parameter yields its first value,
 * percent-decoded; a cookie its first value, without surrounding quotes.
 */
export function findTokens(config: RequestAuthnConfig, request: AuthnRequest): FoundToken[] | undefined {
  let found: FoundToken[] | undefined;
  const locations = config.locations;
  for (let i = 0; i < locations.length; i++) {
    const token = tokenAt(locations[i] as TokenLocation, request);
    if (token !== undefined) (found ??= []).push({ token, location: i });
  }
  return found;
}

function tokenAt(location: TokenLocation, request: AuthnRequest): string | undefined {
  switch (location.type) {
    case "header": {
      const value = request.header(location.name);
      if (value === undefined) return undefined;
      if (location.prefix === "") return value;
      const at = value.indexOf(location.prefix);
      if (at < 0) return undefined;
      return extractJwt(value, at + location.prefix.length);
    }
    case "param":
      return queryParam(request.path, location.name);
    case "cookie": {
      const cookies = request.header("cookie");
      return cookies === undefined ? undefined : cookieValue(cookies, location.name);
    }
  }
}

/** From `after`, skips to the first base64url or '.' character and returns the rest (Envoy returns the value as is when there is none). */
function extractJwt(value: string, after: number): string {
  for (let i = after; i < value.length; i++) {
    if (isJwtChar(value.charCodeAt(i))) return i === 0 ? value : value.slice(i);
  }
  return value;
}

function isJwtChar(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x5f || c === 0x2e;
}

/** First value of query parameter `name` in `path`, percent-decoded; undefined when absent. */
export function queryParam(path: string, name: string): string | undefined {
  const q = path.indexOf("?");
  if (q < 0) return undefined;
  let end = path.indexOf("#", q);
  if (end < 0) end = path.length;
  let start = q + 1;
  while (start <= end) {
    let amp = path.indexOf("&", start);
    if (amp < 0 || amp > end) amp = end;
    let eq = path.indexOf("=", start);
    if (eq < 0 || eq > amp) eq = amp;
    if (keyEquals(path, start, eq, name)) return eq === amp ? "" : decodePercent(path.slice(eq + 1, amp));
    start = amp + 1;
  }
  return undefined;
}

function keyEquals(text: string, start: number, end: number, name: string): boolean {
  if (end - start === name.length && text.startsWith(name, start)) return true;
  // A percent-encoded key (rare) is compared decoded.
  if (end - start > name.length && text.indexOf("%", start) >= 0 && text.indexOf("%", start) < end) {
    return decodePercent(text.slice(start, end)) === name;
  }
  return false;
}

function decodePercent(text: string): string {
  if (!text.includes("%")) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Value of cookie `name` in a Cookie header (`a=1; b="2"`), quotes removed; undefined when absent or empty. */
export function cookieValue(header: string, name: string): string | undefined {
  let start = 0;
  while (start < header.length) {
    let end = header.indexOf(";", start);
    if (end < 0) end = header.length;
    let k = start;
    while (k < end && (header.charCodeAt(k) === 0x20 || header.charCodeAt(k) === 0x09)) k++;
    if (header.startsWith(name, k) && header.charCodeAt(k + name.length) === 0x3d /* = */ && k + name.length < end) {
      let value = header.slice(k + name.length + 1, end).trim();
      if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value === "" ? undefined : value;
    }
    start = end + 1;
  }
  return undefined;
}
