// Starts one bookinfo service from its configuration: builds its handler and listens. The caller
// owns the returned handle (mark stopping, close) and the shared upstream client.
import type { Logger } from "@meshwork/telemetry";
import type { UpstreamClient } from "./adapters/upstream-client.ts";
import { serveHttp, type RequestHandler } from "./adapters/serve-http.ts";
import { createSessionCodec } from "./adapters/session-cookie.ts";
import type { ServiceConfig, ServiceName } from "./core/plan-service.ts";
import { describeUpstreamTarget } from "./core/upstream-target.ts";
import { detailsHandler } from "./routes/details-handler.ts";
import { productpageHandler } from "./routes/productpage-handler.ts";
import { ratingsHandler } from "./routes/ratings-handler.ts";
import { reviewsHandler } from "./routes/reviews-handler.ts";

export interface StartDeps {
  readonly logger: Logger;
  readonly client: UpstreamClient;
  /** Time in-flight requests get on close; default 5000 ms. */
  readonly drainMs?: number;
}

export interface RunningService {
  readonly service: ServiceName;
  readonly port: number;
  /** `http://127.0.0.1:<port>` (a wildcard bind is reached on loopback). */
  readonly url: string;
  markStopping(): void;
  close(): Promise<void>;
}

export async function startService(config: ServiceConfig, deps: StartDeps): Promise<RunningService> {
  const logger = deps.logger.child({ service: config.service, version: config.version });
  const handler = buildHandler(config, { ...deps, logger });
  const http = await serveHttp(handler, { name: config.service, port: config.port, bind: config.bind, logger, ...(deps.drainMs === undefined ? {} : { drainMs: deps.drainMs }) });
  const url = `http://${loopbackFor(config.bind)}:${http.port}`;
  logger.info("listening", { port: http.port, bind: config.bind, url, ...upstreamFields(config) });
  return { service: config.service, port: http.port, url, markStopping: () => http.markStopping(), close: () => http.close() };
}

function buildHandler(config: ServiceConfig, deps: StartDeps): RequestHandler {
  switch (config.service) {
    case "details":
      return detailsHandler();
    case "ratings":
      return ratingsHandler();
    case "reviews":
      return reviewsHandler({ version: config.version, podName: config.podName, ratings: config.ratings, ratingsTimeoutMs: config.ratingsTimeoutMs, client: deps.client, logger: deps.logger });
    case "productpage":
      return productpageHandler({ upstreams: config.upstreams, timeoutMs: config.timeoutMs, session: createSessionCodec(config.sessionSecret), client: deps.client, logger: deps.logger });
  }
}

function upstreamFields(config: ServiceConfig): Record<string, string | number> {
  switch (config.service) {
    case "reviews":
      return config.version === "v1" ? {} : { ratings: describeUpstreamTarget(config.ratings), ratingsTimeoutMs: config.ratingsTimeoutMs };
    case "productpage":
      return {
        details: describeUpstreamTarget(config.upstreams.details),
        reviews: describeUpstreamTarget(config.upstreams.reviews),
        ratings: describeUpstreamTarget(config.upstreams.ratings),
        timeoutMs: config.timeoutMs,
      };
    default:
      return {};
  }
}

function loopbackFor(bind: string): string {
  if (bind === "0.0.0.0" || bind === "") return "127.0.0.1";
  if (bind === "::") return "[::1]";
  return bind.includes(":") ? `[${bind}]` : bind;
}
