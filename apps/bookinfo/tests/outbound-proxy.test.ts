// With --outbound-proxy, services call each other by name through the sidecar's outbound
// listener, as Istio's sample does (http://reviews:9080/reviews/0): absolute-form request
// targets (explicit proxy, HTTP_PROXY style) or origin-form with the service as Host. The
// listener here is a recording server that answers as the named service would; it checks what
// arrives on the wire, not the sidecar's routing (e2e/ does that against the real sidecar).
import { afterEach, describe, expect, it } from "vitest";
import { json, startRecordingServer, type RecordingServer } from "./support/recording-server.ts";
import { createFixture, request, type Fixture } from "./support/bookinfo-fixture.ts";

let fixture: Fixture;
let proxy: RecordingServer;
afterEach(async () => {
  await fixture.close();
  await proxy.close();
});

/** Answers by the service the request names, however it names it. */
async function startListener(): Promise<RecordingServer> {
  return startRecordingServer((req, res) => {
    const path = req.target.startsWith("/") ? req.target : new URL(req.target).pathname;
    if (path.startsWith("/details/")) return json(res, 200, { id: 0, publisher: "ViaProxy", "ISBN-10": "x", pages: 1, type: "t", language: "l" });
    if (path.startsWith("/reviews/")) return json(res, 200, { id: "0", podname: "via-proxy", clustername: "null", reviews: [{ reviewer: "R", text: "t", rating: { stars: 3, color: "red" } }] });
    if (path.startsWith("/ratings/")) return json(res, 200, { id: 0, ratings: { Reviewer1: 2, Reviewer2: 1 } });
    return json(res, 404, {});
  });
}

describe("calls through the sidecar's outbound listener", () => {
  it("send absolute-form targets naming each service, with the service as Host", async () => {
    proxy = await startListener();
    fixture = createFixture();
    const productpage = await fixture.start("productpage", { outboundProxy: proxy.url });
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(page).toContain("ViaProxy");
    expect(page).toContain("Reviews served by: via-proxy");
    expect(proxy.requests.map((r) => [r.target, r.headers.host])).toEqual([
      ["http://details:9080/details/0", "details:9080"],
      ["http://reviews:9080/reviews/0", "reviews:9080"],
    ]);
  });

  it("send origin-form targets with the service as Host in host style, with the services domain", async () => {
    proxy = await startListener();
    fixture = createFixture();
    const reviews = await fixture.start("reviews", { version: "v2", outboundProxy: proxy.url, outboundStyle: "host", servicesDomain: "default.svc.cluster.local" });
    const body = JSON.parse((await request(`${reviews.url}/reviews/0`)).text);
    expect(body.reviews[0].rating).toEqual({ stars: 2, color: "black" });
    expect(proxy.requests.map((r) => [r.target, r.headers.host])).toEqual([["/ratings/0", "ratings.default.svc.cluster.local:9080"]]);
  });

  it("let a direct URL bypass the proxy for that service only", async () => {
    proxy = await startListener();
    fixture = createFixture();
    const details = await fixture.start("details");
    const productpage = await fixture.start("productpage", { outboundProxy: proxy.url, detailsUrl: details.url });
    const page = (await request(`${productpage.url}/productpage`)).text;
    expect(page).toContain("PublisherA");
    expect(proxy.requests.map((r) => r.target)).toEqual(["http://reviews:9080/reviews/0"]);
  });
});
