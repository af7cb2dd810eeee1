// productpage on a real socket in front of real details, reviews and ratings (and, where a test
// needs a peer to misbehave or to show what it received, a recording server): the page's
// markers for each reviews version, its failure messages, its retry and deadline on reviews,
// the JSON API, header forwarding and sign-in.
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

async function recording(answer: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const server = await startRecordingServer(answer);
  servers.push(server);
  return server;
}

/** The real four services; reviews at `version`. */
async function startMesh(version: "v1" | "v2" | "v3") {
  fixture = createFixture();
  const ratings = await fixture.start("ratings");
  const reviews = await fixture.start("reviews", { version, ratingsUrl: ratings.url, podName: `reviews-${version}-pod` });
  const details = await fixture.start("details");
  return fixture.start("productpage", { detailsUrl: details.url, reviewsUrl: reviews.url, ratingsUrl: ratings.url });
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe("the product page", () => {
  it("with reviews v1 shows the book, its details and reviews without stars", async () => {
    const productpage = await startMesh("v1");
    const page = await request(`${productpage.url}/productpage`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(page.text).toContain("<title>Simple Bookstore App</title>");
    expect(page.text).toContain("The Comedy of Errors");
    expect(page.text).toContain("Book Details");
    expect(page.text).toContain("<td class=\"whitespace-nowrap py-2 pl-4 pr-3 text-sm text-gray-500 sm:pl-0\">1234567890</td>");
    expect(page.text).toContain("PublisherA");
    expect(page.text).toContain("Book Reviews");
    expect(page.text).toContain("An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!");
    expect(page.text).toContain("Reviews served by: reviews-v1-pod");
    expect(page.text).not.toContain("glyphicon-star");
    expect(page.text).not.toContain("<font color=");
  });

  it.each([
    ["v2", "black"],
    ["v3", "red"],
  ] as const)("with reviews %s shows %s stars: 5 and 4 of 5", async (version, color) => {
    const productpage = await startMesh(version);
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(count(page, `<div class="flex gap-x-1 text-${color}-500"><font color="${color}">`)).toBe(2);
    expect(count(page, "glyphicon glyphicon-star ")).toBe(9);
    expect(count(page, "glyphicon glyphicon-star-empty")).toBe(1);
    const other = color === "black" ? "red" : "black";
    expect(page).not.toContain(`text-${other}-500"><font`);
  });

  it("with ratings down behind reviews v2 says the ratings service is unavailable", async () => {
    fixture = createFixture();
    const reviews = await fixture.start("reviews", { version: "v2", ratingsUrl: await closedUrl() });
    const details = await fixture.start("details");
    const productpage = await fixture.start("productpage", { detailsUrl: details.url, reviewsUrl: reviews.url });
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(count(page, "Ratings service is currently unavailable")).toBe(2);
    expect(page).toContain("Book Reviews");
    expect(page).not.toContain("glyphicon-star");
  });

  it("gives up on reviews that hang after two attempts with its deadline each, and apologises", async () => {
    fixture = createFixture();
    const reviews = await recording(() => undefined);
    const details = await fixture.start("details");
    const productpage = await fixture.start("productpage", { detailsUrl: details.url, reviewsUrl: reviews.url, upstreamTimeoutMs: 100 });
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(page).toContain("Error fetching product reviews");
    expect(page).toContain("Sorry, product reviews are currently unavailable for this book.");
    expect(page).toContain("Book Details");
    expect(reviews.requests).toHaveLength(2);
    const failures = fixture.logs.filter((l) => l["msg"] === "upstream call failed");
    expect(failures.map((l) => [l["attempt"], l["reason"]])).toEqual([
      [1, "timeout"],
      [2, "timeout"],
    ]);
  });

  it("retries reviews once after an error status and shows the second answer", async () => {
    fixture = createFixture();
    const realReviews = await fixture.start("reviews", { version: "v1" });
    let calls = 0;
    const reviews = await recording((req, res) => {
      calls += 1;
      if (calls === 1) return json(res, 503, { error: "upstream connect error" });
      void fetch(`${realReviews.url}${req.target}`).then(async (r) => json(res, r.status, await r.json()));
    });
    const productpage = await fixture.start("productpage", { detailsUrl: await closedUrl(), reviewsUrl: reviews.url });
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(reviews.requests).toHaveLength(2);
    expect(page).toContain("Book Reviews");
    expect(page).toContain("Error fetching product details");
    expect(page).toContain("Sorry, product details are currently unavailable for this book.");
  });
});

describe("the JSON API", () => {
  it("lists products and answers details, reviews and ratings of product 0", async () => {
    const productpage = await startMesh("v2");
    const products = JSON.parse((await request(`${productpage.url}/api/v1/products`)).text);
    expect(products).toEqual([{ id: 0, title: "The Comedy of Errors", descriptionHtml: expect.stringContaining("Wikipedia Summary") }]);
    expect(JSON.parse((await request(`${productpage.url}/api/v1/products/0`)).text)).toMatchObject({ id: 0, publisher: "PublisherA", "ISBN-10": "1234567890" });
    expect(JSON.parse((await request(`${productpage.url}/api/v1/products/0/reviews`)).text)).toMatchObject({ id: "0", reviews: [{ reviewer: "Reviewer1", rating: { stars: 5, color: "black" } }, { reviewer: "Reviewer2" }] });
    expect(JSON.parse((await request(`${productpage.url}/api/v1/products/0/ratings`)).text)).toEqual({ id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } });
    expect(await request(`${productpage.url}/health`)).toMatchObject({ status: 200, text: "Product page is healthy" });
  });

  it("passes on an upstream's error status with the apology, and 500 when there was no answer", async () => {
    fixture = createFixture();
    const details = await recording((_, res) => json(res, 503, { error: "no healthy upstream" }));
    const productpage = await fixture.start("productpage", { detailsUrl: details.url, ratingsUrl: await closedUrl() });
    expect(await request(`${productpage.url}/api/v1/products/0`)).toMatchObject({ status: 503, text: JSON.stringify({ error: "Sorry, product details are currently unavailable for this book." }) });
    expect(await request(`${productpage.url}/api/v1/products/0/ratings`)).toMatchObject({ status: 500, text: JSON.stringify({ error: "Sorry, product ratings are currently unavailable for this book." }) });
  });
});

describe("header forwarding and sign-in", () => {
  it("forwards the trace headers, user-agent and cookie to details and reviews, and drops others", async () => {
    fixture = createFixture();
    const echo = await recording((req, res) => json(res, 200, req.target.startsWith("/reviews") ? { id: "0", podname: "echo", clustername: "null", reviews: [] } : { id: 0 }));
    const productpage = await fixture.start("productpage", { detailsUrl: echo.url, reviewsUrl: echo.url });
    const sent = Object.fromEntries(FORWARDED_HEADERS.filter((name) => name !== "end-user").map((name) => [name, `value-of-${name}`]));
    await request(`${productpage.url}/productpage`, { headers: { ...sent, "x-not-forwarded": "secret" } });
    expect(echo.requests.map((r) => r.target)).toEqual(["/details/0", "/reviews/0"]);
    for (const recorded of echo.requests) {
      for (const name of Object.keys(sent)) expect(recorded.headers[name], `${recorded.target} ${name}`).toBe(`value-of-${name}`);
      expect(recorded.headers["x-not-forwarded"]).toBeUndefined();
    }
  });

  it("signs in with the login form: the session cookie makes end-user reach reviews, and through it ratings", async () => {
    fixture = createFixture();
    const ratings = await recording((_, res) => json(res, 200, { id: 0, ratings: { Reviewer1: 5, Reviewer2: 4 } }));
    const reviews = await fixture.start("reviews", { version: "v2", ratingsUrl: ratings.url });
    const details = await fixture.start("details");
    const productpage = await fixture.start("productpage", { detailsUrl: details.url, reviewsUrl: reviews.url });

    const login = await request(`${productpage.url}/login`, { method: "POST", body: new URLSearchParams({ username: "jason", passwd: "" }), headers: { referer: `${productpage.url}/productpage` } });
    expect(login.status).toBe(302);
    expect(login.headers.get("location")).toBe(`${productpage.url}/productpage`);
    const cookie = (login.headers.get("set-cookie") ?? "").split(";")[0] ?? "";
    expect(cookie).toMatch(/^session=/);

    const page = (await request(`${productpage.url}/productpage`, { headers: { cookie } })).text;
    expect(page).toContain('<p class="text-base font-medium text-gray-50" id="user">jason</p>');
    expect(page).toContain("Sign out");
    expect(ratings.requests[0]?.headers["end-user"]).toBe("jason");
    expect(ratings.requests[0]?.headers["cookie"]).toBe(cookie);
  });

  it("does not let a client claim a user: an incoming end-user header or a forged cookie is not forwarded", async () => {
    fixture = createFixture();
    const echo = await recording((_, res) => json(res, 200, { id: "0", podname: "echo", clustername: "null", reviews: [] }));
    const productpage = await fixture.start("productpage", { detailsUrl: await closedUrl(), reviewsUrl: echo.url });
    const forged = `session=${Buffer.from(JSON.stringify({ user: "jason" })).toString("base64url")}.AAAA`;
    const page = (await request(`${productpage.url}/productpage`, { headers: { "end-user": "jason", cookie: forged } })).text;
    expect(echo.requests[0]?.headers["end-user"]).toBeUndefined();
    expect(page).toContain("Sign in");
  });

  it("signs out, clearing the cookie, and refuses a login without a username", async () => {
    const productpage = await startMesh("v1");
    const logout = await request(`${productpage.url}/logout`);
    expect(logout.status).toBe(302);
    expect(logout.headers.get("location")).toBe("/productpage");
    expect(logout.headers.get("set-cookie")).toContain("Max-Age=0");
    const bad = await request(`${productpage.url}/login`, { method: "POST", body: new URLSearchParams({ passwd: "x" }) });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain("username");
  });

  it("serves the index page with links to the product page", async () => {
    const productpage = await startMesh("v1");
    const index = (await request(`${productpage.url}/`)).text;
    expect(index).toContain("<title>Simple Bookstore App</title>");
    expect(index).toContain('href="productpage?u=normal"');
  });
});
