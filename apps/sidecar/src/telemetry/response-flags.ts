// Envoy's response flags (the `%RESPONSE_FLAGS%` access-log field and Istio's `response_flags`
// label): one table of short and long names, carried through the data path as a bit set so
// that setting and testing a flag is an integer operation and formatting is cached.

/**
 * One row per flag, in Envoy's order (`StreamInfo::CoreResponseFlag`), which is also the order
 * in which a set of flags is formatted (`UH,URX`). The bit of row i is `1 << i`.
 * Source: Envoy docs, access log usage, "%RESPONSE_FLAGS%".
 */
export const RESPONSE_FLAG_TABLE = [
  { short: "LH", long: "FailedLocalHealthCheck", meaning: "local service failed its health check" },
  { short: "UH", long: "NoHealthyUpstream", meaning: "no healthy upstream host in the cluster" },
  { short: "UT", long: "UpstreamRequestTimeout", meaning: "upstream request timeout" },
  { short: "LR", long: "LocalReset", meaning: "connection local reset" },
  { short: "UR", long: "UpstreamRemoteReset", meaning: "upstream remote reset" },
  { short: "UF", long: "UpstreamConnectionFailure", meaning: "upstream connection failure" },
  { short: "UC", long: "UpstreamConnectionTermination", meaning: "upstream connection termination" },
  { short: "UO", long: "UpstreamOverflow", meaning: "upstream overflow (circuit breaking)" },
  { short: "NR", long: "NoRouteFound", meaning: "no route configured, or no matching filter chain" },
  { short: "DI", long: "DelayInjected", meaning: "request delayed by fault injection" },
  { short: "FI", long: "FaultInjected", meaning: "request aborted by fault injection" },
  { short: "RL", long: "RateLimited", meaning: "request rate-limited locally" },
  { short: "UAEX", long: "UnauthorizedExternalService", meaning: "denied by the external authorization service" },
  { short: "RLSE", long: "RateLimitServiceError", meaning: "rate limit service error, request rejected" },
  { short: "DC", long: "DownstreamConnectionTermination", meaning: "downstream connection termination" },
  { short: "URX", long: "UpstreamRetryLimitExceeded", meaning: "upstream retry limit (or connect attempts) exceeded" },
  { short: "SI", long: "StreamIdleTimeout", meaning: "stream idle timeout" },
  { short: "IH", long: "InvalidEnvoyRequestHeaders", meaning: "invalid value in a proxy-owned request header" },
  { short: "DPE", long: "DownstreamProtocolError", meaning: "downstream request had an HTTP protocol error" },
  { short: "UMSDR", long: "UpstreamMaxStreamDurationReached", meaning: "upstream request reached max stream duration" },
  { short: "RFCF", long: "ResponseFromCacheFilter", meaning: "response served from the cache" },
  { short: "NFCF", long: "NoFilterConfigFound", meaning: "no filter config found" },
  { short: "DT", long: "DurationTimeout", meaning: "max connection or request duration reached" },
  { short: "UPE", long: "UpstreamProtocolError", meaning: "upstream response had an HTTP protocol error" },
  { short: "NC", long: "NoClusterFound", meaning: "upstream cluster not found" },
  { short: "OM", long: "OverloadManagerTerminated", meaning: "request shed by the overload manager" },
  { short: "DF", long: "DnsResolutionFailed", meaning: "DNS resolution failed" },
  { short: "DO", long: "DropOverload", meaning: "request dropped by drop-overload (load shedding)" },
  { short: "DR", long: "DownstreamRemoteReset", meaning: "downstream remote reset" },
] as const;

export type ResponseFlagShort = (typeof RESPONSE_FLAG_TABLE)[number]["short"];

/** A set of response flags: an OR of `RESPONSE_FLAGS.*` bits; 0 is "no flag" (formatted `-`). */
export type ResponseFlagSet = number;

function bitsByShortName(): Record<ResponseFlagShort, number> {
  const bits = {} as Record<ResponseFlagShort, number>;
  RESPONSE_FLAG_TABLE.forEach((row, i) => {
    bits[row.short] = 1 << i;
  });
  return bits;
}

/** The bit of each flag by its short name: `flags |= RESPONSE_FLAGS.UH`. */
export const RESPONSE_FLAGS: Readonly<Record<ResponseFlagShort, number>> = Object.freeze(bitsByShortName());

/** Every defined bit; a set with other bits is a programming error. */
export const ALL_RESPONSE_FLAGS: number = (1 << RESPONSE_FLAG_TABLE.length) - 1;

const formatted = new Map<number, string>([[0, "-"]]);

/**
 * Formats a flag set as Envoy does: short names in table order joined by `,`, or `-` for none.
 * The string of each distinct set is built once and cached, so the steady state allocates nothing.
 */
export function formatResponseFlags(flags: ResponseFlagSet): string {
  const cached = formatted.get(flags);
  if (cached !== undefined) return cached;
  if ((flags & ~ALL_RESPONSE_FLAGS) !== 0 || flags < 0 || !Number.isInteger(flags)) {
    throw new RangeError(`formatResponseFlags: ${flags} has bits that are not response flags; build sets from RESPONSE_FLAGS`);
  }
  const names: string[] = [];
  RESPONSE_FLAG_TABLE.forEach((row, i) => {
    if ((flags & (1 << i)) !== 0) names.push(row.short);
  });
  const text = names.join(",");
  formatted.set(flags, text);
  return text;
}

/**
 * Parses Envoy's formatted flags (`UH,URX` or `-`) back into a set; unknown names are an error
 * value, not an exception, since this reads external input (admin queries, tests).
 */
export function parseResponseFlags(text: string): { ok: true; flags: ResponseFlagSet } | { ok: false; unknown: string } {
  if (text === "-" || text === "") return { ok: true, flags: 0 };
  let flags = 0;
  for (const name of text.split(",")) {
    const bit = (RESPONSE_FLAGS as Record<string, number>)[name];
    if (bit === undefined) return { ok: false, unknown: name };
    flags |= bit;
  }
  return { ok: true, flags };
}

/** The long name of one flag (`UH` → `NoHealthyUpstream`), as Envoy's long-form formatter prints it. */
export function responseFlagLongName(short: ResponseFlagShort): string {
  const row = RESPONSE_FLAG_TABLE.find((r) => r.short === short);
  // Every ResponseFlagShort is in the table by construction of the type.
  return row === undefined ? short : row.long;
}
