// Turns bookinfo's settings into the configuration of one service: where it listens, which
// upstreams it calls and how, and its deadlines. Pure; problems come back as messages naming
// the flag and the fix.
import type { ReviewsVersion } from "./build-reviews.ts";
import { resolveUpstreamTarget, type UpstreamService, type UpstreamTarget, type UpstreamTargetOptions } from "./upstream-target.ts";

export const SERVICE_NAMES = ["productpage", "details", "reviews", "ratings"] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

interface Listening {
  readonly version: ReviewsVersion;
  readonly port: number;
  readonly bind: string;
}

export type ServiceConfig =
  | (Listening & {
      readonly service: "productpage";
      readonly upstreams: { readonly details: UpstreamTarget; readonly reviews: UpstreamTarget; readonly ratings: UpstreamTarget };
      readonly timeoutMs: number;
      readonly sessionSecret: string;
    })
  | (Listening & { readonly service: "reviews"; readonly podName: string; readonly ratings: UpstreamTarget; readonly ratingsTimeoutMs: number })
  | (Listening & { readonly service: "details" | "ratings" });

/** The settings planService reads (BookinfoSettings fits). */
export interface PlanInput {
  readonly version: ReviewsVersion;
  readonly port: number;
  readonly bind: string;
  readonly outboundProxy: string | undefined;
  readonly outboundStyle: "absolute" | "host";
  readonly servicesDomain: string | undefined;
  readonly detailsUrl: string | undefined;
  readonly reviewsUrl: string | undefined;
  readonly ratingsUrl: string | undefined;
  readonly upstreamTimeoutMs: number | undefined;
  readonly podName: string | undefined;
  readonly sessionSecret: string;
}

export type PlanResult = { readonly ok: true; readonly config: ServiceConfig } | { readonly ok: false; readonly message: string };

/** Istio's productpage gives each call 3 s. */
export const PRODUCTPAGE_TIMEOUT_MS = 3000;

/** Istio's reviews gives ratings 10 s with black stars (v2) and 2.5 s with red stars (v3). */
export function defaultRatingsTimeoutMs(version: ReviewsVersion): number {
  return version === "v3" ? 2500 : 10_000;
}

/** `defaultPodName` is used for reviews when --pod-name is not set. */
export function planService(service: ServiceName, input: PlanInput, defaultPodName: string): PlanResult {
  if (!(input.port >= 0 && input.port <= 65535)) return { ok: false, message: `invalid value "${input.port}" for --port: expected a port from 0 to 65535` };
  if (input.upstreamTimeoutMs !== undefined && input.upstreamTimeoutMs <= 0) {
    return { ok: false, message: `invalid value "${input.upstreamTimeoutMs}" for --upstream-timeout-ms: expected a positive number of milliseconds` };
  }
  const listening: Listening = { version: input.version, port: input.port, bind: input.bind };
  const target = (name: UpstreamService, directUrl: string | undefined) => resolveUpstreamTarget(name, targetOptions(input, directUrl));
  switch (service) {
    case "details":
    case "ratings":
      return { ok: true, config: { ...listening, service } };
    case "reviews": {
      const ratings = target("ratings", input.ratingsUrl);
      if (!ratings.ok) return ratings;
      return {
        ok: true,
        config: { ...listening, service, podName: input.podName ?? defaultPodName, ratings: ratings.target, ratingsTimeoutMs: input.upstreamTimeoutMs ?? defaultRatingsTimeoutMs(input.version) },
      };
    }
    case "productpage": {
      const details = target("details", input.detailsUrl);
      if (!details.ok) return details;
      const reviews = target("reviews", input.reviewsUrl);
      if (!reviews.ok) return reviews;
      const ratings = target("ratings", input.ratingsUrl);
      if (!ratings.ok) return ratings;
      return {
        ok: true,
        config: {
          ...listening,
          service,
          upstreams: { details: details.target, reviews: reviews.target, ratings: ratings.target },
          timeoutMs: input.upstreamTimeoutMs ?? PRODUCTPAGE_TIMEOUT_MS,
          sessionSecret: input.sessionSecret,
        },
      };
    }
  }
}

function targetOptions(input: PlanInput, directUrl: string | undefined): UpstreamTargetOptions {
  return { directUrl, proxyUrl: input.outboundProxy, style: input.outboundStyle, servicesDomain: input.servicesDomain };
}

/** The first argument: one service, or `all` (the four wired directly, for a run without a mesh). */
export type ServiceChoice = { readonly ok: true; readonly services: "all" | ServiceName } | { readonly ok: false; readonly message: string };

export function chooseService(positionals: readonly string[]): ServiceChoice {
  const expected = `expected one of ${SERVICE_NAMES.join(", ")}, all`;
  const [first, ...rest] = positionals;
  if (first === undefined) return { ok: false, message: `missing service: ${expected} (bookinfo reviews --version v2 --port 9080)` };
  if (rest.length > 0) return { ok: false, message: `unexpected argument "${rest[0] ?? ""}": give one service (${expected})` };
  if (first === "all") return { ok: true, services: "all" };
  const service = SERVICE_NAMES.find((name) => name === first);
  return service === undefined ? { ok: false, message: `unknown service "${first}": ${expected}` } : { ok: true, services: service };
}
