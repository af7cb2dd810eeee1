// What reviews answers for a product, by version: v1 without ratings, v2 with black stars, v3 with
// red stars, and the "Ratings service is currently unavailable" error when ratings failed.
import { REVIEWS, type Ratings } from "./books.ts";

export type ReviewsVersion = "v1" | "v2" | "v3";

export type ReviewRating = { readonly stars: number; readonly color: "black" | "red" } | { readonly error: string };

export interface Review {
  readonly reviewer: string;
  readonly text: string;
  /** Absent in v1, which does not call ratings. */
  readonly rating?: ReviewRating;
}

/** The JSON body of `GET /reviews/{id}`, shaped as Istio's reviews service answers. */
export interface ReviewsBody {
  readonly id: string;
  readonly podname: string;
  /** "null" outside multi-cluster, as in Istio (the page then omits "on cluster"). */
  readonly clustername: string;
  readonly reviews: readonly Review[];
}

/** What the call to ratings gave: its ratings, or nothing usable (error status, timeout, refused). */
export type RatingsOutcome = { readonly ok: true; readonly ratings: Ratings } | { readonly ok: false };

export const RATINGS_UNAVAILABLE = "Ratings service is currently unavailable";

/** Whether this version calls ratings at all. */
export function callsRatings(version: ReviewsVersion): boolean {
  return version !== "v1";
}

/** The star colour of a version that shows ratings: v2 black, v3 red. */
export function starColor(version: "v2" | "v3"): "black" | "red" {
  return version === "v2" ? "black" : "red";
}

/**
 * Builds the reviews of `productId`. For v2/v3 a reviewer missing from the ratings gets the error,
 * as Istio's reviews does (it starts each reviewer at -1 stars). `ratings` is ignored for v1.
 */
export function buildReviews(productId: number, options: { readonly version: ReviewsVersion; readonly ratings: RatingsOutcome; readonly podName: string; readonly clusterName?: string }): ReviewsBody {
  const { version, ratings } = options;
  return {
    id: String(productId),
    podname: options.podName,
    clustername: options.clusterName ?? "null",
    reviews: REVIEWS.map((review) => {
      if (version === "v1") return { ...review };
      const stars = ratings.ok ? ratings.ratings[review.reviewer] : undefined;
      const rating: ReviewRating = stars === undefined ? { error: RATINGS_UNAVAILABLE } : { stars, color: starColor(version) };
      return { ...review, rating };
    }),
  };
}

/**
 * Reads a ratings response body (`{"id":0,"ratings":{"Reviewer1":5,...}}`); anything else is not
 * usable. Stars are clamped to 0..5 integers so the page can draw them.
 */
export function parseRatingsBody(body: unknown): RatingsOutcome {
  if (typeof body !== "object" || body === null) return { ok: false };
  const ratings = (body as { ratings?: unknown }).ratings;
  if (typeof ratings !== "object" || ratings === null) return { ok: false };
  const parsed: Record<string, number> = {};
  for (const [reviewer, stars] of Object.entries(ratings)) {
    if (typeof stars === "number" && Number.isFinite(stars)) parsed[reviewer] = Math.min(5, Math.max(0, Math.round(stars)));
  }
  return { ok: true, ratings: parsed };
}
