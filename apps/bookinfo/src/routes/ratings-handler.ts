// The ratings service (Istio's ratings.js): `GET /ratings/{id}` answers each reviewer's stars,
// `POST /ratings/{id}` replaces them for that product (kept in memory), `GET /health`. Faults
// (delays, aborts) are the mesh's job here, so there are no fault knobs.
import { DEFAULT_RATINGS, type Ratings } from "../core/books.ts";
import { readBody, sendJson } from "../adapters/http-reply.ts";
import type { RequestHandler } from "../adapters/serve-http.ts";
import { pathOf } from "./path-of.ts";

export function ratingsHandler(): RequestHandler {
  const posted = new Map<number, Ratings>();
  return async (req, res) => {
    const path = pathOf(req.url);
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "Ratings is healthy" });
    if (!/^\/ratings\/[0-9]*/.test(path) || (req.method !== "GET" && req.method !== "POST")) {
      return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
    }
    const productId = Number.parseInt(path.split("/").pop() ?? "", 10);
    if (Number.isNaN(productId)) return sendJson(res, 400, { error: "please provide numeric product ID" });
    if (req.method === "POST") {
      const body = await readBody(req, 64 * 1024);
      const ratings = body.ok ? parseRatings(body.text) : undefined;
      if (ratings === undefined) return sendJson(res, 400, { error: "please provide valid ratings JSON" });
      posted.set(productId, ratings);
    }
    return sendJson(res, 200, { id: productId, ratings: posted.get(productId) ?? DEFAULT_RATINGS });
  };
}

/** `{"Reviewer1": 5, ...}`: an object of numbers, or nothing. */
function parseRatings(text: string): Ratings | undefined {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
    const entries = Object.entries(parsed);
    return entries.every(([, v]) => typeof v === "number") ? (Object.fromEntries(entries) as Ratings) : undefined;
  } catch {
    return undefined;
  }
}
