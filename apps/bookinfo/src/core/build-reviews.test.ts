import { describe, expect, it } from "vitest";
import { buildReviews, parseRatingsBody, RATINGS_UNAVAILABLE } from "./build-reviews.ts";

const ratings = { ok: true, ratings: { Reviewer1: 5, Reviewer2: 4 } } as const;

describe("buildReviews", () => {
  it("v1 has no ratings whatever ratings said", () => {
    const body = buildReviews(0, { version: "v1", ratings, podName: "p" });
    expect(body.reviews.map((r) => r.rating)).toEqual([undefined, undefined]);
    expect(body).toMatchObject({ id: "0", podname: "p", clustername: "null" });
  });

  it("v2 colours stars black and v3 red", () => {
    expect(buildReviews(0, { version: "v2", ratings, podName: "p" }).reviews.map((r) => r.rating)).toEqual([{ stars: 5, color: "black" }, { stars: 4, color: "black" }]);
    expect(buildReviews(0, { version: "v3", ratings, podName: "p" }).reviews.map((r) => r.rating)).toEqual([{ stars: 5, color: "red" }, { stars: 4, color: "red" }]);
  });

  it("shows the unavailable error when ratings failed or left a reviewer out", () => {
    expect(buildReviews(0, { version: "v2", ratings: { ok: false }, podName: "p" }).reviews.map((r) => r.rating)).toEqual([{ error: RATINGS_UNAVAILABLE }, { error: RATINGS_UNAVAILABLE }]);
    expect(buildReviews(0, { version: "v3", ratings: { ok: true, ratings: { Reviewer2: 1 } }, podName: "p" }).reviews.map((r) => r.rating)).toEqual([{ error: RATINGS_UNAVAILABLE }, { stars: 1, color: "red" }]);
  });
});

describe("parseRatingsBody", () => {
  it("reads ratings and clamps stars to whole numbers from 0 to 5", () => {
    expect(parseRatingsBody({ id: 0, ratings: { Reviewer1: 9, Reviewer2: 2.6, Reviewer3: "x" } })).toEqual({ ok: true, ratings: { Reviewer1: 5, Reviewer2: 3 } });
  });

  it("refuses a body without ratings", () => {
    expect(parseRatingsBody({ error: "Service unavailable" })).toEqual({ ok: false });
    expect(parseRatingsBody(null)).toEqual({ ok: false });
  });
});
