// The request headers every bookinfo service copies from the request it serves onto the calls it
// makes, so that the sidecars can join the spans into one trace and route on `end-user`
// (Istio's list, kept in sync with productpage.py and reviews' LibertyRestEndpoint.java).

/** Header names as node:http gives them (lower case), in Istio's order. */
export const FORWARDED_HEADERS = [
  // Every application should propagate x-request-id: access logs and consistent sampling use it.
  "x-request-id",
  // Lightstep.
  "x-ot-span-context",
  // Datadog.
  "x-datadog-trace-id",
  "x-datadog-parent-id",
  "x-datadog-sampling-priority",
  // W3C Trace Context.
  "traceparent",
  "tracestate",
  // Google Cloud Trace and gRPC's binary context.
  "x-cloud-trace-context",
  "grpc-trace-bin",
  // Zipkin B3, single header and multi header.
  "b3",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "x-b3-flags",
  // SkyWalking.
  "sw8",
  // Application-specific: the signed-in user (routing rules match it) and the client.
  "end-user",
  "user-agent",
  // Context and session.
  "cookie",
  "authorization",
  "jwt",
] as const;

/** Incoming headers as node:http's IncomingHttpHeaders holds them. */
export type IncomingHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

/**
 * Where the outgoing `end-user` comes from. Reviews forwards the incoming header. Productpage, as
 * Istio's does, sets it from its own session only (a client cannot claim a user by sending it).
 */
export type EndUserSource = { readonly type: "header" } | { readonly type: "session"; readonly user: string | undefined };

/** The subset of `incoming` in FORWARDED_HEADERS, values joined with ", " when repeated. */
export function pickForwardHeaders(incoming: IncomingHeaders, endUser: EndUserSource): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = incoming[name];
    if (value === undefined) continue;
    picked[name] = typeof value === "string" ? value : value.join(name === "cookie" ? "; " : ", ");
  }
  if (endUser.type === "session") {
    delete picked["end-user"];
    if (endUser.user !== undefined && endUser.user !== "") picked["end-user"] = endUser.user;
  }
  return picked;
}
