// Makes one HTTP/1.1 call to another bookinfo service (directly or through the sidecar) with a
// deadline on the whole exchange, and reads the answer as text. Failures are values: the
// caller decides what the page shows.
import { Agent, request as httpRequest } from "node:http";
import { upstreamRequestLine, type UpstreamTarget } from "../core/upstream-target.ts";

export interface UpstreamCall {
  readonly method?: "GET" | "POST";
  /** Path and query on the service, e.g. `/reviews/0`. */
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
  /** Deadline for connect, request and the whole response body, in milliseconds. */
  readonly timeoutMs: number;
  readonly body?: string;
}

export type UpstreamResult =
  | { readonly type: "response"; readonly status: number; readonly body: string }
  | { readonly type: "failed"; readonly reason: "timeout" | "error"; readonly message: string };

/** Answers larger than this are cut off as an error (bookinfo's answers are a few hundred bytes). */
const MAX_BODY_BYTES = 1 << 20;

/** A caller bound to one keep-alive connection pool; `close()` drops its idle connections. */
export interface UpstreamClient {
  call(target: UpstreamTarget, call: UpstreamCall): Promise<UpstreamResult>;
  close(): void;
}

export function createUpstreamClient(): UpstreamClient {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  return {
    call: (target, call) => callUpstream(agent, target, call),
    close: () => agent.destroy(),
  };
}

async function callUpstream(agent: Agent, target: UpstreamTarget, call: UpstreamCall): Promise<UpstreamResult> {
  const first = await attempt(agent, target, call);
  // A pooled connection the server closed while idle fails with ECONNRESET before any answer; for
  // a GET one more try on a fresh connection is safe (Node's advice for keep-alive races), while a
  // fresh connection that fails is a real failure the caller sees.
  if (first.type === "failed" && first.reused && first.reason === "error" && first.code === "ECONNRESET" && (call.method ?? "GET") === "GET") {
    return strip(await attempt(agent, target, call));
  }
  return strip(first);
}

type Attempt =
  | { readonly type: "response"; readonly status: number; readonly body: string }
  | { readonly type: "failed"; readonly reason: "timeout" | "error"; readonly message: string; readonly reused: boolean; readonly code: string | undefined };

function strip(result: Attempt): UpstreamResult {
  return result.type === "response" ? result : { type: "failed", reason: result.reason, message: result.message };
}

function attempt(agent: Agent, target: UpstreamTarget, call: UpstreamCall): Promise<Attempt> {
  const line = upstreamRequestLine(target, call.path);
  return new Promise((resolve) => {
    let settled = false;
    let timedOut = false;
    const finish = (result: Attempt): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const headers: Record<string, string> = { ...call.headers, host: line.hostHeader };
    if (call.body !== undefined) {
      headers["content-type"] ??= "application/json";
      headers["content-length"] = String(Buffer.byteLength(call.body));
    }
    const req = httpRequest({ agent, host: line.host, port: line.port, method: call.method ?? "GET", path: line.requestTarget, headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > MAX_BODY_BYTES) {
          req.destroy(new Error(`answer larger than ${MAX_BODY_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => finish({ type: "response", status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", (error) => finish(failure(error, timedOut, req.reusedSocket)));
    });
    const timer = setTimeout(() => {
      timedOut = true;
      req.destroy(new Error(`no complete answer within ${call.timeoutMs} ms`));
    }, call.timeoutMs);
    req.on("error", (error) => finish(failure(error, timedOut, req.reusedSocket)));
    req.end(call.body);
  });
}

function failure(error: Error, timedOut: boolean, reused: boolean): Attempt {
  const code = (error as NodeJS.ErrnoException).code;
  return timedOut ? { type: "failed", reason: "timeout", message: error.message, reused, code } : { type: "failed", reason: "error", message: error.message, reused, code };
}
