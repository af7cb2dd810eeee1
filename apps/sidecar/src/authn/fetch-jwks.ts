// The I/O adapter that fetches a JSON Web Key Set over HTTP(S) for RemoteJwks: one GET, a 200
// answer of at most 1 MiB, abandoned after the rule's `timeout` (Istio's default 5 s). node:https
// is loaded by the first https fetch: a sidecar without https issuers does not carry it.
import { request as httpRequest, type IncomingMessage } from "node:http";
import type { request as HttpsRequest } from "node:https";
import type { FetchJwks } from "./jwks-source.ts";
import { maxJwksBytes } from "./parse-jwks.ts";

export interface FetchJwksOptions {
  /** Extra CA certificates for https issuers (PEM); the system roots are used otherwise. */
  readonly ca?: string | readonly string[];
}

/** A FetchJwks over node:http / node:https. */
export function createJwksFetcher(options: FetchJwksOptions = {}): FetchJwks {
  return (uri, timeoutMs) => {
    let url: URL;
    try {
      url = new URL(uri);
    } catch {
      return Promise.reject(new Error(`jwksUri ${JSON.stringify(uri)} is not a URL`));
    }
    if (url.protocol === "http:") return fetchText(httpRequest, url, uri, timeoutMs, {});
    if (url.protocol !== "https:") return Promise.reject(new Error(`jwksUri ${JSON.stringify(uri)}: only http and https are supported`));
    return import("node:https").then(({ request }) => fetchText(request, url, uri, timeoutMs, options.ca ? { ca: options.ca as string | string[] } : {}));
  };
}

/** One GET of `url` with `send` (node:http's or node:https' request); `uri` names it in errors. */
function fetchText(send: typeof httpRequest | typeof HttpsRequest, url: URL, uri: string, timeoutMs: number, tls: { ca?: string | string[] }): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const req = send(url, { method: "GET", headers: { accept: "application/json" }, ...tls });
    const timer = setTimeout(() => req.destroy(new Error(`fetching ${uri} timed out after ${timeoutMs}ms`)), timeoutMs);
    const fail = (error: Error): void => {
      clearTimeout(timer);
      reject(error);
    };
    req.on("error", fail);
    req.on("response", (res: IncomingMessage) => {
      if (res.statusCode !== 200) {
        res.resume();
        req.destroy();
        fail(new Error(`fetching ${uri}: HTTP ${res.statusCode ?? 0}`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxJwksBytes) {
          req.destroy(new Error(`fetching ${uri}: key set larger than ${maxJwksBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("error", fail);
      res.on("end", () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString("utf8"));
      });
    });
    req.end();
  });
}
