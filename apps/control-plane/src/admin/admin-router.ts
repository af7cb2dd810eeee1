// The admin API's routes as data: method + path pattern (`:param` segments) → handler returning a
// reply. Handlers do not see the HTTP framework: AdminRouter.handle() runs them in-process (unit
// tests), buildAdminServer() serves them with fastify (one fastify route each).
import Fastify, { type FastifyInstance, type FastifyReply, type HTTPMethods } from "fastify";

export interface AdminRequest {
  readonly method: string;
  readonly path: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly body: string;
}

export interface AdminReply {
  readonly status: number;
  /** An object is sent as JSON; a string as is. */
  readonly body: unknown;
  readonly contentType?: string;
}

export type AdminHandler = (request: AdminRequest) => AdminReply | Promise<AdminReply>;

interface Route {
  readonly method: string;
  readonly pattern: string;
  readonly segments: readonly string[];
  readonly handler: AdminHandler;
}

/** Largest request body accepted (config applies): 4 MiB. */
const maxBodyBytes = 4 * 1024 * 1024;

export class AdminRouter {
  readonly #routes: Route[] = [];

  add(method: string, pattern: string, handler: AdminHandler): this {
    this.#routes.push({ method, pattern, segments: pattern.split("/").filter((s) => s !== ""), handler });
    return this;
  }

  get routes(): readonly { readonly method: string; readonly pattern: string }[] {
    return this.#routes;
  }

  /** The reply to a request: 404 for an unknown path, 405 for a known path with another method. */
  async handle(method: string, url: string, body: string): Promise<AdminReply> {
    const parsed = new URL(url, "http://admin");
    const parts = parsed.pathname.split("/").filter((s) => s !== "").map(decodeURIComponent);
    let pathMatched = false;
    for (const route of this.#routes) {
      const params = match(route.segments, parts);
      if (params === undefined) continue;
      pathMatched = true;
      if (route.method !== method) continue;
      try {
        return await route.handler({ method, path: parsed.pathname, params, query: parsed.searchParams, body });
      } catch (error) {
        return { status: 500, body: { error: error instanceof Error ? error.message : String(error) } };
      }
    }
    return pathMatched
      ? { status: 405, body: { error: `${method} is not allowed on ${parsed.pathname}` } }
      : { status: 404, body: { error: `no route ${parsed.pathname}; see /debug/syncz, /debug/push_status, /debug/config_dump?proxy=ID, /metrics, /ready, /healthz, /api/v1/config` } };
  }
}

function match(pattern: readonly string[], parts: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i] ?? "";
    const v = parts[i] ?? "";
    if (p.startsWith(":")) params[p.slice(1)] = v;
    else if (p !== v) return undefined;
  }
  return params;
}

/**
 * The admin server: one fastify route per AdminRouter route (bodies reach handlers as text, any
 * content type, up to 4 MiB), 404 naming the known pages otherwise. Not listening yet: `listen()`,
 * or `inject()` in tests.
 */
export function buildAdminServer(router: AdminRouter): FastifyInstance {
  const app = Fastify({ bodyLimit: maxBodyBytes, logger: false });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_request, body, done) => done(null, body));
  const send = (reply: FastifyReply, result: AdminReply): FastifyReply => {
    const text = typeof result.body === "string" ? result.body : `${JSON.stringify(result.body, null, 2)}\n`;
    return reply
      .code(result.status)
      .type(result.contentType ?? (typeof result.body === "string" ? "text/plain; charset=utf-8" : "application/json"))
      .send(text);
  };
  for (const route of router.routes) {
    app.route({
      method: route.method as HTTPMethods,
      url: route.pattern,
      handler: async (request, reply) => send(reply, await router.handle(route.method, request.url, typeof request.body === "string" ? request.body : "")),
    });
  }
  app.setNotFoundHandler(async (request, reply) => send(reply, await router.handle(request.method, request.url, "")));
  return app;
}

/** Serves `router` on `host:port` (0 picks a port); resolves once listening. */
export async function startAdminServer(router: AdminRouter, options: { readonly host: string; readonly port: number }): Promise<{ readonly close: () => Promise<void>; readonly port: number }> {
  const app = buildAdminServer(router);
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  return { close: () => app.close(), port: typeof address === "object" && address !== null ? address.port : options.port };
}
