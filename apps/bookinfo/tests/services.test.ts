// Each backend service on a real socket: details, ratings and reviews v1/v2/v3 answer what
// Istio's details.rb, ratings.js and LibertyRestEndpoint.java answer, and reviews forwards the
// trace headers and end-user to ratings.
import { afterEach, describe, expect, it } from "vitest";
import { FORWARDED_HEADERS } from "../src/core/forward-headers.ts";
import { closedUrl, json, startRecordingServer, type RecordingServer } from "./support/recording-server.ts";
import { createFixture, request, type Fixture } from "./support/bookinfo-fixture.ts";

let fixture: Fixture;
const servers: RecordingServer[] = [];
afterEach(async () => {
  await fixture.close();
  for (const s of servers.splice(0)) await s.close();
});
const setup = () => (fixture = createFixture());

describe("details", () => {
  it("answers the book's details for a numeric id", async () => {
    const details = await setup().start("details");
    const res = await request(`${details.url}/details/0`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(JSON.parse(res.text)).toEqual({ id: 0, author: "William Shakespeare", year: 1595, type: "paperback", pages: 200, publisher: "PublisherA", language: "English", "ISBN-10": "1234567890", "ISBN-13": "123-1234567890" });
  });

  it("refuses a non-numeric id with 400", async () => {
    const details = await setup().start("details");
    const res = await request(`${details.url}/details/abc`);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.text)).toEqual({ error: "please provide numeric product id" });
  });

  it("serves /health, /healthz and /readyz, and 404 elsewhere", async () => {
    const details = await setup().start("details");
    expect(JSON.parse((await request(`${details.url}/health`)).text)).toEqual({ status: "Details is healthy" });
    expect((await request(`${details.url}/healthz`)).status).toBe(200);
    expect((await request(`${details.url}/readyz`)).status).toBe(200);
    expect((await request(`${details.url}/nope`)).status).toBe(404);
  });

  it("counts answered requests by status code on /metrics", async () => {
    const details = await setup().start("details");
    await request(`${details.url}/details/0`);
    await request(`${details.url}/details/x`);
    await request(`${details.url}/details/1`);
    const metrics = await request(`${details.url}/metrics`);
    expect(metrics.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    expect(metrics.text).toContain('bookinfo_requests_total{service="details",code="200"} 2\n');
    expect(metrics.text).toContain('bookinfo_requests_total{service="details",code="400"} 1\n');
    expect(metrics.text).toMatch(/^process_resident_memory_bytes \d+$/m);
  });

  it("reports not ready once stopping", async () => {
    const details = await setup().start("details");
    details.markStopping();
    expect((await request(`${details.url}/readyz`)).status).toBe(503);
    expect((await request(`${details.url}/healthz`)).status).toBe(200);
  });
});

describe("ratings", () => {
  it("answers the default ratings, and ratings posted for a product", async () => {
    const ratings = await setup().start("ratings");
    expect(JSON.parse((await request(`${ratings.url}/ratings/0`)).text)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    const posted = await request(`${ratings.url}/ratings/7`, { method: "POST", body: JSON.stringify({ Reviewer1: 1, Reviewer2: 2 }) });
    expect(JSON.parse(posted.text)).toEqual({ id: 7, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    expect(JSON.parse((await request(`${ratings.url}/ratings/7`)).text)).toEqual({ id: 7, ratings: { Reviewer1: 1, Reviewer2: 2 } });
    expect(JSON.parse((await request(`${ratings.url}/ratings/0`)).text)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
  });

  it("refuses a non-numeric id and invalid ratings JSON with 400", async () => {
    const ratings = await setup().start("ratings");
    expect(await request(`${ratings.url}/ratings/x`)).toMatchObject({ status: 400, text: JSON.stringify({ error: "please provide numeric product ID" }) });
    expect(await request(`${ratings.url}/ratings/0`, { method: "POST", body: "{not json" })).toMatchObject({ status: 400, text: JSON.stringify({ error: "please provide valid ratings JSON" }) });
    expect(JSON.parse((await request(`${ratings.url}/health`)).text)).toEqual({ status: "Ratings is healthy" });
  });
});

describe("reviews", () => {
  it("v1 answers both reviews without ratings and does not call ratings", async () => {
    const ratings = await startRecordingServer((_, res) => json(res, 200, { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } }));
    servers.push(ratings);
    const reviews = await setup().start("reviews", { version: "v1", ratingsUrl: ratings.url, podName: "reviews-v1-abc" });
    const body = JSON.parse((await request(`${reviews.url}/reviews/0`)).text);
    expect(body).toEqual({
      id: "0",
      podname: "reviews-v1-abc",
      clustername: "null",
      reviews: [
        { reviewer: "Reviewer1", text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!" },
        { reviewer: "Reviewer2", text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare." },
      ],
    });
    expect(ratings.requests).toHaveLength(0);
  });

  it.each([
    ["v2", "black"],
    ["v3", "red"],
  ] as const)("%s shows the ratings service's stars in %s", async (version, color) => {
    const f = setup();
    const ratings = await f.start("ratings");
    const reviews = await f.start("reviews", { version, ratingsUrl: ratings.url });
    const body = JSON.parse((await request(`${reviews.url}/reviews/0`)).text);
    expect(body.reviews.map((r: { rating: unknown }) => r.rating)).toEqual([
      { stars: 5, color },
      { stars: 4, color },
    ]);
  });

  it("v2 with ratings down says the ratings service is unavailable", async () => {
    const reviews = await setup().start("reviews", { version: "v2", ratingsUrl: await closedUrl() });
    const res = await request(`${reviews.url}/reviews/0`);
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text).reviews.map((r: { rating: unknown }) => r.rating)).toEqual([
      { error: "Ratings service is currently unavailable" },
      { error: "Ratings service is currently unavailable" },
    ]);
    expect(fixture.logs.some((l) => l["msg"] === "ratings unavailable" && l["reason"] === "error")).toBe(true);
  });

  it("v3 with ratings answering 503 (an injected abort) says the ratings service is unavailable", async () => {
    const ratings = await startRecordingServer((_, res) => json(res, 503, { error: "fault filter abort" }));
    servers.push(ratings);
    const reviews = await setup().start("reviews", { version: "v3", ratingsUrl: ratings.url });
    const body = JSON.parse((await request(`${reviews.url}/reviews/0`)).text);
    expect(body.reviews[0].rating).toEqual({ error: "Ratings service is currently unavailable" });
  });

  it("v3 gives up on a ratings service that does not answer within its deadline", async () => {
    const ratings = await startRecordingServer(() => undefined);
    servers.push(ratings);
    const reviews = await setup().start("reviews", { version: "v3", ratingsUrl: ratings.url, upstreamTimeoutMs: 100 });
    const body = JSON.parse((await request(`${reviews.url}/reviews/0`)).text);
    expect(body.reviews[1].rating).toEqual({ error: "Ratings service is currently unavailable" });
    expect(fixture.logs.some((l) => l["msg"] === "ratings unavailable" && l["reason"] === "timeout")).toBe(true);
  });

  it("forwards every trace header and end-user to ratings, and nothing else", async () => {
    const ratings = await startRecordingServer((_, res) => json(res, 200, { id: 0, ratings: { Reviewer1: 1, Reviewer2: 2 } }));
    servers.push(ratings);
    const reviews = await setup().start("reviews", { version: "v2", ratingsUrl: ratings.url });
    const sent = Object.fromEntries(FORWARDED_HEADERS.map((name) => [name, `value-of-${name}`]));
    await request(`${reviews.url}/reviews/0`, { headers: { ...sent, "x-not-forwarded": "secret" } });
    const got = ratings.requests[0]?.headers ?? {};
    for (const name of FORWARDED_HEADERS) expect(got[name], name).toBe(`value-of-${name}`);
    expect(got["x-not-forwarded"]).toBeUndefined();
    expect(ratings.requests[0]?.target).toBe("/ratings/0");
  });

  it("answers 404 for a non-numeric product id and serves /health", async () => {
    const reviews = await setup().start("reviews", { version: "v1" });
    expect((await request(`${reviews.url}/reviews/abc`)).status).toBe(404);
    expect(JSON.parse((await request(`${reviews.url}/health`)).text)).toEqual({ status: "Reviews is healthy" });
  });
});
