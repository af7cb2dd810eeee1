// The status port's /app-health/<container>/<probe> pages: one GET route per rewritten probe,
// answering with what the application's original probe got (Istio's pilot-agent status server).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AppProber } from "./parse-app-probers.ts";
import { probeApp, type ProbeResult } from "./probe-app.ts";

export type AppHealthHandler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void>;

/**
 * Routes keyed like the admin servers' (`GET /app-health/web/livez`) for `probers`; each runs its
 * probe against the application (at `defaultHost` unless the probe names a host) on every call.
 */
export function appHealthRoutes(probers: ReadonlyMap<string, AppProber>, options: { readonly defaultHost: string; readonly probe?: typeof probeApp }): Record<string, AppHealthHandler> {
  const probe = options.probe ?? probeApp;
  const routes: Record<string, AppHealthHandler> = {};
  for (const [path, prober] of probers) {
    routes[`GET ${path}`] = async (req, res) => {
      const result: ProbeResult = await probe(prober, { defaultHost: options.defaultHost, forwardedHeaders: req.headers });
      const body = `${result.detail}\n`;
      res.writeHead(result.status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(body) });
      res.end(body);
    };
  }
  return routes;
}
