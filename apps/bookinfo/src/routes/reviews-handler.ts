// The reviews service (Istio's LibertyRestEndpoint.java): `GET /reviews/{id}` answers the two
// reviews; v2 and v3 first ask ratings (forwarding the trace headers and end-user) with a
// deadline of 10 s (v2) or 2.5 s (v3), and show "Ratings service is currently unavailable"
// when that call fails. `GET /health`.
import type { Logger } from "@meshwork/telemetry";
import { buildReviews, callsRatings, parseRatingsBody, type RatingsOutcome, type ReviewsVersion } from "../core/build-reviews.ts";
import { pickForwardHeaders } from "../core/forward-headers.ts";
import { describeUpstreamTarget, type UpstreamTarget } from "../core/upstream-target.ts";
import { sendJson } from "../adapters/http-reply.ts";
import type { RequestHandler } from "../adapters/serve-http.ts";
import type { UpstreamClient } from "../adapters/upstream-client.ts";
import { pathOf } from "./path-of.ts";

export interface ReviewsOptions {
  readonly version: ReviewsVersion;
  /** What `podname` says ("Reviews served by: ..."). */
  readonly podName: string;
  readonly ratings: UpstreamTarget;
  readonly ratingsTimeoutMs: number;
  readonly client: UpstreamClient;
  readonly logger: Logger;
}

export function reviewsHandler(options: ReviewsOptions): RequestHandler {
  const { version, logger } = options;
  return async (req, res) => {
    const path = pathOf(req.url);
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "Reviews is healthy" });
    const match = req.method === "GET" ? /^\/reviews\/(-?\d+)$/.exec(path) : null;
    if (match === null) return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
    const productId = Number(match[1]);
    let ratings: RatingsOutcome = { ok: false };
    if (callsRatings(version)) {
      const result = await options.client.call(options.ratings, {
        path: `/ratings/${productId}`,
        headers: { ...pickForwardHeaders(req.headers, { type: "header" }), accept: "application/json" },
        timeoutMs: options.ratingsTimeoutMs,
      });
      if (result.type === "response" && result.status === 200) {
        ratings = parseJson(result.body);
        if (!ratings.ok) logger.warn("unreadable answer from ratings", { upstream: describeUpstreamTarget(options.ratings) });
      } else {
        logger.warn("ratings unavailable", {
          upstream: describeUpstreamTarget(options.ratings),
          ...(result.type === "response" ? { status: result.status } : { reason: result.reason, error: result.message }),
        });
      }
    }
    return sendJson(res, 200, buildReviews(productId, { version, ratings, podName: options.podName }));
  };
}

function parseJson(text: string): RatingsOutcome {
  try {
    return parseRatingsBody(JSON.parse(text));
  } catch {
    return { ok: false };
  }
}
