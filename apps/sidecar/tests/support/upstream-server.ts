// Real upstream HTTP servers for integration tests: each answers with its own name so tests can
// count where requests went, and can be told to fail, delay or reset.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";

export interface UpstreamServer {
  readonly name: string;
  readonly port: number;
  readonly server: Server;
  /** Requests seen, in order. */
  readonly requests: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  /** Replaces the handler (default: 200 with body = name). */
  handle(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void): void;
  close(): Promise<void>;
}

export async function startUpstream(name: string): Promise<UpstreamServer> {
  let handler = (_req: IncomingMessage, res: ServerResponse, _body: string): void => {
    res.setHeader("content-type", "text/plain");
    res.end(name);
  };
  const requests: UpstreamServer["requests"] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString();
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      handler(req, res, body);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    name,
    port,
    server,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A ServiceEntry giving `host` the upstreams as STATIC endpoints (label `version` = upstream name). */
export function serviceEntryYaml(host: string, port: number, upstreams: readonly UpstreamServer[], protocol = "HTTP"): string {
  const endpoints = upstreams.map((u) => `    - address: 127.0.0.1\n      ports: { http: ${u.port} }\n      labels: { version: ${u.name} }`).join("\n");
  return `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${host.replace(/\./g, "-")}, namespace: default }
spec:
  hosts: [${host}]
  location: MESH_INTERNAL
  resolution: STATIC
  ports:
    - { number: ${port}, name: http, protocol: ${protocol} }
  endpoints:
${endpoints}
`;
}
