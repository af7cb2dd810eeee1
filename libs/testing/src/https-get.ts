// The HTTPS client of the gateway tests (Istio's tasks use curl with --resolve and --cacert): one
// GET on a new connection, reporting the certificate the client saw.
import { request as httpsRequest } from "node:https";
import type { TLSSocket } from "node:tls";

/** What an HTTPS GET saw: the status, the body and the serial of the server's certificate. */
export interface HttpsAnswer {
  readonly status: number;
  readonly body: string;
  readonly serial: string;
}

/** One HTTPS GET to 127.0.0.1:`port` on a new connection with SNI `servername` (Host too, unless `host`); rejects when the handshake fails. */
export function httpsGet(port: number, servername: string, options: { readonly ca: string; readonly host?: string; readonly path?: string; readonly client?: { cert: string; key: string } }): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const headers = { host: options.host ?? servername };
    const request = httpsRequest({ host: "127.0.0.1", port, path: options.path ?? "/", servername, ca: options.ca, headers, agent: false, ...(options.client ?? {}) }, (response) => {
      const serial = (response.socket as TLSSocket).getPeerCertificate().serialNumber;
      let body = "";
      response.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body, serial }));
    });
    request.on("error", reject);
    request.end();
  });
}
