// The details service (Istio's details.rb): `GET /details/{id}` answers the book's details,
// `GET /health` says it is healthy; a non-numeric id is a 400.
import { bookDetails } from "../core/books.ts";
import { sendJson } from "../adapters/http-reply.ts";
import type { RequestHandler } from "../adapters/serve-http.ts";
import { pathOf } from "./path-of.ts";

export function detailsHandler(): RequestHandler {
  return (req, res) => {
    const path = pathOf(req.url);
    if (req.method === "GET" && path === "/health") return sendJson(res, 200, { status: "Details is healthy" });
    if (req.method === "GET" && (path === "/details" || path.startsWith("/details/"))) {
      const last = path.split("/").pop() ?? "";
      if (!/^-?\d+$/.test(last)) return sendJson(res, 400, { error: "please provide numeric product id" });
      return sendJson(res, 200, bookDetails(Number(last)));
    }
    return sendJson(res, 404, { error: `no route for ${req.method} ${path}` });
  };
}
