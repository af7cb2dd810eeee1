// The I/O adapter that fetches a JSON Web Key Set over HTTP(S) for RemoteJwks: one GET, a 200
// answer of at most 1 MiB, abandoned after the rule's `timeout` (Istio's default 5 s).
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { FetchJwks } from "./jwks-source.ts";
import { maxJwksBytes } from "./parse-jwks.ts";

export interface FetchJwksOptions {
  /** Extra CA certificates for https issuers (PEM); the system roots are used otherwise. */
  readonly ca?: string | readonly string[];
}

/** A FetchJwks over node:http / node:https. */
export function createJwksFetcher(options: FetchJwksOptions = {}): FetchJwks {
  return (uri, timeoutMs) =>
    new Promise<string>((resolve, reject) => {
      let url: URL;
      try {
        url = new URL(uri);
      } catch {
        reject(new Error(`jwksUri ${JSON.stringify(uri)} is not a URL`));
        return;
      }
      const isHttps = url.protocol === "https:";
      if (!isHttps && url.protocol !== "http:") {
        reject(new Error(`jwksUri ${JSON.stringify(uri)}: only http and https are supported`));
        return;
      }
      const send = isHttps ? httpsRequest : httpRequest;
      const req = send(url, { method: "GET", headers: { accept: "application/json" }, ...(isHttps && options.ca ? { ca: options.ca as string | string[] } : {}) });
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
