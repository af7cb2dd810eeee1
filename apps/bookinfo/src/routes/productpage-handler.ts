// The productpage service (Istio's productpage.py): the HTML page, sign-in/out, and the JSON API
// over details, reviews and ratings. Its calls forward the trace headers, the cookie and, from
// the session, `end-user`. Each call has a 3 s deadline, and reviews gets a second attempt (the
// sample's deliberate "bug" that Istio's fault-injection task shows: 2 × 3 s ≈ 6 s).
import type { Logger } from "@meshwork/telemetry";
import { PRODUCTS, type BookDetails } from "../core/books.ts";
import type { ReviewsBody } from "../core/build-reviews.ts";
import { fetchedBody, fetchedStatus, type Fetched } from "../core/fetched.ts";
import { pickForwardHeaders } from "../core/forward-headers.ts";
import { renderIndexPage } from "../core/render-index-page.ts";
import { renderProductPage } from "../core/render-product-page.ts";
import { describeUpstreamTarget, type UpstreamTarget } from "../core/upstream-target.ts";
import type { UpstreamClient } from "../adapters/upstream-client.ts";
import { readBody, sendHtml, sendJson, sendRedirect, sendText } from "../adapters/http-reply.ts";
import type { RequestHandler } from "../adapters/serve-http.ts";
import type { SessionCodec } from "../adapters/session-cookie.ts";
import { pathOf } from "./path-of.ts";

export interface ProductpageOptions {
  readonly upstreams: { readonly details: UpstreamTarget; readonly reviews: UpstreamTarget; readonly ratings: UpstreamTarget };
  /** Deadline of each call (each attempt for reviews); Istio's productpage uses 3000 ms. */
  readonly timeoutMs: number;
  readonly session: SessionCodec;
  readonly client: UpstreamClient;
  readonly logger: Logger;
}

/** Attempts at reviews before the page gives up on it. */
export const REVIEWS_ATTEMPTS = 2;

export const DETAILS_UNAVAILABLE = "Sorry, product details are currently unavailable for this book.";
export const REVIEWS_UNAVAILABLE = "Sorry, product reviews are currently unavailable for this book.";
export const RATINGS_UNAVAILABLE = "Sorry, product ratings are currently unavailable for this book.";

export function productpageHandler(options: ProductpageOptions): RequestHandler {
  const { upstreams, session, logger } = options;

  const fetchJson = async <T>(target: UpstreamTarget, path: string, headers: Record<string, string>, attempts: number, apology: string): Promise<Fetched<T>> => {
    let status = 500;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      const result = await options.client.call(target, { path, headers, timeoutMs: options.timeoutMs });
      if (result.type === "response") {
        if (result.status === 200) {
          const body = parseObject(result.body);
          if (body !== undefined) return { ok: true, body: body as T };
          status = 500;
          logger.warn("unreadable answer", { upstream: describeUpstreamTarget(target), path, attempt });
          continue;
        }
        status = result.status;
        logger.warn("upstream answered with an error", { upstream: describeUpstreamTarget(target), path, attempt, status });
      } else {
        status = 500;
        logger.warn("upstream call failed", { upstream: describeUpstreamTarget(target), path, attempt, reason: result.reason, error: result.message });
      }
    }
    return { ok: false, status, error: apology };
  };

  const details = (id: string, headers: Record<string, string>) => fetchJson<BookDetails>(upstreams.details, `/details/${encodeURIComponent(id)}`, headers, 1, DETAILS_UNAVAILABLE);
  const reviews = (id: string, headers: Record<string, string>) => fetchJson<ReviewsBody>(upstreams.reviews, `/reviews/${encodeURIComponent(id)}`, headers, REVIEWS_ATTEMPTS, REVIEWS_UNAVAILABLE);
  const ratings = (id: string, headers: Record<string, string>) => fetchJson<unknown>(upstreams.ratings, `/ratings/${encodeURIComponent(id)}`, headers, 1, RATINGS_UNAVAILABLE);

  return async (req, res) => {
    const path = pathOf(req.url);
    const user = session.userOf(headerText(req.headers.cookie));
    const forward = () => pickForwardHeaders(req.headers, { type: "session", user });

    if (req.method === "GET" && (path === "/" || path === "/index.html")) {
      return sendHtml(res, 200, renderIndexPage([
        { name: "details", endpoint: describeUpstreamTarget(upstreams.details) },
        { name: "reviews", endpoint: describeUpstreamTarget(upstreams.reviews) },
        { name: "ratings", endpoint: describeUpstreamTarget(upstreams.ratings) },
      ]));
    }
    if (req.method === "GET" && path === "/health") return sendText(res, 200, "Product page is healthy");
    if (req.method === "POST" && path === "/login") {
      const body = await readBody(req, 64 * 1024);
      const username = body.ok ? (new URLSearchParams(body.text).get("username") ?? "").trim() : "";
      if (username === "") return sendText(res, 400, "login: the form needs a non-empty username field (username=jason)\n");
      return sendRedirect(res, backTo(req.headers.referer), { "set-cookie": session.signIn(username) });
    }
    if (req.method === "GET" && path === "/logout") return sendRedirect(res, backTo(req.headers.referer), { "set-cookie": session.signOut() });
    if (req.method === "GET" && path === "/productpage") {
      const product = PRODUCTS[0];
      if (product === undefined) throw new Error("the catalogue is empty");
      const headers = forward();
      // One after the other, as Istio's productpage: the page's time is the sum of both calls.
      const detailsFetched = await details(String(product.id), headers);
      const reviewsFetched = await reviews(String(product.id), headers);
      return sendHtml(res, 200, renderProductPage({ product, details: detailsFetched, reviews: reviewsFetched, user }));
    }
    if (req.method === "GET" && path === "/api/v1/products") return sendJson(res, 200, PRODUCTS);
    const api = req.method === "GET" ? /^\/api\/v1\/products\/([^/]+)(?:\/(reviews|ratings))?$/.exec(path) : null;
    if (api !== null) {
      const id = safeDecode(api[1] ?? "");
      if (id === undefined) return sendJson(res, 400, { error: `invalid product id "${api[1] ?? ""}": expected a number such as 0` });
      const fetched = api[2] === "reviews" ? await reviews(id, forward()) : api[2] === "ratings" ? await ratings(id, forward()) : await details(id, forward());
      return sendJson(res, fetchedStatus(fetched), fetchedBody(fetched));
    }
    return sendText(res, 404, `productpage: no route for ${req.method} ${path}\n`);
  };
}

/** Back to the page the form was on (Flask's `redirect(request.referrer)`), else the product page. */
function backTo(referer: string | undefined): string {
  return referer === undefined || referer === "" ? "/productpage" : referer;
}

function safeDecode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

function headerText(value: string | readonly string[] | undefined): string | undefined {
  return typeof value === "string" ? value : value?.join("; ");
}

function parseObject(text: string): object | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
