// A browser's view of bookinfo through the ingress gateway: the product page as anonymous or as a
// signed-in user (productpage's /login form sets the session cookie from which it sends
// `end-user`), and what the page shows: which reviews version answered (no stars v1, black
// stars v2, red stars v3) and the error texts of Istio's task pages.
import type { MeshEndpoints } from "./local-mesh.ts";

export type ReviewsShown = "v1" | "v2" | "v3" | "reviews-error";

export interface ProductPage {
  readonly status: number;
  readonly html: string;
  /** Wall time of the request (reported in messages, never asserted tightly). */
  readonly ms: number;
}

const cookies = new Map<string, string>();

/** Signs `user` in through the gateway (POST /login) and returns the session cookie. */
export async function signIn(mesh: MeshEndpoints, user: string): Promise<string> {
  const cached = cookies.get(user);
  if (cached !== undefined) return cached;
  const response = await fetch(`${mesh.gateway}/login`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ username: user, passwd: "password" }).toString(),
    redirect: "manual",
    signal: AbortSignal.timeout(20_000),
  });
  await response.arrayBuffer();
  const setCookie = response.headers.get("set-cookie");
  if (setCookie === null) throw new Error(`POST /login as ${user} through the gateway answered ${response.status} without a session cookie`);
  const cookie = setCookie.split(";")[0] as string;
  cookies.set(user, cookie);
  return cookie;
}

/** GET /productpage through the gateway, as `user` when given. */
export async function productPage(mesh: MeshEndpoints, options: { user?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<ProductPage> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.user !== undefined) headers["cookie"] = await signIn(mesh, options.user);
  const started = performance.now();
  const response = await fetch(`${mesh.gateway}/productpage`, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 30_000) });
  const html = await response.text();
  return { status: response.status, html, ms: Math.round(performance.now() - started) };
}

/** Which reviews version the page shows, from its star markers (Istio's `text-black-500` / `text-red-500`). */
export function reviewsShown(html: string): ReviewsShown {
  if (html.includes("Error fetching product reviews")) return "reviews-error";
  if (/class="flex gap-x-1 text-red-500"/.test(html)) return "v3";
  if (/class="flex gap-x-1 text-black-500"/.test(html)) return "v2";
  if (!html.includes("Book Reviews")) throw new Error(`the page shows neither reviews nor "Error fetching product reviews":\n${html.slice(0, 2000)}`);
  // reviews v1 shows the reviews without any star; v2/v3 without ratings show "Ratings service is currently unavailable".
  return html.includes("Ratings service is currently unavailable") ? ratingsUnavailableVersion(html) : "v1";
}

function ratingsUnavailableVersion(html: string): ReviewsShown {
  const served = /Reviews served by:\s*(?:<[^>]*>\s*)*reviews-(v\d)/.exec(html)?.[1];
  return served === "v2" || served === "v3" ? served : "v1";
}

/** Counts of what `n` product-page loads showed. */
export async function sampleReviews(mesh: MeshEndpoints, n: number, options: { user?: string; concurrency?: number } = {}): Promise<Record<ReviewsShown, number>> {
  const counts: Record<ReviewsShown, number> = { v1: 0, v2: 0, v3: 0, "reviews-error": 0 };
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      const page = await productPage(mesh, options.user !== undefined ? { user: options.user } : {});
      if (page.status !== 200) throw new Error(`GET /productpage answered ${page.status}: ${page.html.slice(0, 300)}`);
      counts[reviewsShown(page.html)]++;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  return counts;
}
