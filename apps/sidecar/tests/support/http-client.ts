// A keep-alive HTTP client for tests (node:http), and a raw-socket one for malformed input.
import { Agent, request } from "node:http";
import { connect } from "node:net";

export interface ClientResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

export const keepAliveAgent = (): Agent => new Agent({ keepAlive: true, maxSockets: 16 });

export function send(
  port: number,
  options: { path?: string; method?: string; host?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: Agent } = {},
): Promise<ClientResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: options.path ?? "/",
        method: options.method ?? "GET",
        headers: { host: options.host ?? "service.test", ...options.headers },
        agent: options.agent ?? false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

/** Writes `bytes` on a fresh connection and collects everything until the peer closes (or `waitMs` passes). */
export function rawExchange(port: number, bytes: string | Buffer, waitMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => socket.destroy(), waitMs);
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", reject);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString("latin1"));
    });
    socket.write(bytes);
  });
}

/** `value`, or a test failure naming `what` when it is undefined (instead of a non-null assertion). */
export function defined<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`expected ${what} to be defined`);
  return value;
}
