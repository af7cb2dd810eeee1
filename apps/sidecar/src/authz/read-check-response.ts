// What an envoyExtAuthzGrpc provider's CheckResponse means for the request, as Envoy's ext_authz
// reads it (source/extensions/filters/common/ext_authz/ext_authz_grpc_impl.cc and the HTTP
// filter's onComplete): status code 0 allows, with ok_response's header changes for the upstream
// request (set unless `append`; an append joins an existing value with "," and is dropped when
// the header is absent; headers_to_remove last) and for the response; any other code denies with
// denied_response's HTTP status (403 when unset), headers and body. Pure.
import { HeaderAppendAction, type ExtAuthzCheckResponse, type HeaderValueOption } from "@meshwork/protocol";
import { externalAuthzDeniedFlag } from "@meshwork/proxy-core";
import { isTokenText } from "../http1/http-token.ts";
import { isRelayableHeader, maxRelayedBodyBytes, type ExternalCheckResult, type HeaderList } from "./check-external.ts";
import type { ExtAuthzGrpcProvider } from "./mesh-authz-config.ts";

const allowedAsIs: ExternalCheckResult = Object.freeze({ allowed: true, upstreamHeaders: [], upstreamHeadersToRemove: [], downstreamHeaders: [], downstreamHeadersToSet: [] });

/**
 * Reads `response` to the request whose headers (lower-case names, repeated ones joined with ",")
 * were `requestHeaders`. Headers the proxy cannot pass on are dropped: names that are not HTTP
 * tokens, values with CR, LF or NUL, pseudo-headers, Host and the framing and hop-by-hop headers.
 */
export function readCheckResponse(provider: ExtAuthzGrpcProvider, response: ExtAuthzCheckResponse, requestHeaders: Readonly<Record<string, string>>): ExternalCheckResult {
  const code = response.status?.code ?? 0;
  if (code === 0) {
    const ok = response.okResponse;
    if (ok === undefined) return allowedAsIs;
    // Envoy applies every set, then every append, then the removals.
    const set = new Map<string, string>();
    const appends: [string, string][] = [];
    for (const option of ok.headers) {
      const header = usableHeader(option);
      if (header === undefined) continue;
      if (option.append === true) appends.push(header);
      else set.set(header[0], header[1]);
    }
    for (const [name, value] of appends) {
      const existing = set.get(name) ?? requestHeaders[name];
      if (existing !== undefined) set.set(name, `${existing},${value}`);
    }
    const remove: string[] = [];
    for (const raw of ok.headersToRemove) {
      const name = raw.toLowerCase();
      // Envoy never removes pseudo-headers or Host (the request would be malformed).
      if (name === "" || name.charCodeAt(0) === 58 || name === "host" || remove.includes(name)) continue;
      set.delete(name);
      remove.push(name);
    }
    const add: [string, string][] = [];
    const overwrite: [string, string][] = [];
    for (const option of ok.responseHeadersToAdd) {
      const header = usableHeader(option);
      if (header === undefined) continue;
      if (option.append !== undefined) (option.append ? add : overwrite).push(header);
      else if (option.appendAction === HeaderAppendAction.OVERWRITE_IF_EXISTS_OR_ADD) overwrite.push(header);
      // The response is not there yet: "only if absent" is taken as add, "only if present" as
      // nothing, which is what they do to a response that lacks the header (the usual case).
      else if (option.appendAction !== HeaderAppendAction.OVERWRITE_IF_EXISTS) add.push(header);
    }
    return { allowed: true, upstreamHeaders: [...set], upstreamHeadersToRemove: remove, downstreamHeaders: add, downstreamHeadersToSet: overwrite };
  }
  const denied = response.deniedResponse;
  const wanted = denied?.status?.code ?? 0;
  // Envoy answers 403 unless the authorizer names a status; one that cannot be a final HTTP status is read as 403 too.
  const status = wanted >= 200 && wanted <= 599 ? wanted : 403;
  const headers: HeaderList = (denied?.headers ?? []).map(usableHeader).filter((h): h is [string, string] => h !== undefined);
  const body = Buffer.from(denied?.body ?? "", "utf8");
  return {
    allowed: false,
    status,
    headers,
    body: body.length > maxRelayedBodyBytes ? body.subarray(0, maxRelayedBodyBytes) : body,
    flag: externalAuthzDeniedFlag,
    failed: false,
    reason: `denied by ${provider.name} with ${status} (check status ${code}${response.status?.message ? ` ${response.status.message}` : ""})`,
  };
}

/** `[lowerName, value]` of a header the proxy may pass on; undefined for anything else. */
function usableHeader(option: HeaderValueOption): [string, string] | undefined {
  const header = option.header;
  if (header === undefined) return undefined;
  const name = header.key.toLowerCase();
  if (!isTokenText(name) || !isRelayableHeader(name) || /[\r\n\0]/.test(header.value)) return undefined;
  return [name, header.value];
}
