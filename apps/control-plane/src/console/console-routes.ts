// Serves the console at /console/ on the admin port: the page and its scripts, and the read-only
// JSON API under /console/api/. When a token is set every API request must carry it (`?token=`;
// the page passes on the one it was opened with); on a non-loopback address without a token the
// API is refused rather than exposed. The page and scripts hold no mesh data and are public.
import { timingSafeEqual } from "node:crypto";
import type { AdminReply, AdminRequest, AdminRouter } from "../admin/admin-router.ts";
import { consoleAsset } from "./console-assets.ts";
import {
  configPage,
  ConsoleInputError,
  ConsoleNotFound,
  graphPage,
  identitiesPage,
  overviewPage,
  parseNamespaces,
  parseSinceMs,
  parseWindow,
  proxiesPage,
  registryPage,
  reportsPage,
  servicePage,
  servicesPage,
  type ConsoleDeps,
} from "./console-api.ts";

export interface ConsoleOptions extends ConsoleDeps {
  /** The admin listener's bind address. */
  readonly bind: string;
  /** Required (as `?token=`) on every console request when set; must be set when `bind` is not loopback. */
  readonly token: string | undefined;
}

export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function tokenMatches(expected: string, given: string | null): boolean {
  if (given === null) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Adds the console's routes to `router`. */
export function registerConsoleRoutes(router: AdminRouter, options: ConsoleOptions): AdminRouter {
  const guard =
    (handler: (request: AdminRequest) => AdminReply | Promise<AdminReply>) =>
    async (request: AdminRequest): Promise<AdminReply> => {
      if (options.token === undefined || options.token === "") {
        if (!isLoopback(options.bind)) return { status: 403, body: { error: `the console is off: the admin port binds ${options.bind}, beyond loopback; start the control plane with --console-token TOKEN and open /console/?token=TOKEN` } };
      } else if (!tokenMatches(options.token, request.query.get("token"))) {
        return { status: 401, body: { error: "this console needs its token: open /console/?token=TOKEN (the control plane's --console-token)" } };
      }
      try {
        return await handler(request);
      } catch (error) {
        if (error instanceof ConsoleInputError) return { status: 400, body: { error: error.message } };
        if (error instanceof ConsoleNotFound) return { status: 404, body: { error: error.message } };
        throw error;
      }
    };
  // The page and scripts hold no mesh data and are served to anyone; the API is guarded.
  const asset = (name: string) => async (): Promise<AdminReply> => {
    const found = await consoleAsset(name);
    return found === undefined ? { status: 404, body: { error: `no console file ${name}` } } : { status: 200, body: found.body, contentType: found.contentType };
  };
  router.add("GET", "/console", asset("index.html"));
  router.add("GET", "/console/console.css", asset("console.css"));
  router.add("GET", "/console/console-app.js", asset("console-app.js"));
  router.add("GET", "/console/vendor/cytoscape.min.js", asset("cytoscape.min.js"));
  router.add("GET", "/console/api/overview", guard(() => ({ status: 200, body: overviewPage(options) })));
  router.add("GET", "/console/api/graph", guard(async (r) => ({ status: 200, body: await graphPage(options, parseWindow(r.query.get("window")), parseNamespaces(r.query.get("namespace"))) })));
  router.add("GET", "/console/api/services", guard(() => ({ status: 200, body: servicesPage(options) })));
  router.add("GET", "/console/api/services/:namespace/:name", guard(async (r) => ({ status: 200, body: await servicePage(options, r.params["namespace"] ?? "", r.params["name"] ?? "", parseWindow(r.query.get("window"))) })));
  router.add("GET", "/console/api/proxies", guard(() => ({ status: 200, body: proxiesPage(options) })));
  router.add("GET", "/console/api/config", guard(() => ({ status: 200, body: configPage(options) })));
  router.add("GET", "/console/api/identities", guard(async () => ({ status: 200, body: await identitiesPage(options) })));
  // For the other replicas' consoles (--console-peers): this replica's own reports since ?sinceMs=.
  router.add("GET", "/console/api/reports", guard((r) => ({ status: 200, body: reportsPage(options, parseSinceMs(r.query.get("sinceMs"))) })));
  router.add("GET", "/console/api/registry", guard(async () => ({ status: 200, body: await registryPage(options) })));
  return router;
}
